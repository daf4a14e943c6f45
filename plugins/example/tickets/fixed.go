// Package tickets holds the second component of Kontor's example external
// plugin: example.ticket_fixed, a reader for the fixed-width settlement
// files ticket vendors send (one sold or refunded ticket per detail line,
// a header line and a trailer line with record count and control sum). Like
// package vat it imports only plugins/sdk and engine/record.
package tickets

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// FixedConfig is the configuration of example.ticket_fixed.
type FixedConfig struct {
	// Encoding of the file (default windows-1252).
	Encoding string `yaml:"encoding"`
	// Columns are the fields of a detail line. Required, at least one.
	Columns []Column `yaml:"columns"`
	// DetailPrefix starts every detail line (default "D").
	DetailPrefix string `yaml:"detail_prefix"`
	// HeaderPrefix starts header lines, which are skipped (default "H").
	HeaderPrefix string `yaml:"header_prefix"`
	// TrailerPrefix starts the trailer line (default "T"); its count and
	// sum are checked when TrailerCount / TrailerSum are set.
	TrailerPrefix string `yaml:"trailer_prefix"`
	// TrailerCount is where the trailer holds the number of detail lines
	// (default: not checked).
	TrailerCount *Span `yaml:"trailer_count"`
	// TrailerSum is where the trailer holds the sum of a decimal column
	// (default: not checked; also not checked when a detail line was
	// rejected, since its amount is unknown).
	TrailerSum *SumSpan `yaml:"trailer_sum"`
}

// Column is one field of a detail line.
type Column struct {
	// Name of the record field. Required.
	Name string `yaml:"name"`
	// Start is the 1-based character position. Required, >= 1.
	Start int `yaml:"start"`
	// Length in characters. Required, >= 1.
	Length int `yaml:"length"`
	// Type: string (default, trailing blanks removed; a line that ends
	// inside or before a string column is fine: stripped blanks), int,
	// decimal, date (these need their full width).
	Type string `yaml:"type"`
	// Scale is the number of implied decimal places of a decimal without
	// separator ("0001250" with scale 2 is 12.50); default 0. A decimal
	// with a '.' or ',' in the field is read as written.
	Scale int `yaml:"scale"`
	// DateFormat is the pattern of a date column (default "YYYYMMDD").
	DateFormat string `yaml:"date_format"`
}

// Span is a position in the trailer line.
type Span struct {
	// Start is the 1-based character position. Required, >= 1.
	Start int `yaml:"start"`
	// Length in characters. Required, >= 1.
	Length int `yaml:"length"`
}

// SumSpan is the control sum in the trailer line.
type SumSpan struct {
	// Start is the 1-based character position. Required, >= 1.
	Start int `yaml:"start"`
	// Length in characters. Required, >= 1.
	Length int `yaml:"length"`
	// Scale is the number of implied decimal places (default 0).
	Scale int `yaml:"scale"`
	// Column is the decimal column summed. Required.
	Column string `yaml:"column"`
}

var spanFields = []sdk.Field{
	{Name: "start", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1),
		Description: "1-based character position in the trailer line.", Example: 2},
	{Name: "length", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1),
		Description: "Length in characters.", Example: 7},
}

// FixedSpec is the config spec of example.ticket_fixed.
var FixedSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "encoding", Type: sdk.TypeEnum, Enum: sdk.Encodings, Default: "windows-1252",
		Description: "Character encoding of the file.", Example: "utf-8"},
	{Name: "columns", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1),
		Description: "Fields of a detail line, by character position.",
		Example:     []any{map[string]any{"name": "ticket_id", "start": 2, "length": 10}},
		Children: []sdk.Field{
			{Name: "name", Type: sdk.TypeString, Required: true, Pattern: `[a-z_][a-z0-9_]*`,
				Description: "Name of the record field.", Example: "ticket_id"},
			{Name: "start", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1),
				Description: "1-based character position of the field.", Example: 2},
			{Name: "length", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1),
				Description: "Length of the field in characters.", Example: 10},
			{Name: "type", Type: sdk.TypeEnum, Enum: []string{"string", "int", "decimal", "date"}, Default: "string",
				Description: "Type of the field; strings lose their trailing blanks and may be cut short by a line that ends early, the other types need their full width.", Example: "decimal"},
			{Name: "scale", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Max: sdk.Int64(18),
				Description: "Implied decimal places of a decimal written without separator (0001250 with scale 2 is 12.50).", Example: 2},
			{Name: "date_format", Type: sdk.TypeString, Default: "YYYYMMDD",
				Description: "Pattern of a date field, built from YYYY, YY, MM, DD.", Example: "DDMMYYYY"},
		}},
	{Name: "detail_prefix", Type: sdk.TypeString, Default: "D",
		Description: "Text every detail line starts with; other lines that are not header or trailer lines are rejected.", Example: "D"},
	{Name: "header_prefix", Type: sdk.TypeString, Default: "H",
		Description: "Text header lines start with; they are skipped.", Example: "H"},
	{Name: "trailer_prefix", Type: sdk.TypeString, Default: "T",
		Description: "Text the trailer line starts with; nothing may follow it.", Example: "T"},
	{Name: "trailer_count", Type: sdk.TypeObject, Children: spanFields,
		Description: "Position of the number of detail lines in the trailer; a mismatch fails the file.",
		Example:     map[string]any{"start": 2, "length": 7}},
	{Name: "trailer_sum", Type: sdk.TypeObject,
		Description: "Position of the control sum of a decimal column in the trailer; a mismatch fails the file (not checked when a detail line was rejected).",
		Example:     map[string]any{"start": 9, "length": 15, "scale": 2, "column": "amount"},
		Children: append(append([]sdk.Field(nil), spanFields...),
			sdk.Field{Name: "scale", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Max: sdk.Int64(18),
				Description: "Implied decimal places of the control sum.", Example: 2},
			sdk.Field{Name: "column", Type: sdk.TypeString, Required: true,
				Description: "Decimal column whose sum the trailer holds.", Example: "amount"})},
}}

// FixedComponent is example.ticket_fixed.
func FixedComponent() sdk.Component {
	return sdk.Component{
		Name: "ticket_fixed",
		Kind: sdk.KindSource,
		IO:   sdk.IOFile,
		Summary: "Read a ticket vendor's fixed-width settlement file: header, one detail line per ticket, " +
			"trailer with record count and control sum.",
		Description: "Columns are cut by character position (after decoding, so umlauts count as one). " +
			"A detail line that is too short or holds a value that does not parse is rejected with the column and reason; " +
			"a trailer whose count or sum disagrees with the detail lines, a missing trailer or lines after it fail the file.",
		Spec: FixedSpec,
		Examples: []string{"type: example.ticket_fixed\npath: in/settlement-*.txt\ncolumns:\n" +
			"  - {name: ticket_id, start: 2, length: 10}\n  - {name: sold_on, start: 12, length: 8, type: date}\n" +
			"  - {name: amount, start: 20, length: 9, type: decimal, scale: 2}\n" +
			"trailer_count: {start: 2, length: 7}\ntrailer_sum: {start: 9, length: 12, scale: 2, column: amount}"},
		NewDecoder: NewFixed,
		Schema: func(cfg sdk.Config) (*record.Schema, error) {
			c, err := parseFixed(cfg)
			if err != nil {
				return nil, err
			}
			return schemaOf(c)
		},
	}
}

func parseFixed(cfg sdk.Config) (FixedConfig, error) {
	c := FixedConfig{Encoding: "windows-1252", DetailPrefix: "D", HeaderPrefix: "H", TrailerPrefix: "T"}
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	var es sdk.FieldErrors
	if len(c.Columns) == 0 {
		es.Add("columns", "needs at least one column")
	}
	seen := map[string]bool{}
	for i := range c.Columns {
		col := &c.Columns[i]
		p := fmt.Sprintf("columns[%d]", i)
		if col.Type == "" {
			col.Type = "string"
		}
		if col.DateFormat == "" {
			col.DateFormat = "YYYYMMDD"
		}
		switch {
		case col.Name == "":
			es.Add(p+".name", "is required")
		case seen[col.Name]:
			es.Add(p+".name", "column %q is defined twice", col.Name)
		}
		seen[col.Name] = true
		if col.Start < 1 {
			es.Add(p+".start", "must be at least 1, got %d", col.Start)
		}
		if col.Length < 1 {
			es.Add(p+".length", "must be at least 1, got %d", col.Length)
		}
		switch col.Type {
		case "string", "int", "decimal", "date":
		default:
			es.Add(p+".type", "must be string, int, decimal or date, got %q", col.Type)
		}
		if col.Scale < 0 || col.Scale > 18 {
			es.Add(p+".scale", "must be between 0 and 18, got %d", col.Scale)
		}
	}
	if c.DetailPrefix == "" {
		es.Add("detail_prefix", "must not be empty")
	}
	if c.TrailerPrefix == "" {
		es.Add("trailer_prefix", "must not be empty")
	}
	if c.TrailerPrefix != "" && (strings.HasPrefix(c.DetailPrefix, c.TrailerPrefix) || strings.HasPrefix(c.TrailerPrefix, c.DetailPrefix)) {
		es.Add("trailer_prefix", "must differ from detail_prefix %q", c.DetailPrefix)
	}
	if c.HeaderPrefix != "" && c.DetailPrefix != "" && (strings.HasPrefix(c.DetailPrefix, c.HeaderPrefix) || strings.HasPrefix(c.HeaderPrefix, c.DetailPrefix)) {
		es.Add("header_prefix", "must differ from detail_prefix %q", c.DetailPrefix)
	}
	for name, s := range map[string]*Span{"trailer_count": c.TrailerCount, "trailer_sum": spanOf(c.TrailerSum)} {
		if s != nil && (s.Start < 1 || s.Length < 1) {
			es.Add(name, "start and length must be at least 1")
		}
	}
	if ts := c.TrailerSum; ts != nil {
		found := false
		for _, col := range c.Columns {
			if col.Name == ts.Column {
				found = true
				if col.Type != "decimal" && col.Type != "int" {
					es.Add("trailer_sum.column", "column %q is a %s, not a decimal", ts.Column, col.Type)
				}
			}
		}
		if !found {
			es.Add("trailer_sum.column", "no column %q", ts.Column)
		}
		if ts.Scale < 0 || ts.Scale > 18 {
			es.Add("trailer_sum.scale", "must be between 0 and 18, got %d", ts.Scale)
		}
	}
	return c, es.Err()
}

func spanOf(s *SumSpan) *Span {
	if s == nil {
		return nil
	}
	return &Span{Start: s.Start, Length: s.Length}
}

var kinds = map[string]record.Kind{"string": record.KindString, "int": record.KindInt, "decimal": record.KindDecimal, "date": record.KindDate}

func schemaOf(c FixedConfig) (*record.Schema, error) {
	fs := make([]record.Field, len(c.Columns))
	for i, col := range c.Columns {
		fs[i] = record.Field{Name: col.Name, Kind: kinds[col.Type]}
	}
	return record.NewSchema(fs...)
}

// NewFixed builds the decoder.
func NewFixed(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Decoder, error) {
	c, err := parseFixed(cfg)
	if err != nil {
		return nil, err
	}
	s, err := schemaOf(c)
	if err != nil {
		return nil, err
	}
	sum := -1
	if c.TrailerSum != nil {
		sum = s.Index(c.TrailerSum.Column)
	}
	return &fixed{c: c, schema: s, step: env.Step, batch: max(env.BatchSize, 1), sum: sum}, nil
}

type fixed struct {
	c      FixedConfig
	schema *record.Schema
	step   string
	batch  int
	sum    int // column index of the control sum, -1: none
}

// Open implements sdk.Decoder.
func (f *fixed) Open(_ context.Context, in sdk.Input) (sdk.Source, error) {
	r, err := sdk.NewTextReader(in.R, f.c.Encoding)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Name, err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &fixedSource{f: f, name: in.Name, sc: sc, total: record.DecimalFromInt(0)}, nil
}

type fixedSource struct {
	f        *fixed
	name     string
	sc       *bufio.Scanner
	line     int
	details  int
	rejected int // detail lines rejected (the control sum is then not checked)
	total    record.Decimal
	trailer  bool // seen
	done     bool
	runes    []rune
}

// Next implements sdk.Source.
func (s *fixedSource) Next(ctx context.Context) (*record.Batch, error) {
	if s.done {
		return nil, io.EOF
	}
	b := &record.Batch{Records: make([]record.Record, 0, s.f.batch)}
	vals := make([]record.Value, 0, s.f.batch*s.f.schema.Len())
	for len(b.Records)+len(b.Rejects) < s.f.batch {
		if !s.sc.Scan() {
			if err := s.sc.Err(); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", s.name, s.line+1, err)
			}
			s.done = true
			if !s.trailer {
				return nil, fmt.Errorf("%s:%d: no trailer line (%q): the file is incomplete", s.name, s.line, s.f.c.TrailerPrefix)
			}
			break
		}
		s.line++
		line := strings.TrimRight(s.sc.Text(), "\r")
		switch {
		case s.trailer:
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("%s:%d:1: line after the trailer", s.name, s.line)
			}
		case strings.HasPrefix(line, s.f.c.TrailerPrefix):
			if err := s.checkTrailer(line); err != nil {
				return nil, err
			}
			s.trailer = true
		case s.f.c.HeaderPrefix != "" && strings.HasPrefix(line, s.f.c.HeaderPrefix):
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, s.f.c.DetailPrefix):
			s.details++
			n := len(b.Rejects)
			vals = s.detail(b, line, vals)
			s.rejected += len(b.Rejects) - n
		default:
			o := record.Origin{File: s.name, Line: s.line, Col: 1, Index: int64(s.details + 1)}
			b.Reject(record.Record{Schema: s.f.schema, Values: make([]record.Value, s.f.schema.Len()), Origin: o}, s.f.step, "",
				fmt.Sprintf("line starts with neither %q (detail) nor the header or trailer prefix", s.f.c.DetailPrefix))
		}
	}
	if len(b.Records)+len(b.Rejects) == 0 {
		return nil, io.EOF
	}
	return b, ctx.Err()
}

// cut returns the characters [start, start+length) of line (1-based), and
// whether the line is long enough. With loose, a line that ends early
// yields what it has (the rest counts as the blanks a transfer stripped).
func (s *fixedSource) cut(line string, start, length int, loose bool) (string, bool) {
	for i := 0; i < len(line); i++ {
		if line[i] >= utf8.RuneSelf { // not ASCII: count characters
			s.runes = append(s.runes[:0], []rune(line)...)
			end := start - 1 + length
			if end > len(s.runes) {
				if !loose {
					return "", false
				}
				end = len(s.runes)
			}
			return string(s.runes[min(start-1, end):end]), true
		}
	}
	end := start - 1 + length
	if end > len(line) {
		if !loose {
			return "", false
		}
		end = len(line)
	}
	return line[min(start-1, end):end], true
}

func (s *fixedSource) detail(b *record.Batch, line string, vals []record.Value) []record.Value {
	o := record.Origin{File: s.name, Line: s.line, Col: 1, Index: int64(s.details)}
	n := s.f.schema.Len()
	if cap(vals)-len(vals) < n {
		vals = make([]record.Value, 0, max(n*s.f.batch, n))
	}
	start := len(vals)
	vals = vals[:start+n]
	rec := record.Record{Schema: s.f.schema, Values: vals[start : start+n : start+n], Origin: o}
	for i, col := range s.f.c.Columns {
		text, ok := s.cut(line, col.Start, col.Length, col.Type == "string")
		if !ok {
			rec.Origin.Col = col.Start
			b.Reject(rec, s.f.step, col.Name, fmt.Sprintf("line too short: %d characters, column %s needs %d", utf8.RuneCountInString(line), col.Name, col.Start-1+col.Length))
			return vals
		}
		v, err := parseValue(text, col.Type, col.Scale, col.DateFormat)
		if err != nil {
			rec.Origin.Col = col.Start
			b.Reject(rec, s.f.step, col.Name, err.Error())
			return vals
		}
		rec.Values[i] = v
	}
	if s.f.sum >= 0 {
		if v := rec.Values[s.f.sum]; !v.IsNull() {
			t, err := s.total.Add(v.Decimal())
			if err != nil {
				rec.Origin.Col = s.f.c.Columns[s.f.sum].Start
				b.Reject(rec, s.f.step, s.f.c.Columns[s.f.sum].Name, "amount overflows the control sum")
				return vals
			}
			s.total = t
		}
	}
	b.Records = append(b.Records, rec)
	return vals
}

// parseValue parses one fixed-width field; blank fields are null.
func parseValue(text, typ string, scale int, dateFormat string) (record.Value, error) {
	t := strings.TrimSpace(text)
	if typ == "string" {
		return record.String(strings.TrimRight(text, " ")), nil
	}
	if t == "" {
		return record.Null, nil
	}
	switch typ {
	case "int":
		n, err := strconv.ParseInt(strings.TrimLeft(t, "+"), 10, 64)
		if err != nil {
			return record.Null, fmt.Errorf("%q is not a whole number", t)
		}
		return record.Int(n), nil
	case "decimal":
		d, err := parseDecimal(t, scale)
		if err != nil {
			return record.Null, err
		}
		return record.Dec(d), nil
	case "date":
		d, err := record.ParseDate(t, dateFormat)
		if err != nil {
			return record.Null, err
		}
		return record.DateValue(d), nil
	}
	return record.Null, fmt.Errorf("unknown type %q", typ)
}

// parseDecimal reads "12.50", "12,50" as written and "0001250" with scale
// 2 as 12.50; a leading or trailing sign is allowed ("-1250", "1250-").
func parseDecimal(t string, scale int) (record.Decimal, error) {
	neg := false
	switch {
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[1:]
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	case strings.HasSuffix(t, "-"):
		neg, t = true, t[:len(t)-1]
	case strings.HasSuffix(t, "+"):
		t = t[:len(t)-1]
	}
	var d record.Decimal
	var err error
	if strings.ContainsAny(t, ".,") {
		sep := byte('.')
		if strings.IndexByte(t, ',') >= 0 {
			sep = ','
		}
		d, err = record.ParseDecimal(t, sep)
	} else {
		for _, c := range t {
			if c < '0' || c > '9' {
				return d, fmt.Errorf("%q is not an amount", t)
			}
		}
		if len(t) > 19 {
			return d, fmt.Errorf("%q has more than 19 digits", t)
		}
		n, perr := strconv.ParseInt(t, 10, 64)
		if perr != nil {
			return d, fmt.Errorf("%q is not an amount", t)
		}
		d, err = record.NewDecimal(n, scale)
	}
	if err != nil {
		return d, fmt.Errorf("%q is not an amount", t)
	}
	if neg {
		d = d.Neg()
	}
	return d, nil
}

func (s *fixedSource) checkTrailer(line string) error {
	if ts := s.f.c.TrailerCount; ts != nil {
		text, ok := s.cut(line, ts.Start, ts.Length, false)
		if !ok {
			return fmt.Errorf("%s:%d:%d: trailer too short for the record count", s.name, s.line, ts.Start)
		}
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("%s:%d:%d: trailer record count %q is not a number", s.name, s.line, ts.Start, text)
		}
		if n != s.details {
			return fmt.Errorf("%s:%d:%d: trailer says %d detail lines, the file has %d: the file is incomplete or damaged", s.name, s.line, ts.Start, n, s.details)
		}
	}
	if ts := s.f.c.TrailerSum; ts != nil && s.rejected == 0 {
		text, ok := s.cut(line, ts.Start, ts.Length, false)
		if !ok {
			return fmt.Errorf("%s:%d:%d: trailer too short for the control sum", s.name, s.line, ts.Start)
		}
		d, err := parseDecimal(strings.TrimSpace(text), ts.Scale)
		if err != nil {
			return fmt.Errorf("%s:%d:%d: trailer control sum: %v", s.name, s.line, ts.Start, err)
		}
		if !d.Equal(s.total) {
			return fmt.Errorf("%s:%d:%d: trailer control sum %s differs from the sum of %s, %s: the file is incomplete or damaged", s.name, s.line, ts.Start, d, ts.Column, s.total)
		}
	}
	return nil
}

// Close implements sdk.Source.
func (s *fixedSource) Close() error { return nil }
