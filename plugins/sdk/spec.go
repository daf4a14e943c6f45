package sdk

import (
	"errors"
	"fmt"
	"strings"
)

// Type is the type of a config field.
type Type string

// Config field types.
const (
	TypeString   Type = "string"
	TypeInt      Type = "int"
	TypeBool     Type = "bool"
	TypeDecimal  Type = "decimal"  // exact decimal, written as a YAML string or number
	TypeDuration Type = "duration" // Go duration text: "30s", "5m", "1h30m"
	TypeEnum     Type = "enum"     // one of Field.Enum
	TypeList     Type = "list"     // list of Elem (scalar) or of objects (Children)
	TypeObject   Type = "object"   // nested mapping with Children
	TypeMap      Type = "map"      // free-form mapping of string keys to Elem values
	TypeAny      Type = "any"      // anything; the component validates it
)

// ExprMode marks a field whose value is an expression compiled by the host
// at lint time against the step's input schema.
type ExprMode string

// Expression modes.
const (
	ExprNone  ExprMode = ""
	ExprBool  ExprMode = "bool"  // must evaluate to bool (conditions)
	ExprValue ExprMode = "value" // any value
)

// Spec is the configuration schema of a component, as data.
type Spec struct {
	Fields []Field
}

// Field describes one configuration key.
type Field struct {
	Name        string   // snake_case key, ^[a-z][a-z0-9_]*$
	Type        Type     // required
	Required    bool     // missing is an error at the parent mapping
	Default     any      // applied when absent; must validate against the field
	Enum        []string // allowed values for TypeEnum
	Pattern     string   // regexp the string value must match (anchored by the host)
	Min, Max    *int64   // bounds for TypeInt (inclusive); list length for TypeList
	Description string   // a full sentence, ending with a period
	Example     any      // shown in docs and JSON Schema
	Expr        ExprMode // expression field
	Secret      bool     // value is redacted in logs, reports, dry-run output
	Deprecated  string   // non-empty: a warning with this text when used
	Elem        Type     // element type of scalar lists and maps
	Children    []Field  // fields of TypeObject, or of each element of a TypeList of objects
}

// Int64 returns a pointer to v, for Field.Min and Field.Max.
func Int64(v int64) *int64 { return &v }

// Lookup returns the field named name.
func (s Spec) Lookup(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Names returns the field names.
func (s Spec) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// With returns a copy of s with fields appended (shared option groups).
func (s Spec) With(fields ...Field) Spec {
	return Spec{Fields: append(append([]Field(nil), s.Fields...), fields...)}
}

// FieldError is a problem with one config value, identified by its path
// ("columns[3].format"). The host maps it to the YAML position.
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// FieldErrors is a list of FieldError; return all problems at once.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Add appends a FieldError.
func (es *FieldErrors) Add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns es as an error, or nil when empty.
func (es FieldErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// AsFieldErrors extracts field errors from err (FieldError or FieldErrors,
// possibly wrapped); ok is false for other errors.
func AsFieldErrors(err error) (FieldErrors, bool) {
	var fes FieldErrors
	if errors.As(err, &fes) {
		return fes, true
	}
	var fe FieldError
	if errors.As(err, &fe) {
		return FieldErrors{fe}, true
	}
	return nil, false
}
