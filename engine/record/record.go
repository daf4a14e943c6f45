package record

import (
	"fmt"
	"strings"
)

// Field describes one column of a Schema.
type Field struct {
	Name string
	Kind Kind // KindNull means "any kind" (not declared)
}

// Schema is the ordered list of fields records share. A Schema is
// immutable once built; records point at it, so a source with a fixed
// header allocates it once. Look-ups by name are O(1).
type Schema struct {
	fields []Field
	index  map[string]int
}

// NewSchema builds a schema. Duplicate names are an error.
func NewSchema(fields ...Field) (*Schema, error) {
	s := &Schema{fields: append([]Field(nil), fields...), index: make(map[string]int, len(fields))}
	for i, f := range fields {
		if f.Name == "" {
			return nil, fmt.Errorf("field %d has no name", i+1)
		}
		if _, dup := s.index[f.Name]; dup {
			return nil, fmt.Errorf("duplicate field %q", f.Name)
		}
		s.index[f.Name] = i
	}
	return s, nil
}

// MustSchema is NewSchema that panics; for tests and constant schemas.
func MustSchema(fields ...Field) *Schema {
	s, err := NewSchema(fields...)
	if err != nil {
		panic(err)
	}
	return s
}

// StringSchema returns a schema of untyped (string) fields with the given names.
func StringSchema(names ...string) (*Schema, error) {
	fs := make([]Field, len(names))
	for i, n := range names {
		fs[i] = Field{Name: n, Kind: KindString}
	}
	return NewSchema(fs...)
}

// Len returns the number of fields.
func (s *Schema) Len() int {
	if s == nil {
		return 0
	}
	return len(s.fields)
}

// Field returns field i.
func (s *Schema) Field(i int) Field { return s.fields[i] }

// Fields returns a copy of the fields.
func (s *Schema) Fields() []Field { return append([]Field(nil), s.fields...) }

// Names returns the field names in order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.Name
	}
	return out
}

// Index returns the position of name, or -1.
func (s *Schema) Index(name string) int {
	if s == nil {
		return -1
	}
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// String renders "name:kind, ...".
func (s *Schema) String() string {
	parts := make([]string, len(s.fields))
	for i, f := range s.fields {
		parts[i] = f.Name + ":" + f.Kind.String()
	}
	return strings.Join(parts, ", ")
}

// Record is one row: values in schema order plus where it came from.
// Values[i] belongs to Schema.Field(i). A transform that changes the set
// of fields builds a new Schema once and reuses it for every record.
type Record struct {
	Schema *Schema
	Values []Value
	Origin Origin
}

// New returns a record of schema s with all values null.
func New(s *Schema, o Origin) Record {
	return Record{Schema: s, Values: make([]Value, s.Len()), Origin: o}
}

// Get returns the value of field name and whether the field exists.
func (r Record) Get(name string) (Value, bool) {
	i := r.Schema.Index(name)
	if i < 0 || i >= len(r.Values) {
		return Null, false
	}
	return r.Values[i], true
}

// Value returns the value of field name, null when absent.
func (r Record) Value(name string) Value { v, _ := r.Get(name); return v }

// Set sets an existing field; it reports false when the schema has no such field.
func (r Record) Set(name string, v Value) bool {
	i := r.Schema.Index(name)
	if i < 0 || i >= len(r.Values) {
		return false
	}
	r.Values[i] = v
	return true
}

// Clone returns a copy with its own Values slice.
func (r Record) Clone() Record {
	r.Values = append([]Value(nil), r.Values...)
	return r
}

// Map returns the record as a name→value map (for reports and debugging).
func (r Record) Map() map[string]Value {
	m := make(map[string]Value, len(r.Values))
	for i, v := range r.Values {
		m[r.Schema.Field(i).Name] = v
	}
	return m
}

// String renders {name: value, ...} in schema order.
func (r Record) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range r.Values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.Schema.Field(i).Name)
		b.WriteString(": ")
		b.WriteString(v.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Reject is a record that a step refused, with the reason. Rejects are
// never dropped silently: the runner writes them to the reject sink and
// the run report.
type Reject struct {
	Record Record // the record as the step saw it
	Step   string // the step that rejected it ("validate", "sepa.pain008", ...)
	Field  string // the offending field, "" if the whole record
	Reason string // plain-language reason, no secrets
}

// Error renders origin: step: field: reason.
func (r Reject) Error() string {
	var b strings.Builder
	b.WriteString(r.Record.Origin.String())
	b.WriteString(": ")
	if r.Step != "" {
		b.WriteString(r.Step)
		b.WriteString(": ")
	}
	if r.Field != "" {
		b.WriteString(r.Field)
		b.WriteString(": ")
	}
	b.WriteString(r.Reason)
	return b.String()
}

// Batch is a group of records moving through the pipeline together
// (default size 1000), plus the rejects produced while building it.
// Batches bound memory and amortise per-call costs (RPC, DuckDB appends).
type Batch struct {
	Records []Record
	Rejects []Reject
}

// Len returns the number of records.
func (b *Batch) Len() int { return len(b.Records) }

// Reset empties the batch, keeping capacity.
func (b *Batch) Reset() {
	clear(b.Records)
	b.Records = b.Records[:0]
	b.Rejects = b.Rejects[:0]
}

// Reject appends a reject for r.
func (b *Batch) Reject(r Record, step, field, reason string) {
	b.Rejects = append(b.Rejects, Reject{Record: r, Step: step, Field: field, Reason: reason})
}
