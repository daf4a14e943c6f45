package csv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"golang.org/x/text/encoding/charmap"
)

// ReadConfig is the configuration of csv.read. See readSpec for the
// documentation of every key and its default.
type ReadConfig struct {
	sdk.TextFormat `yaml:",inline"`
	// Header says that the first record (after SkipRows lines) names the
	// columns. Default true.
	Header bool `yaml:"header"`
	// Columns declares the columns to read with their types; empty: every
	// column of the header as a string.
	Columns []ReadColumn `yaml:"columns"`
	// SkipRows is the number of physical lines before the header (or the
	// first record) to skip. Default 0; negative is invalid.
	SkipRows int `yaml:"skip_rows"`
	// Comment is a character that starts a comment line; "" (default): none.
	Comment string `yaml:"comment"`
	// NullValues are the texts that mean null in typed (non-string)
	// columns. Default [""].
	NullValues []string `yaml:"null_values"`
	// StrictHeader requires every declared column to be in the header.
	// Default true.
	StrictHeader bool `yaml:"strict_header"`
	// Ragged says what happens to a record with the wrong number of fields:
	// "reject" (default) or "pad".
	Ragged string `yaml:"ragged"`
	// TrimSpace trims blanks around every value. Default false.
	TrimSpace bool `yaml:"trim_space"`
	// Thousands is a separator that decimal and int values may use to
	// group digits: "." (1.234,50), ",", " " or "'". Default "": none.
	// Grouping is strict (1-3 digits, then groups of three); it must differ
	// from Decimal, Delimiter and Quote.
	Thousands string `yaml:"thousands"`
}

// ReadColumn declares one column of csv.read.
type ReadColumn struct {
	Name     string `yaml:"name"`     // field name in the records (required)
	Type     string `yaml:"type"`     // string (default), int, decimal, bool, date, datetime
	Format   string `yaml:"format"`   // date/datetime pattern; default date_format / RFC 3339
	Source   string `yaml:"source"`   // header name, or 1-based position; default Name
	Required bool   `yaml:"required"` // an empty or null value rejects the record
	Trim     bool   `yaml:"trim"`     // trim blanks around the value
}

// Ragged modes.
const (
	RaggedReject = "reject"
	RaggedPad    = "pad"
)

var columnTypes = []string{"string", "int", "decimal", "bool", "date", "datetime"}

func readSpec() sdk.Spec {
	return sdk.Spec{Fields: append(sdk.TextReadFields(sdk.StandardText),
		sdk.Field{Name: "header", Type: sdk.TypeBool, Default: true,
			Description: "Whether the first record (after skip_rows lines) holds the column names.", Example: false},
		sdk.Field{Name: "columns", Type: sdk.TypeList,
			Description: "Columns to read, with their types; without it every header column is read as a string (or col1..colN without a header).",
			Example:     []any{map[string]any{"name": "amount", "type": "decimal", "source": "Betrag", "required": true}},
			Children: []sdk.Field{
				{Name: "name", Type: sdk.TypeString, Required: true, Pattern: `.+`,
					Description: "Name of the field in the records.", Example: "amount"},
				{Name: "type", Type: sdk.TypeEnum, Enum: columnTypes, Default: "string",
					Description: "Type the text is converted to; a value that does not convert rejects the record.", Example: "decimal"},
				{Name: "format", Type: sdk.TypeString,
					Description: "Date or datetime pattern of this column, overriding date_format (datetimes default to RFC 3339).", Example: "DD.MM.YYYY"},
				{Name: "source", Type: sdk.TypeString,
					Description: "Header name to read the column from, or its 1-based position as a number; defaults to the column name (to the column's own position without a header).", Example: "Betrag"},
				{Name: "required", Type: sdk.TypeBool, Default: false,
					Description: "Whether an empty or null value rejects the record.", Example: true},
				{Name: "trim", Type: sdk.TypeBool, Default: false,
					Description: "Whether blanks around the value are removed (typed columns are always trimmed).", Example: true},
			}},
		sdk.Field{Name: "skip_rows", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0),
			Description: "Number of physical lines before the header (or the first record) to skip, e.g. a title line of an export.", Example: 2},
		sdk.Field{Name: "comment", Type: sdk.TypeString, Default: "", Pattern: `.?`,
			Description: "Character that marks a line as a comment to skip when it starts a record; empty for none.", Example: "#"},
		sdk.Field{Name: "null_values", Type: sdk.TypeList, Elem: sdk.TypeString, Default: []any{""},
			Description: "Texts that mean null in typed (non-string) columns; string columns keep their text.", Example: []any{"", "NULL", "-"}},
		sdk.Field{Name: "strict_header", Type: sdk.TypeBool, Default: true,
			Description: "Whether the header must contain every declared column; when false a missing column reads as null, but a missing required column is still an error.", Example: false},
		sdk.Field{Name: "ragged", Type: sdk.TypeEnum, Enum: []string{RaggedReject, RaggedPad}, Default: RaggedReject,
			Description: "What happens to a record whose field count differs from the header: reject it, or pad missing trailing fields with empty values (surplus fields must then be empty).", Example: RaggedPad},
		sdk.Field{Name: "trim_space", Type: sdk.TypeBool, Default: false,
			Description: "Whether blanks around every value are removed.", Example: true},
		sdk.Field{Name: "thousands", Type: sdk.TypeEnum, Enum: thousandsSeps, Default: "",
			Description: "Thousands separator that decimal and int values may use to group their digits, as in 1.234.567,89; empty for none. " +
				"Grouping is checked strictly: 1 to 3 digits, then groups of exactly three digits, so 12.34,5 or 1..234 rejects the record; values without separators are read too. " +
				"It must differ from decimal, delimiter and quote.",
			Example: "."},
	)}
}

func readComponent() sdk.Component {
	return sdk.Component{
		Name:    "read",
		Kind:    sdk.KindSource,
		IO:      sdk.IOFile,
		Summary: "Reads delimited text files (CSV, semicolon-separated German exports) into typed records.",
		Description: "Reads RFC 4180 CSV and its real-world variants: any one-character delimiter, quoted fields " +
			"with delimiters, doubled quotes and line breaks, a UTF-8 byte order mark, Windows-1252 and ISO-8859 " +
			"encodings, decimal comma, thousands separators (1.234,50, with thousands) and dates such as DD.MM.YYYY.\n\n" +
			"Every record keeps its origin (file:line). A record with the wrong number of fields, a value that does " +
			"not convert to its column type, a missing required value or invalid UTF-8 is rejected with its line, " +
			"column and reason; reading goes on. A quoted field that is never closed is a file error naming the " +
			"line where the quote opens, because everything after it would be misread.",
		Spec: readSpec(),
		Examples: []string{`type: csv.read
path: in/abos_*.csv
encoding: windows-1252
delimiter: ";"
decimal: ","
date_format: DD.MM.YYYY
columns:
  - {name: abo_id, type: int, source: Abo-Nr, required: true}
  - {name: name, source: Name, trim: true}
  - {name: amount, type: decimal, source: Betrag}
  - {name: due, type: date, source: Fällig}`},
		NewDecoder: newDecoder,
		Schema:     readSchema,
	}
}

// readPlan is the validated, precomputed form of a ReadConfig.
type readPlan struct {
	cfg        ReadConfig
	delim      byte
	quote      byte
	hasQuote   bool
	comment    byte
	hasComment bool
	cm         *charmap.Charmap
	encoding   string
	schema     *record.Schema // declared columns; nil: from the header
	raw        *record.Schema // declared columns as strings (reject records)
	conv       []converter
	srcIdx     []int // declared 0-based source position, -1: by name
	srcName    []string
	nullEmpty  bool // null_values is exactly [""]
}

func parseReadConfig(cfg sdk.Config) (*readPlan, error) {
	var c ReadConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	es := c.TextFormat.Validate()
	p := &readPlan{cfg: c, encoding: c.Encoding}
	cm, err := sdk.Charmap(c.Encoding)
	if err == nil {
		p.cm = cm
		if b, ok := byteIn(c.Delimiter, cm); ok {
			p.delim = b
		} else if len(es) == 0 {
			es.Add("delimiter", "%q is not a single byte in %s; use an ASCII delimiter", c.Delimiter, c.Encoding)
		}
		if c.Quote != "" {
			if b, ok := byteIn(c.Quote, cm); ok {
				p.quote, p.hasQuote = b, true
			} else {
				es.Add("quote", "%q is not a single byte in %s; use an ASCII quote", c.Quote, c.Encoding)
			}
		}
		if c.Comment != "" {
			if b, ok := byteIn(c.Comment, cm); ok && b != p.delim && b != '\n' && b != '\r' {
				p.comment, p.hasComment = b, true
			} else {
				es.Add("comment", "%q must be one character of the file's encoding, other than the delimiter and line breaks", c.Comment)
			}
		}
	}
	if c.SkipRows < 0 {
		es.Add("skip_rows", "must not be negative, got %d", c.SkipRows)
	}
	switch c.Ragged {
	case "", RaggedReject, RaggedPad:
	default:
		es.Add("ragged", "must be %q or %q, got %q", RaggedReject, RaggedPad, c.Ragged)
	}
	thou := checkThousands(c.Thousands, c.TextFormat, &es)
	p.nullEmpty = len(c.NullValues) == 1 && c.NullValues[0] == ""
	if len(c.Columns) > 0 {
		fields := make([]record.Field, len(c.Columns))
		names := make([]string, len(c.Columns))
		seen := map[string]int{}
		for i, col := range c.Columns {
			path := fmt.Sprintf("columns[%d]", i)
			if col.Name == "" {
				es.Add(path+".name", "is required")
			} else if j, dup := seen[col.Name]; dup {
				es.Add(path+".name", "duplicate column %q (also columns[%d])", col.Name, j)
			}
			seen[col.Name] = i
			typ := col.Type
			if typ == "" {
				typ = "string"
			}
			kind, ok := record.ParseKind(typ)
			if !ok || kind == record.KindNull || kind == record.KindList || kind == record.KindMap {
				msg := fmt.Sprintf("unknown type %q (want one of %s)", col.Type, strings.Join(columnTypes, ", "))
				if s := diag.Suggest(col.Type, columnTypes); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				es.Add(path+".type", "%s", msg)
				kind = record.KindString
			}
			layout := col.Format
			if layout == "" && kind == record.KindDate {
				layout = c.DateFormat
				if layout == "" {
					layout = "YYYY-MM-DD"
				}
			}
			if col.Format != "" && kind != record.KindDate && kind != record.KindDateTime {
				es.Add(path+".format", "applies only to date and datetime columns, not %s", kind)
			}
			p.conv = append(p.conv, newConverter(kind, c.DecimalByte(), thou, layout))
			fields[i] = record.Field{Name: col.Name, Kind: kind}
			names[i] = col.Name
			idx := -1
			src := col.Source
			if src != "" && isDigits(src) {
				n, err := strconv.Atoi(src)
				if err != nil || n < 1 {
					es.Add(path+".source", "position must be 1 or more, got %q", src)
				} else {
					idx = n - 1
				}
			} else if !c.Header {
				if src != "" {
					es.Add(path+".source", "must be a 1-based position when header is false, got %q", src)
				}
				idx = i
			}
			if src == "" {
				src = col.Name
			}
			p.srcIdx = append(p.srcIdx, idx)
			p.srcName = append(p.srcName, src)
		}
		if len(es) == 0 {
			s, err := record.NewSchema(fields...)
			if err != nil {
				es.Add("columns", "%v", err)
			} else {
				p.schema = s
				p.raw, _ = record.StringSchema(names...)
			}
		}
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkThousands validates the thousands option of csv.read and
// csv.write and returns its byte (0: none).
func checkThousands(t string, tf sdk.TextFormat, es *sdk.FieldErrors) byte {
	switch {
	case t == "":
		return 0
	case !contains(thousandsSeps, t):
		es.Add("thousands", "must be one of \".\", \",\", \" \", \"'\" or empty, got %q", t)
	case t == tf.Decimal || tf.Decimal == "" && t == ".":
		es.Add("thousands", "must differ from the decimal separator %q", string(tf.DecimalByte()))
	case t == tf.Delimiter || tf.Delimiter == "" && t == ",":
		es.Add("thousands", "must differ from the delimiter %q", t)
	case t == tf.Quote:
		es.Add("thousands", "must differ from the quote %q", t)
	default:
		return t[0]
	}
	return 0
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// byteIn returns the single byte that s (one character) has in the
// encoding cm (nil: UTF-8, where only ASCII is one byte).
func byteIn(s string, cm *charmap.Charmap) (byte, bool) {
	r, n := utf8.DecodeRuneInString(s)
	if n != len(s) || r == utf8.RuneError {
		return 0, false
	}
	if r < 0x80 {
		return byte(r), true
	}
	if cm == nil {
		return 0, false
	}
	return cm.EncodeRune(r)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// readSchema is Component.Schema: known when columns are declared.
func readSchema(cfg sdk.Config) (*record.Schema, error) {
	p, err := parseReadConfig(cfg)
	if err != nil {
		return nil, err
	}
	return p.schema, nil
}

type decoder struct {
	plan      *readPlan
	step      string
	batchSize int
}

func newDecoder(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Decoder, error) {
	p, err := parseReadConfig(cfg)
	if err != nil {
		return nil, err
	}
	d := &decoder{plan: p, step: env.Step, batchSize: env.BatchSize}
	if d.step == "" {
		d.step = "csv.read"
	}
	if d.batchSize <= 0 {
		d.batchSize = 1000
	}
	return d, nil
}

// Open implements sdk.Decoder. It reads the header (if any), so a file
// whose header lacks a declared column fails here.
func (d *decoder) Open(_ context.Context, in sdk.Input) (sdk.Source, error) {
	p := d.plan
	s := &source{plan: p, name: in.Name, step: d.step, batchSize: d.batchSize,
		sc: newScanner(in.R, in.Size, p.delim, p.quote, p.hasQuote, p.comment, p.hasComment, p.cm)}
	s.sc.encName = p.encoding
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// source reads one file.
type source struct {
	plan      *readPlan
	sc        *scanner
	name      string
	step      string
	batchSize int
	schema    *record.Schema
	raw       *record.Schema
	conv      []converter
	idx       []int // per output field: 0-based position in the file, -1: absent
	trim      []bool
	required  []bool
	want      int                    // expected field count; 0: take from the first record
	extra     map[int]*record.Schema // raw plus _extra_1.._extra_N, by N (see keepSurplus)
	index     int64
	done      bool
	err       error
	// last is the batch Next returned last and lastSlab the values it was
	// carved from; free/freeSlab are a batch handed back by Recycle.
	last, free         *record.Batch
	lastSlab, freeSlab []record.Value
}

func (s *source) fileErr(line, col int, format string, args ...any) error {
	return fmt.Errorf("%s: %s", record.Origin{File: s.name, Line: line, Col: col}, fmt.Sprintf(format, args...))
}

func (s *source) scanErr(err error) error {
	var se *scanError
	if errors.As(err, &se) {
		return s.fileErr(se.line, se.col, "%s", se.msg)
	}
	return fmt.Errorf("reading %s: %w", s.name, err)
}

func (s *source) start() error {
	p := s.plan
	sc := s.sc
	if sc.skipBOM() && p.cm != nil {
		return s.fileErr(1, 1, "file starts with a UTF-8 byte order mark but encoding is %s (set encoding: utf-8)", p.encoding)
	}
	if rest := sc.buf[sc.pos:sc.end]; bytes.HasPrefix(rest, []byte{0xFF, 0xFE}) || bytes.HasPrefix(rest, []byte{0xFE, 0xFF}) {
		return s.fileErr(1, 1, "file starts with a UTF-16 byte order mark (a \"Unicode text\" export?); csv.read reads UTF-8 and single-byte encodings: save the file as UTF-8")
	}
	for i := 0; i < p.cfg.SkipRows; i++ {
		ok, err := sc.skipLine()
		if err != nil {
			return s.scanErr(err)
		}
		if !ok {
			break
		}
	}
	s.schema, s.raw, s.conv = p.schema, p.raw, p.conv
	n := len(p.conv)
	var header []string
	headerLine := sc.line
	if p.cfg.Header {
		ok, err := sc.next()
		if err != nil {
			return s.scanErr(err)
		}
		if !ok { // empty file: no records
			s.done = true
			if s.schema == nil {
				s.schema, _ = record.NewSchema()
			}
			return nil
		}
		headerLine = sc.recLine
		if sc.bad != "" {
			return s.fileErr(headerLine, sc.fieldCol(sc.badField), "header: %s", sc.bad)
		}
		if p.cm == nil && !utf8.ValidString(sc.rec) {
			return s.fileErr(headerLine, 1, "header is not valid UTF-8 (wrong encoding? try encoding: windows-1252)")
		}
		header = make([]string, len(sc.fields))
		for i, f := range sc.fields {
			header[i] = strings.Clone(strings.TrimSpace(sc.rec[f.start:f.end]))
		}
		s.want = len(header)
	}
	if s.schema == nil { // columns from the header, or col1..colN
		if header == nil {
			return nil // decided by the first record, see initFromFirst
		}
		names := make([]string, len(header))
		seen := map[string]int{}
		for i, h := range header {
			if h == "" {
				h = "col" + strconv.Itoa(i+1)
			}
			if j, dup := seen[h]; dup {
				return s.fileErr(headerLine, sc.fieldCol(i), "header has column %q twice (positions %d and %d); declare columns with source positions to read this file", h, j+1, i+1)
			}
			seen[h] = i
			names[i] = h
		}
		s.setStringSchema(names)
		return nil
	}
	s.idx = make([]int, n)
	s.trim = make([]bool, n)
	s.required = make([]bool, n)
	byName := map[string]int{}
	dupCol := map[string]int{} // column of the second occurrence
	for i, h := range header {
		if j, dup := byName[h]; dup {
			if j >= 0 {
				byName[h] = -1 - j // ambiguous: the first position, negated
				dupCol[h] = sc.fieldCol(i)
			}
		} else {
			byName[h] = i
		}
	}
	var missing []string
	for i := range n {
		col := p.cfg.Columns[i]
		s.trim[i] = col.Trim || p.cfg.TrimSpace
		s.required[i] = col.Required
		idx := p.srcIdx[i]
		if idx < 0 {
			j, ok := byName[p.srcName[i]]
			if ok && j < 0 {
				return s.fileErr(headerLine, dupCol[p.srcName[i]], "column %q: the header has %q more than once (first at position %d); use a source position", col.Name, p.srcName[i], -j)
			}
			if !ok {
				if col.Required || p.cfg.StrictHeader {
					missing = append(missing, p.srcName[i])
				}
			} else {
				idx = j
			}
		} else if header != nil && idx >= len(header) && p.cfg.StrictHeader {
			return s.fileErr(headerLine, 1, "column %q: source position %d, but the header has only %d columns", col.Name, idx+1, len(header))
		}
		s.idx[i] = idx
	}
	if len(missing) > 0 { // with strict_header false only required columns count
		msg := fmt.Sprintf("header has no column %s", quoteList(missing))
		var hints []string
		for _, m := range missing {
			if sug := diag.Suggest(m, header); sug != "" {
				hints = append(hints, fmt.Sprintf("%q for %q", sug, m))
			}
		}
		if len(hints) > 0 {
			msg += " (did you mean " + strings.Join(hints, ", ") + "?)"
		}
		return s.fileErr(headerLine, 1, "%s; the header has: %s", msg, strings.Join(header, ", "))
	}
	return nil
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func (s *source) setStringSchema(names []string) {
	s.schema, _ = record.StringSchema(names...)
	s.raw = s.schema
	s.conv = make([]converter, len(names))
	s.idx = make([]int, len(names))
	s.trim = make([]bool, len(names))
	s.required = make([]bool, len(names))
	for i := range names {
		s.conv[i] = converter{kind: record.KindString}
		s.idx[i] = i
		s.trim[i] = s.plan.cfg.TrimSpace
	}
}

// Next implements sdk.Source.
func (s *source) Next(ctx context.Context) (*record.Batch, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var b *record.Batch
	var slab, whole []record.Value
	if s.free != nil { // a recycled batch: reuse its records array and values
		b, whole = s.free, s.freeSlab
		s.free, s.freeSlab = nil, nil
		clear(b.Records[:cap(b.Records)])
		b.Records, b.Rejects = b.Records[:0], nil
		slab = whole
	} else {
		b = &record.Batch{Records: make([]record.Record, 0, s.batchSize)}
	}
	for len(b.Records)+len(b.Rejects) < s.batchSize {
		ok, err := s.sc.next()
		if err != nil {
			s.err = s.scanErr(err)
			break
		}
		if !ok {
			s.done = true
			break
		}
		if s.schema == nil { // no header, no columns: col1..colN from the first record
			names := make([]string, len(s.sc.fields))
			for i := range names {
				names[i] = "col" + strconv.Itoa(i+1)
			}
			s.setStringSchema(names)
		}
		if s.want == 0 {
			s.want = len(s.sc.fields)
		}
		n := len(s.conv)
		if len(slab) < n {
			slab = make([]record.Value, n*(s.batchSize-len(b.Records)-len(b.Rejects)))
			if whole == nil && len(b.Records) == 0 {
				whole = slab // the batch's values come from this one slab
			} else {
				whole = nil
			}
		}
		vals := slab[:n:n]
		if s.record(b, vals) {
			slab = slab[n:]
		}
	}
	if len(b.Records)+len(b.Rejects) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	s.last, s.lastSlab = b, whole
	return b, nil
}

// Recycle implements sdk.BatchRecycler: the next batch reuses the records
// array and the values of b (the record strings are never reused).
func (s *source) Recycle(b *record.Batch) {
	if b == nil || b != s.last || s.lastSlab == nil {
		return
	}
	s.free, s.freeSlab = b, s.lastSlab
	s.last, s.lastSlab = nil, nil
}

// record converts the scanned record into vals and appends it (or a
// reject) to b. It reports whether vals was used.
func (s *source) record(b *record.Batch, vals []record.Value) bool {
	sc := s.sc
	s.index++
	origin := record.Origin{File: s.name, Line: sc.recLine, Col: 1, Index: s.index}
	nf := len(sc.fields)
	if sc.bad != "" {
		s.reject(b, origin, sc.badField, "", sc.bad)
		return false
	}
	if nf != s.want {
		surplusEmpty := true
		for i := s.want; i < nf; i++ {
			if sc.fields[i].end > sc.fields[i].start {
				surplusEmpty = false
				break
			}
		}
		if s.plan.cfg.Ragged != RaggedPad || !surplusEmpty {
			s.reject(b, origin, -1, "", fmt.Sprintf("%d fields, want %d", nf, s.want))
			if nf > s.want {
				s.keepSurplus(&b.Rejects[len(b.Rejects)-1])
			}
			return false
		}
	}
	if s.plan.cm == nil && !utf8.ValidString(sc.rec) {
		for i, f := range sc.fields {
			if !utf8.ValidString(sc.rec[f.start:f.end]) {
				s.reject(b, origin, i, "", "invalid UTF-8 (wrong encoding? try encoding: windows-1252)")
				return false
			}
		}
	}
	var firstErr error
	errField := -1
	var more []string
	for i := range s.conv {
		k := s.idx[i]
		if k < 0 { // declared column not in the header (strict_header: false)
			vals[i] = record.Null
			continue
		}
		var txt string
		if k < nf {
			f := sc.fields[k]
			txt = sc.rec[f.start:f.end]
		}
		c := &s.conv[i]
		if c.kind == record.KindString {
			if s.trim[i] {
				txt = strings.TrimSpace(txt)
			}
			if txt == "" && s.required[i] {
				if firstErr == nil {
					firstErr, errField = errRequired, i
				} else {
					more = append(more, s.schema.Field(i).Name+": "+errRequired.Error())
				}
			}
			vals[i] = record.String(sc.str(txt))
			continue
		}
		txt = trimBlank(txt)
		if s.isNull(txt) {
			if s.required[i] {
				if firstErr == nil {
					firstErr, errField = errRequired, i
				} else {
					more = append(more, s.schema.Field(i).Name+": "+errRequired.Error())
				}
			}
			vals[i] = record.Null
			continue
		}
		v, err := c.convert(txt)
		if err != nil {
			if firstErr == nil {
				firstErr, errField = err, i
			} else {
				more = append(more, s.schema.Field(i).Name+": "+err.Error())
			}
			continue
		}
		vals[i] = v
	}
	if firstErr != nil {
		reason := firstErr.Error()
		if len(more) > 0 {
			reason += "; also " + strings.Join(more, "; ")
		}
		fi := -1
		if k := s.idx[errField]; k >= 0 && k < nf {
			fi = k
		}
		s.reject(b, origin, fi, s.schema.Field(errField).Name, reason)
		return false
	}
	b.Records = append(b.Records, record.Record{Schema: s.schema, Values: vals, Origin: origin})
	return true
}

var errRequired = errors.New("required value missing")

func (s *source) isNull(txt string) bool {
	if s.plan.nullEmpty {
		return txt == ""
	}
	for _, n := range s.plan.cfg.NullValues {
		if txt == n {
			return true
		}
	}
	return false
}

// trimBlank removes spaces and tabs (typed columns).
func trimBlank(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// reject appends a reject carrying the raw text of the declared columns.
// fi is the file field the problem is in (-1: the whole record); name is
// the column name ("" : derived from fi when it maps to a column).
func (s *source) reject(b *record.Batch, origin record.Origin, fi int, name, reason string) {
	sc := s.sc
	if fi >= 0 && fi < len(sc.fields) {
		origin.Line = sc.recLine + int(sc.fields[fi].line)
		origin.Col = sc.fieldCol(fi)
		if name == "" {
			name = "column " + strconv.Itoa(fi+1)
			for i, k := range s.idx {
				if k == fi {
					name = s.schema.Field(i).Name
					break
				}
			}
		}
	}
	rec := record.Record{Schema: s.raw, Values: make([]record.Value, s.raw.Len()), Origin: origin}
	for i, k := range s.idx {
		if k >= 0 && k < len(sc.fields) {
			f := sc.fields[k]
			rec.Values[i] = record.String(strings.Clone(sc.rec[f.start:f.end]))
		}
	}
	b.Rejects = append(b.Rejects, record.Reject{Record: rec, Step: s.step, Field: name, Reason: reason})
}

// MaxSurplusFields is how many surplus fields of a record with too many
// fields its reject keeps (_extra_1 to _extra_100); the reason names the
// record's full field count.
const MaxSurplusFields = 100

// keepSurplus adds the fields of the current record beyond the expected
// count to its reject rj, as _extra_1, _extra_2, ... after the declared
// columns, so the rejects file shows the values that did not fit (often a
// delimiter inside an unquoted text: "Müller, Hans"). A name the columns
// already use gets a further underscore.
func (s *source) keepSurplus(rj *record.Reject) {
	sc := s.sc
	n := min(len(sc.fields)-s.want, MaxSurplusFields)
	sch := s.extra[n]
	if sch == nil {
		fs := rj.Record.Schema.Fields()
		for i := 1; i <= n; i++ {
			name := "_extra_" + strconv.Itoa(i)
			for rj.Record.Schema.Index(name) >= 0 {
				name += "_"
			}
			fs = append(fs, record.Field{Name: name, Kind: record.KindString})
		}
		var err error
		if sch, err = record.NewSchema(fs...); err != nil {
			return // cannot happen: the names are unique; keep the declared columns
		}
		if s.extra == nil {
			s.extra = map[int]*record.Schema{}
		}
		s.extra[n] = sch
	}
	vals := make([]record.Value, sch.Len())
	k := copy(vals, rj.Record.Values)
	for i := 0; i < n; i++ {
		f := sc.fields[s.want+i]
		vals[k+i] = record.String(strings.Clone(sc.rec[f.start:f.end]))
	}
	rj.Record.Schema, rj.Record.Values = sch, vals
}

// Close implements sdk.Source.
func (s *source) Close() error { return nil }
