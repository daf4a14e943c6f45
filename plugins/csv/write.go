package csv

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// WriteConfig is the configuration of csv.write. See writeSpec for the
// documentation of every key and its default.
type WriteConfig struct {
	sdk.TextFormat `yaml:",inline"`
	// Header writes the column names as the first line. Default true.
	Header bool `yaml:"header"`
	// Columns selects, orders and formats the output columns; empty: all
	// fields of the first record's schema in order.
	Columns []WriteColumn `yaml:"columns"`
	// QuoteAll quotes every non-null value. Default false: quote only
	// when needed.
	QuoteAll bool `yaml:"quote_all"`
	// DecimalScale is the number of digits after the decimal separator of
	// decimal values (rounded half away from zero); -1 (default) keeps each
	// value's own scale.
	DecimalScale int `yaml:"decimal_scale"`
	// Thousands is written between groups of three digits of decimal
	// values: "." (1.234,50), ",", " " or "'". Default "": none. Int values
	// are grouped only in columns that set it. It must differ from Decimal,
	// Delimiter and Quote.
	Thousands string `yaml:"thousands"`
	// EscapeFormulas prefixes text values starting with =, +, -, @, tab
	// or CR with a single quote, so a spreadsheet opening the file shows
	// them as text instead of running them as formulas (CSV injection).
	// Default false: values are written exactly as they are.
	EscapeFormulas bool `yaml:"escape_formulas"`
}

// WriteColumn is one output column of csv.write.
type WriteColumn struct {
	Name   string `yaml:"name"`   // header text (required)
	From   string `yaml:"from"`   // record field; default Name
	Format string `yaml:"format"` // date/datetime pattern; default date_format / RFC 3339
	Scale  *int   `yaml:"scale"`  // decimal digits; default decimal_scale
	// Thousands overrides the thousands separator for this column and
	// applies to its int values too; "" : none; nil (default): thousands
	// for decimal values only.
	Thousands *string `yaml:"thousands"`
}

func writeSpec() sdk.Spec {
	return sdk.Spec{Fields: append(sdk.TextFormatFields(sdk.StandardText),
		sdk.Field{Name: "header", Type: sdk.TypeBool, Default: true,
			Description: "Whether the first line holds the column names.", Example: false},
		sdk.Field{Name: "columns", Type: sdk.TypeList,
			Description: "Output columns in order; without it all fields of the first record are written in schema order.",
			Example:     []any{map[string]any{"name": "Betrag", "from": "amount", "scale": 2}},
			Children: []sdk.Field{
				{Name: "name", Type: sdk.TypeString, Required: true, Pattern: `.+`,
					Description: "Column name written in the header.", Example: "Betrag"},
				{Name: "from", Type: sdk.TypeString,
					Description: "Record field the value comes from; defaults to the column name; a field the records lack is an error.", Example: "amount"},
				{Name: "format", Type: sdk.TypeString,
					Description: "Pattern for date and datetime values of this column, overriding date_format (datetimes default to RFC 3339).", Example: "DDMMYYYY"},
				{Name: "scale", Type: sdk.TypeInt, Min: sdk.Int64(-1), Max: sdk.Int64(19),
					Description: "Digits after the decimal separator for decimal values of this column (rounded half away from zero); -1 keeps the value's scale; defaults to decimal_scale.", Example: 2},
				{Name: "thousands", Type: sdk.TypeEnum, Enum: thousandsSeps,
					Description: "Thousands separator for this column's decimal and int values (empty for none), overriding thousands, which groups decimal values only; ints such as IDs stay ungrouped unless their column sets it.", Example: "."},
			}},
		sdk.Field{Name: "quote_all", Type: sdk.TypeBool, Default: false,
			Description: "Whether every non-null value is quoted; otherwise only values containing the delimiter, the quote, a line break or leading or trailing blanks are.", Example: true},
		sdk.Field{Name: "decimal_scale", Type: sdk.TypeInt, Default: -1, Min: sdk.Int64(-1), Max: sdk.Int64(19),
			Description: "Digits after the decimal separator for decimal values (rounded half away from zero); -1 keeps each value's own scale.", Example: 2},
		sdk.Field{Name: "thousands", Type: sdk.TypeEnum, Enum: thousandsSeps, Default: "",
			Description: "Thousands separator written between groups of three digits of decimal values, as in 1.234.567,89; empty for none. " +
				"Int values are grouped only in columns that set thousands themselves. It must differ from decimal, delimiter and quote.",
			Example: "."},
		sdk.Field{Name: "escape_formulas", Type: sdk.TypeBool, Default: false,
			Description: "Whether text values starting with =, +, -, @, a tab or a carriage return get a leading single quote ('=SUM(A1)), " +
				"so a spreadsheet opening the file shows them as text instead of running a formula (CSV injection); " +
				"int, decimal and date values are never changed. Leave it off for files another program imports: it changes the data.",
			Example: true},
	)}
}

func writeComponent() sdk.Component {
	return sdk.Component{
		Name:    "write",
		Kind:    sdk.KindSink,
		IO:      sdk.IOFile,
		Summary: "Writes records as delimited text (CSV, semicolon-separated German formats).",
		Description: "Writes one line per record with the shared text options (encoding, delimiter, quote, decimal " +
			"separator, date format, line ending) and optional thousands separators in amounts. Values are quoted only when needed unless quote_all is set; " +
			"nulls are written as empty fields.\n\n" +
			"A value the target encoding cannot represent (e.g. \"Ł\" in windows-1252) rejects its record with the " +
			"field name; nothing is replaced silently. A value that needs quoting while quote is empty is rejected too.",
		Spec: writeSpec(),
		Examples: []string{`type: csv.write
path: out/lastschriften_{date}.csv
encoding: windows-1252
delimiter: ";"
decimal: ","
date_format: DD.MM.YYYY
line_ending: crlf
columns:
  - {name: Abo-Nr, from: abo_id}
  - {name: Betrag, from: amount, scale: 2}
  - {name: Fällig, from: due}`},
		NewEncoder: newEncoder,
	}
}

// wcol is a resolved output column.
type wcol struct {
	name, from string
	scale      int
	datePat    *datePattern
	dateLayout string         // for patterns datePattern cannot handle
	timeLayout string         // Go layout for datetimes
	dateYears  sdk.YearWindow // years the date pattern holds
	timeYears  sdk.YearWindow // years timeLayout holds
	thouDec    byte           // thousands separator for decimals, 0: none
	thouInt    byte           // thousands separator for ints, 0: none
}

type encoder struct {
	cfg     WriteConfig
	cols    []wcol // declared columns, nil: from the first record
	step    string
	quote   byte
	hasQ    bool
	delim   string
	newline string
	special [256]bool // bytes that force quoting
	ascii   bool      // delimiter and quote are ASCII
	thou    byte      // thousands separator for decimals, 0: none
}

func parseWriteConfig(cfg sdk.Config) (*encoder, error) {
	var c WriteConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	es := c.TextFormat.Validate()
	if c.DecimalScale < -1 || c.DecimalScale > 19 {
		es.Add("decimal_scale", "must be between -1 and 19, got %d", c.DecimalScale)
	}
	e := &encoder{cfg: c, delim: c.Delimiter, newline: c.Newline()}
	e.thou = checkThousands(c.Thousands, c.TextFormat, &es)
	if e.delim == "" {
		e.delim = ","
	}
	if c.Quote != "" {
		if len(c.Quote) != 1 {
			es.Add("quote", "must be an ASCII character for writing, got %q", c.Quote)
		} else {
			e.quote, e.hasQ = c.Quote[0], true
			e.special[e.quote] = true
		}
	}
	if c.QuoteAll && !e.hasQ {
		es.Add("quote_all", "needs a quote character, but quote is empty")
	}
	if len(e.delim) == 1 {
		e.special[e.delim[0]] = true
	}
	e.special['\r'], e.special['\n'] = true, true
	seen := map[string]int{}
	for i, col := range c.Columns {
		path := fmt.Sprintf("columns[%d]", i)
		if col.Name == "" {
			es.Add(path+".name", "is required")
		} else if j, dup := seen[col.Name]; dup {
			es.Add(path+".name", "duplicate column %q (also columns[%d])", col.Name, j)
		}
		seen[col.Name] = i
		w := e.newCol(col.Name, col.From, col.Format)
		if col.Scale != nil {
			if *col.Scale < -1 || *col.Scale > 19 {
				es.Add(path+".scale", "must be between -1 and 19, got %d", *col.Scale)
			}
			w.scale = *col.Scale
		}
		if col.Thousands != nil {
			var ces sdk.FieldErrors
			t := checkThousands(*col.Thousands, c.TextFormat, &ces)
			for _, fe := range ces {
				es.Add(path+"."+fe.Path, "%s", fe.Message)
			}
			w.thouDec, w.thouInt = t, t
		}
		e.cols = append(e.cols, w)
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *encoder) newCol(name, from, format string) wcol {
	if from == "" {
		from = name
	}
	w := wcol{name: name, from: from, scale: e.cfg.DecimalScale, thouDec: e.thou}
	df := format
	if df == "" {
		df = e.cfg.DateFormat
	}
	if df == "" {
		df = "YYYY-MM-DD"
	}
	w.datePat = compileDate(df)
	w.dateLayout = df
	w.timeLayout = time.RFC3339
	if format != "" {
		w.timeLayout = record.GoLayout(format)
	}
	w.dateYears, w.timeYears = sdk.NewYearWindow(df, 0), sdk.NewYearWindow(w.timeLayout, 0)
	return w
}

func newEncoder(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Encoder, error) {
	e, err := parseWriteConfig(cfg)
	if err != nil {
		return nil, err
	}
	e.step = env.Step
	if e.step == "" {
		e.step = "csv.write"
	}
	return e, nil
}

// Create implements sdk.Encoder.
func (e *encoder) Create(_ context.Context, out sdk.Output) (sdk.Sink, error) {
	tw, err := sdk.NewTextWriter(out.W, e.cfg.Encoding)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", out.Name, err)
	}
	cm, err := sdk.Charmap(e.cfg.Encoding)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", out.Name, err)
	}
	return &sink{enc: e, w: tw, name: out.Name, cols: e.cols, single: cm != nil,
		buf: make([]byte, 0, 64<<10)}, nil
}

type sink struct {
	enc        *encoder
	w          io.WriteCloser
	name       string
	cols       []wcol
	single     bool // single-byte target encoding: check encodability
	buf        []byte
	headerDone bool
	schema     *record.Schema // schema idx was resolved for
	idx        []int
}

// flushAt is the buffered size at which the sink writes to the output.
const flushAt = 48 << 10

// Write implements sdk.Sink.
func (s *sink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	var rejects []record.Reject
	for _, r := range b.Records {
		if r.Schema != s.schema {
			if err := s.resolve(r.Schema); err != nil {
				return rejects, err
			}
		}
		if !s.headerDone {
			if err := s.writeHeader(); err != nil {
				return rejects, err
			}
		}
		mark := len(s.buf)
		field, reason := s.appendRecord(r)
		if reason != "" {
			s.buf = s.buf[:mark]
			rejects = append(rejects, record.Reject{Record: r, Step: s.enc.step, Field: field, Reason: reason})
			continue
		}
		if len(s.buf) >= flushAt {
			if err := s.flush(); err != nil {
				return rejects, err
			}
		}
	}
	return rejects, nil
}

// RetainsRecords implements sdk.RecordRetainer: Write copies what it
// needs into its buffer and keeps no record.
func (s *sink) RetainsRecords() bool { return false }

// resolve maps the output columns to the positions of a record schema.
// Without declared columns the first schema defines them.
func (s *sink) resolve(sch *record.Schema) error {
	if s.cols == nil {
		for _, f := range sch.Fields() {
			s.cols = append(s.cols, s.enc.newCol(f.Name, "", ""))
		}
		if s.cols == nil {
			s.cols = []wcol{}
		}
	}
	s.schema = sch
	s.idx = s.idx[:0]
	for i, c := range s.cols {
		k := sch.Index(c.from)
		if k < 0 {
			msg := fmt.Sprintf("%s: column %q: the records have no field %q", s.name, c.name, c.from)
			if sug := diag.Suggest(c.from, sch.Names()); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			if s.enc.cols != nil {
				return sdk.FieldError{Path: fmt.Sprintf("columns[%d].from", i), Message: msg}
			}
			return fmt.Errorf("%s; fields: %s", msg, strings.Join(sch.Names(), ", "))
		}
		s.idx = append(s.idx, k)
	}
	return nil
}

func (s *sink) writeHeader() error {
	s.headerDone = true
	if !s.enc.cfg.Header || len(s.cols) == 0 {
		return nil
	}
	for i, c := range s.cols {
		if i > 0 {
			s.buf = append(s.buf, s.enc.delim...)
		}
		name := c.name
		if s.single {
			name = sdk.NFC(name)
			if err := sdk.CheckEncodable(name, s.enc.cfg.Encoding); err != nil {
				return fmt.Errorf("%s: header column %q: %w", s.name, c.name, err)
			}
		}
		var ok bool
		if s.buf, ok = s.appendText(s.buf, name, s.enc.cfg.QuoteAll); !ok {
			return fmt.Errorf("%s: header column %q needs quoting but quote is empty", s.name, c.name)
		}
	}
	s.buf = append(s.buf, s.enc.newline...)
	return nil
}

// appendRecord appends one line; on a value that cannot be written it
// returns the field and the reason.
func (s *sink) appendRecord(r record.Record) (string, string) {
	e := s.enc
	for i := range s.cols {
		c := &s.cols[i]
		if i > 0 {
			s.buf = append(s.buf, e.delim...)
		}
		var v record.Value
		if k := s.idx[i]; k < len(r.Values) {
			v = r.Values[k]
		}
		switch v.Kind() {
		case record.KindNull:
		case record.KindString, record.KindList, record.KindMap:
			txt := v.Str()
			if v.Kind() != record.KindString {
				txt = v.String()
			}
			if high, nul := scanText(txt); nul || high {
				if nul {
					return c.from, fmt.Sprintf("NUL byte at character %d", utf8.RuneCountInString(txt[:strings.IndexByte(txt, 0)])+1)
				}
				if !utf8.ValidString(txt) {
					return c.from, fmt.Sprintf("invalid UTF-8 at character %d", invalidAt(txt))
				}
				if s.single {
					txt = sdk.NFC(txt)
					if err := sdk.CheckEncodable(txt, e.cfg.Encoding); err != nil {
						return c.from, err.Error()
					}
				}
			}
			if e.cfg.EscapeFormulas && txt != "" && formulaStart[txt[0]] {
				txt = "'" + txt
			}
			var ok bool
			if s.buf, ok = s.appendText(s.buf, txt, e.cfg.QuoteAll); !ok {
				return c.from, "value contains the delimiter, a quote or a line break, but quote is empty"
			}
		default:
			if k := v.Kind(); k == record.KindDate || k == record.KindDateTime {
				years := c.dateYears
				if k == record.KindDateTime {
					years = c.timeYears
				}
				if reason := years.Check(v.Date()); reason != "" {
					return c.from, reason
				}
			}
			if e.cfg.QuoteAll && e.hasQ {
				s.buf = append(s.buf, e.quote)
			}
			s.buf = s.appendScalar(s.buf, v, c)
			if e.cfg.QuoteAll && e.hasQ {
				s.buf = append(s.buf, e.quote)
			}
		}
	}
	s.buf = append(s.buf, e.newline...)
	return "", ""
}

func (s *sink) appendScalar(b []byte, v record.Value, c *wcol) []byte {
	e := s.enc
	switch v.Kind() {
	case record.KindInt:
		if c.thouInt != 0 {
			return appendGrouped(strconv.AppendInt(b, v.Int(), 10), len(b), c.thouInt)
		}
		return strconv.AppendInt(b, v.Int(), 10)
	case record.KindDecimal:
		d := v.Decimal()
		if c.scale >= 0 {
			d = d.Round(c.scale)
		}
		start := len(b)
		b = d.AppendText(b)
		if sep := e.cfg.DecimalByte(); sep != '.' {
			for i := start; i < len(b); i++ {
				if b[i] == '.' {
					b[i] = sep
				}
			}
		}
		if c.thouDec != 0 {
			b = appendGrouped(b, start, c.thouDec)
		}
		return b
	case record.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case record.KindDate:
		if c.datePat != nil {
			return c.datePat.appendDate(b, v.Date())
		}
		return append(b, v.Date().Format(c.dateLayout)...)
	case record.KindDateTime:
		return v.Time().AppendFormat(b, c.timeLayout)
	}
	return append(b, v.String()...)
}

// appendText appends txt, quoted when needed (or always when all is set).
// ok is false when quoting is needed but disabled.
func (s *sink) appendText(b []byte, txt string, all bool) ([]byte, bool) {
	e := s.enc
	need := false
	if txt != "" {
		if txt[0] == ' ' || txt[0] == '\t' || txt[len(txt)-1] == ' ' || txt[len(txt)-1] == '\t' ||
			strings.HasPrefix(txt, "\uFEFF") { // unquoted at a line start it would read as a concatenated file's BOM
			need = true
		} else {
			for i := 0; i < len(txt); i++ {
				if e.special[txt[i]] {
					need = true
					break
				}
			}
			if !need && len(e.delim) > 1 && strings.Contains(txt, e.delim) {
				need = true
			}
		}
	}
	if !e.hasQ {
		if need && (strings.ContainsAny(txt, "\r\n") || strings.Contains(txt, e.delim)) {
			return b, false
		}
		return append(b, txt...), true // at most blanks around: fine unquoted
	}
	if !need && !all {
		return append(b, txt...), true
	}
	b = append(b, e.quote)
	for {
		i := strings.IndexByte(txt, e.quote)
		if i < 0 {
			break
		}
		b = append(b, txt[:i+1]...)
		b = append(b, e.quote)
		txt = txt[i+1:]
	}
	b = append(b, txt...)
	return append(b, e.quote), true
}

// scanText reports whether s has non-ASCII bytes and whether it has a NUL
// byte (which csv.read rejects, so the writer does too).
func scanText(s string) (high, nul bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			high = true
		case c == 0:
			return high, true
		}
	}
	return high, false
}

// invalidAt returns the 1-based character position of the first invalid
// UTF-8 byte of s.
func invalidAt(s string) int {
	n := 1
	for i := 0; i < len(s); n++ {
		r, sz := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && sz == 1 {
			return n
		}
		i += sz
	}
	return n
}

// formulaStart are the first bytes a spreadsheet reads as a formula
// (OWASP "CSV Injection").
var formulaStart = [256]bool{'=': true, '+': true, '-': true, '@': true, '\t': true, '\r': true}

func (s *sink) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.name, err)
	}
	return nil
}

// Close implements sdk.Sink: it writes the header of an empty output
// (when columns are declared), flushes and finishes the encoding.
func (s *sink) Close(context.Context) error {
	if !s.headerDone && s.cols != nil {
		if err := s.writeHeader(); err != nil {
			return err
		}
	}
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", s.name, err)
	}
	return nil
}
