// Package layout is a declarative engine for the flat files municipal finance systems import
// (Sollstellungen/Annahmeanordnungen): delimited and fixed-width records, optional Vorsatz
// (header) and Nachsatz (trailer) records with record counts and control sums. A layout is a
// YAML file (e.g. pipelines/layouts/sollstellung-fixed.yaml) referenced by the layout.write
// sink and the layout.read source; see shared/domain/fibu-kassenzeichen.md §3.4–3.6.
//
// Layout file (all keys snake_case; errors are reported as file:line:col):
//
//	format: fixed            # fixed | delimited (default delimited)
//	encoding: windows-1252   # utf-8, utf-8-bom, windows-1252, iso-8859-1, iso-8859-15
//	line_ending: crlf        # crlf | lf
//	delimiter: ";"           # delimited only (default ";")
//	quote: '"'               # delimited only; "" disables quoting
//	quoting: needed          # needed | always | never (a value holding the delimiter is rejected)
//	caption_line: false      # delimited only: first line holds the field names
//	decimal: ","             # decimal separator of amounts
//	header:  {fields: [...]} # Vorsatz, optional
//	record:  {fields: [...]} # required
//	trailer: {fields: [...]} # Nachsatz, optional
//
// A field has a name and exactly one of: source (the record field, default: the name),
// const (literal text) or value (computed: count, count_all, sum(f), sum_abs(f),
// sum_sh(f[, sh_field]), run_date; f names a field of the record layout), plus:
//
//	type: string | int | amount | date | sh     (default string)
//	width: N              # fixed: required; delimited: maximum length
//	align: left | right   # default left for string/date, right for int/amount
//	pad: " "              # pad character (fixed width), e.g. "0"
//	truncate: false       # true cuts too long text; default rejects the record
//	required: false       # a null/empty value rejects the record
//	decimals: 2           # amount: places
//	implied: false        # amount: no separator (implied decimals, 9(8)V99)
//	sign: leading         # amount: leading | trailing | always | none (absolute value)
//	format: TT.MM.JJJJ    # date: TT.MM.JJJJ, TTMMJJJJ, JJJJMMTT, TTMMJJ, TTMM, ...
//	debit: S / credit: H  # sh: indicator characters for amount >= 0 / < 0 of `source`
//	null_as: blank        # fixed int/amount/date: a null value is written as blank (spaces) | zeros
//
// A null (or empty) value is written as nothing in a delimited layout and as the pad character
// across the width in a fixed-width text field. In a fixed-width int, amount or date field it is
// written as spaces (null_as: blank, the default), whatever the pad, so it reads back as null;
// null_as: zeros writes zeros across the width instead, for imports that want 000000 for "no
// value" (it reads back as 0, a date as null: zeros are no date). layout.read reads a blank
// numeric or date field as null and an all-zero one as 0 (a date: null).
//
// layout.write rejects a record, naming the field and the reason, for a value its field cannot
// hold: text longer than the width (unless truncate: true), a number or date longer than the
// width (never cut), an amount with more decimal places than decimals (never rounded), a
// character the encoding cannot represent, a control character (tab is text), invalid UTF-8,
// a date whose year the pattern cannot hold (JJJJ: 1 to 9999; JJ: 1969 to 2068, the century
// window of two-digit years), an amount that needs more than 19 digits at the field's decimals
// (123456789012345678 at 2 places), and a control sum that would exceed 19 digits. Layout files are
// line-oriented: a line break inside a value is rejected even when the layout quotes, so
// layout.read always reads what layout.write wrote. Without quoting, a value holding the
// delimiter or starting with the quote character is rejected. For single-byte encodings text is
// normalised to Unicode NFC first, so a decomposed "e"+U+0301 is written as é; UTF-8 output keeps
// the bytes it is given. Zero-padded numbers put the sign before the zeros (-0001234). Header and
// trailer counts and sums cover the written records only.
//
// layout.read is strict, as an import of the data centre would be: a UTF-8 byte order mark in a
// single-byte file and a caption line that does not name the layout's fields in order are file
// errors; a line with a byte the encoding does not define (0x81 in windows-1252), invalid UTF-8,
// a NUL byte or a bare CR, the wrong width or field count, a required value missing, an amount
// with more decimal places than the field's decimals or an S/H indicator that is neither is
// rejected with line, column and reason, and the reject keeps the text of the line's fields.
// An implied-decimal amount is read exactly up to 19 digits; more digits, in either notation,
// reject the record as more than a decimal holds. Blank lines at the end of the file are
// ignored; the trailer is the last line with text, and a trailer mismatch says how many records
// were rejected. A control sum of the records that exceeds 19 digits is reported at the
// trailer's sum field ("control sum of betrag does not fit in 19 digits"), never compared.
package layout

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Layout is a parsed, validated layout file.
type Layout struct {
	File        string `yaml:"-"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Format      string `yaml:"format"`
	Encoding    string `yaml:"encoding"`
	LineEnding  string `yaml:"line_ending"`
	Delimiter   string `yaml:"delimiter"`
	Quote       string `yaml:"quote"`
	Quoting     string `yaml:"quoting"`
	CaptionLine bool   `yaml:"caption_line"`
	Decimal     string `yaml:"decimal"`
	RecordWidth int    `yaml:"record_width"`
	Header      *Part  `yaml:"header"`
	Record      *Part  `yaml:"record"`
	Trailer     *Part  `yaml:"trailer"`
	// shSums are the distinct sum_sh(field, sh_field) aggregates of header
	// and trailer: each is added once per record, however many header and
	// trailer fields show it.
	shSums []aggregate
}

// Part is one record type (Vorsatz, data record, Nachsatz).
type Part struct {
	Fields []*Field `yaml:"fields"`
	width  int
	aggr   bool // uses count/sum values
}

// Field is one field of a record type.
type Field struct {
	Name     string `yaml:"name"`
	Source   string `yaml:"source"`
	Const    string `yaml:"const"`
	Value    string `yaml:"value"`
	Type     string `yaml:"type"`
	Width    int    `yaml:"width"`
	Align    string `yaml:"align"`
	Pad      string `yaml:"pad"`
	Truncate bool   `yaml:"truncate"`
	Required bool   `yaml:"required"`
	Decimals *int   `yaml:"decimals"`
	Implied  bool   `yaml:"implied"`
	Sign     string `yaml:"sign"`
	Format   string `yaml:"format"`
	Debit    string `yaml:"debit"`
	Credit   string `yaml:"credit"`
	// NullAs says how layout.write fills an int, amount or date field of a
	// fixed-width layout when the value is null or empty: "blank" (default)
	// writes spaces, which layout.read reads back as null; "zeros" writes
	// zeros across the width, as some COBOL-era imports want, which reads
	// back as 0 (an int or amount) or null (a date). Other values, and
	// null_as on a text field or in a delimited layout, are layout errors.
	NullAs string `yaml:"null_as"`

	hasConst bool
	pos      diag.Pos
	pad      rune
	right    bool
	decimals int
	agg      aggregate
	years    sdk.YearWindow // date: the years format holds (JJJJ: 1..9999, JJ: 1969..2068)
	nullFill rune           // fixed-width int/amount/date: what fills a null value (' ' or '0'); 0: the pad
}

type aggregate struct {
	kind    string // count, count_all, sum, sum_abs, sum_sh, run_date
	field   int    // index into record fields
	shField int    // index or -1
}

// IsConst reports whether the field holds literal text.
func (f *Field) IsConst() bool { return f.hasConst }

// Load reads and validates a layout file; errors are diag.List with file:line:col positions.
func Load(path string) (*Layout, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading layout: %w", err)
	}
	return Parse(path, b)
}

// Resolve returns p relative to dir unless it is absolute.
func Resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// Parse parses layout text; file names the source in positions.
func Parse(file string, src []byte) (*Layout, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, diag.List{diag.Errorf(yamlErrPos(file, err), "layout-syntax", "%s", yamlErrMsg(err))}.Err()
	}
	var l diag.List
	if len(doc.Content) == 0 {
		l.Errorf(diag.Pos{File: file, Line: 1, Col: 1}, "layout-empty", "empty layout file")
		return nil, l.Err()
	}
	root := doc.Content[0]
	lay := &Layout{File: file}
	decodeStrict(file, root, lay, "", &l)
	lay.validate(root, &l)
	if l.HasErrors() {
		l.Sort()
		return nil, l.Err()
	}
	return lay, nil
}

var lineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrPos(file string, err error) diag.Pos {
	p := diag.Pos{File: file, Line: 1, Col: 1}
	if m := lineRe.FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &p.Line)
	}
	return p
}

func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	return lineRe.ReplaceAllString(s, "")
}

func pos(file string, n *yaml.Node) diag.Pos {
	return diag.Pos{File: file, Line: n.Line, Col: n.Column}
}

// decodeStrict decodes node into v (pointer to struct), reporting unknown keys (with
// did-you-mean) and type errors at their positions. Nested *Part / []*Field are handled.
func decodeStrict(file string, n *yaml.Node, v any, path string, l *diag.List) {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	if n.Kind != yaml.MappingNode {
		l.Errorf(pos(file, n), "layout-type", "%s: want a mapping", strings.TrimPrefix(path, "."))
		return
	}
	known := map[string]int{}
	var names []string
	for i := 0; i < rt.NumField(); i++ {
		tag := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			known[tag] = i
			names = append(names, tag)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fi, ok := known[k.Value]
		p := strings.TrimPrefix(path+"."+k.Value, ".")
		if !ok {
			d := diag.Errorf(pos(file, k), "unknown-key", "%s: unknown key", p)
			if s := diag.Suggest(k.Value, names); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q?", s)
			}
			l.Add(d)
			continue
		}
		fv := rv.Field(fi)
		switch fv.Interface().(type) {
		case *Part:
			part := &Part{}
			decodeStrict(file, val, part, p, l)
			fv.Set(reflect.ValueOf(part))
		case []*Field:
			if val.Kind != yaml.SequenceNode {
				l.Errorf(pos(file, val), "layout-type", "%s: want a list of fields", p)
				continue
			}
			var fs []*Field
			for j, e := range val.Content {
				f := &Field{pos: pos(file, e)}
				decodeStrict(file, e, f, fmt.Sprintf("%s[%d]", p, j), l)
				for m := 0; m+1 < len(e.Content); m += 2 {
					if e.Content[m].Value == "const" {
						f.hasConst = true
					}
				}
				fs = append(fs, f)
			}
			fv.Set(reflect.ValueOf(fs))
		default:
			if err := val.Decode(fv.Addr().Interface()); err != nil {
				l.Errorf(pos(file, val), "layout-type", "%s: %s", p, yamlErrMsg(err))
			}
		}
	}
}

func (lay *Layout) validate(root *yaml.Node, l *diag.List) {
	at := diag.Pos{File: lay.File, Line: root.Line, Col: root.Column}
	switch lay.Format {
	case "":
		lay.Format = "delimited"
	case "delimited", "fixed":
	default:
		l.Errorf(at, "layout-value", "format: %q (want fixed or delimited)", lay.Format)
	}
	if lay.Encoding == "" {
		lay.Encoding = "windows-1252"
	}
	tf := sdk.TextFormat{Encoding: lay.Encoding, Delimiter: lay.Delimiter, Quote: lay.Quote, Decimal: lay.Decimal}
	if lay.Delimiter == "" {
		lay.Delimiter = ";"
		tf.Delimiter = ";"
	}
	if lay.Decimal == "" {
		lay.Decimal = ","
	}
	if lay.Format == "delimited" && lay.Quote == "" && lay.Quoting == "" {
		lay.Quoting = "never"
	}
	if lay.Quoting == "" {
		lay.Quoting = "needed"
	}
	if lay.Quoting != "needed" && lay.Quoting != "always" && lay.Quoting != "never" {
		l.Errorf(at, "layout-value", "quoting: %q (want needed, always or never)", lay.Quoting)
	}
	if lay.LineEnding == "" {
		lay.LineEnding = "crlf"
	}
	if lay.LineEnding != "crlf" && lay.LineEnding != "lf" {
		l.Errorf(at, "layout-value", "line_ending: %q (want crlf or lf)", lay.LineEnding)
	}
	for _, fe := range tf.Validate() {
		l.Errorf(at, "layout-value", "%s", fe.Error())
	}
	if lay.Record == nil || len(lay.Record.Fields) == 0 {
		l.Errorf(at, "layout-missing", "record: required, with at least one field")
		return
	}
	lay.validatePart("record", lay.Record, l)
	if lay.Header != nil {
		lay.validatePart("header", lay.Header, l)
	}
	if lay.Trailer != nil {
		lay.validatePart("trailer", lay.Trailer, l)
	}
	if lay.Format == "fixed" {
		for _, p := range []struct {
			n string
			p *Part
		}{{"header", lay.Header}, {"record", lay.Record}, {"trailer", lay.Trailer}} {
			if p.p != nil && lay.RecordWidth > 0 && p.p.width != lay.RecordWidth && len(p.p.Fields) > 0 {
				l.Errorf(p.p.Fields[0].pos, "layout-width", "%s: the field widths add up to %d, record_width is %d", p.n, p.p.width, lay.RecordWidth)
			}
		}
	}
	lay.collectSHSums(l)
	if lay.Header != nil && lay.Header.aggr && lay.Format == "delimited" && lay.CaptionLine {
		l.Errorf(lay.Header.Fields[0].pos, "layout-value", "header: caption_line and a header record cannot both be used")
	}
}

// collectSHSums fills lay.shSums. The sum_sh control sum of an amount
// field is kept per amount field, so two aggregates on the same amount with
// different S/H fields cannot both be right: that is a layout error.
func (lay *Layout) collectSHSums(l *diag.List) {
	lay.shSums = nil
	for _, p := range []*Part{lay.Header, lay.Trailer} {
		if p == nil {
			continue
		}
	fields:
		for _, f := range p.Fields {
			if f.agg.kind != "sum_sh" || f.agg.shField < 0 || f.agg.field < 0 {
				continue
			}
			for _, a := range lay.shSums {
				if a.field == f.agg.field {
					if a.shField != f.agg.shField {
						l.Errorf(f.pos, "layout-value", "%s: sum_sh(%s, ...) is already used with the S/H field %s; one amount field has one S/H control sum",
							f.Name, lay.Record.Fields[f.agg.field].Name, lay.Record.Fields[a.shField].Name)
					}
					continue fields
				}
			}
			lay.shSums = append(lay.shSums, f.agg)
		}
	}
}

var aggRe = regexp.MustCompile(`^(count|count_all|run_date|sum|sum_abs|sum_sh)(?:\(\s*([a-z0-9_]+)\s*(?:,\s*([a-z0-9_]+)\s*)?\))?$`)

func (lay *Layout) recordIndex(name string) int {
	for i, f := range lay.Record.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func (lay *Layout) validatePart(part string, p *Part, l *diag.List) {
	seen := map[string]bool{}
	for i, f := range p.Fields {
		path := fmt.Sprintf("%s.fields[%d]", part, i)
		if f.Name == "" {
			l.Errorf(f.pos, "layout-missing", "%s.name: required", path)
		} else if seen[f.Name] {
			l.Errorf(f.pos, "layout-value", "%s.name: duplicate field %q", path, f.Name)
		}
		seen[f.Name] = true
		n := 0
		for _, b := range []bool{f.Source != "", f.hasConst, f.Value != ""} {
			if b {
				n++
			}
		}
		if n > 1 {
			l.Errorf(f.pos, "layout-value", "%s: use only one of source, const and value", path)
		}
		if f.Type == "" {
			f.Type = "string"
		}
		switch f.Type {
		case "string", "int", "amount", "date", "sh":
		default:
			l.Errorf(f.pos, "layout-value", "%s.type: %q (want string, int, amount, date or sh)", path, f.Type)
		}
		if f.Source == "" && !f.hasConst && f.Value == "" {
			f.Source = f.Name
		}
		if f.Value != "" {
			m := aggRe.FindStringSubmatch(f.Value)
			if m == nil {
				l.Errorf(f.pos, "layout-value", "%s.value: %q (want count, count_all, run_date, sum(field), sum_abs(field) or sum_sh(field[, sh_field]))", path, f.Value)
			} else {
				f.agg = aggregate{kind: m[1], field: -1, shField: -1}
				if m[1] != "run_date" {
					p.aggr = true
				}
				if part == "record" && m[1] != "run_date" {
					l.Errorf(f.pos, "layout-value", "%s.value: %s is only allowed in header and trailer", path, m[1])
				}
				if strings.HasPrefix(m[1], "sum") {
					if m[2] == "" {
						l.Errorf(f.pos, "layout-value", "%s.value: %s needs a record field, e.g. %s(betrag)", path, m[1], m[1])
					} else if f.agg.field = lay.recordIndex(m[2]); f.agg.field < 0 || lay.Record.Fields[f.agg.field].Type != "amount" {
						l.Errorf(f.pos, "layout-value", "%s.value: %q is not an amount field of the record", path, m[2])
					}
					if m[3] != "" {
						if f.agg.shField = lay.recordIndex(m[3]); f.agg.shField < 0 {
							l.Errorf(f.pos, "layout-value", "%s.value: %q is not a field of the record", path, m[3])
						}
					}
				}
				if f.Type == "string" {
					switch {
					case strings.HasPrefix(m[1], "sum"):
						f.Type = "amount"
					case strings.HasPrefix(m[1], "count"):
						f.Type = "int"
					case m[1] == "run_date":
						f.Type = "date"
					}
				}
			}
		}
		f.right = f.Type == "int" || f.Type == "amount"
		switch f.Align {
		case "":
		case "left":
			f.right = false
		case "right":
			f.right = true
		default:
			l.Errorf(f.pos, "layout-value", "%s.align: %q (want left or right)", path, f.Align)
		}
		f.pad = ' '
		if f.Pad != "" {
			if utf8.RuneCountInString(f.Pad) != 1 {
				l.Errorf(f.pos, "layout-value", "%s.pad: want exactly one character, got %q", path, f.Pad)
			}
			f.pad, _ = utf8.DecodeRuneInString(f.Pad)
		}
		if lay.Format == "fixed" && f.Width <= 0 {
			l.Errorf(f.pos, "layout-width", "%s.width: required and > 0 for fixed-width layouts", path)
		}
		if f.Width < 0 {
			l.Errorf(f.pos, "layout-width", "%s.width: must not be negative", path)
		}
		p.width += f.Width
		f.decimals = 2
		if f.Decimals != nil {
			f.decimals = *f.Decimals
			if f.decimals < 0 || f.decimals > 6 {
				l.Errorf(f.pos, "layout-value", "%s.decimals: want 0..6, got %d", path, f.decimals)
			}
		}
		switch f.Sign {
		case "", "leading", "trailing", "always", "none":
		default:
			l.Errorf(f.pos, "layout-value", "%s.sign: %q (want leading, trailing, always or none)", path, f.Sign)
		}
		if f.Type == "date" {
			if f.Format == "" {
				f.Format = "TT.MM.JJJJ"
			}
			if _, err := record.ParseDate(record.NewDate(2024, 12, 31).Format(f.Format), f.Format); err != nil && !strings.Contains(f.Format, "TTMM") {
				l.Errorf(f.pos, "layout-value", "%s.format: %q is not a date pattern", path, f.Format)
			}
			f.years = sdk.NewYearWindow(f.Format, 1)
		}
		switch f.NullAs {
		case "", "blank", "zeros":
		default:
			l.Errorf(f.pos, "layout-value", "%s.null_as: %q (want blank or zeros)", path, f.NullAs)
		}
		if numOrDate := f.Type == "int" || f.Type == "amount" || f.Type == "date"; numOrDate && lay.Format == "fixed" {
			f.nullFill = ' '
			if f.NullAs == "zeros" {
				f.nullFill = '0'
			}
		} else if f.NullAs != "" {
			l.Errorf(f.pos, "layout-value", "%s.null_as: only int, amount and date fields of a fixed-width layout have it (text and delimited fields write null as nothing)", path)
		}
		if f.Type == "sh" {
			if f.Debit == "" {
				f.Debit = "S"
			}
			if f.Credit == "" {
				f.Credit = "H"
			}
			if f.Source != "" && f.Source != f.Name && !f.hasConst {
				// ok: sign of the source amount
			}
		}
		if f.hasConst && lay.Format == "fixed" && utf8.RuneCountInString(f.Const) > f.Width && f.Width > 0 {
			l.Errorf(f.pos, "layout-width", "%s.const: %q is longer than width %d", path, f.Const, f.Width)
		}
	}
}

// Newline returns the line ending bytes.
func (lay *Layout) Newline() string {
	if lay.LineEnding == "lf" {
		return "\n"
	}
	return "\r\n"
}

var _ = bytes.Equal
