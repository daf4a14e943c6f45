package layout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// WriteConfig is the configuration of layout.write.
type WriteConfig struct {
	Layout string `yaml:"layout"`
}

var writeSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "layout", Type: sdk.TypeString, Required: true,
		Description: "Path of the layout YAML file, relative to the pipeline file's directory.", Example: "layouts/sollstellung-fixed.yaml"},
}}

// Write returns the layout.write sink component.
func Write() sdk.Component {
	return sdk.Component{
		Name: "write", Kind: sdk.KindSink, IO: sdk.IOFile,
		Summary: "Writes records as a delimited or fixed-width file described by a layout YAML file.",
		Description: "Writes the records in the layout's record format, with optional Vorsatz (header) and Nachsatz (trailer) " +
			"records carrying the record count and control sums. A value that does not fit its field (too long, too many " +
			"decimals, not representable in the encoding, a control character or line break, a year the date pattern cannot hold, " +
			"a delimiter inside an unquoted field) rejects the record naming the field; nothing is cut unless the field says " +
			"truncate: true, and nothing is rounded. Text for single-byte encodings is normalised to Unicode NFC first. " +
			"A null in a fixed-width int, amount or date field is written as spaces, so it reads back as null; a field with " +
			"null_as: zeros in the layout writes zeros instead (they read back as 0).",
		Spec:       writeSpec,
		Examples:   []string{"type: layout.write\npath: out/sollstellung.txt\nlayout: layouts/sollstellung-fixed.yaml\n"},
		NewEncoder: newEncoder,
	}
}

func loadFromConfig(c sdk.Config, env sdk.Env) (*Layout, error) {
	var cfg WriteConfig
	if err := c.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Layout == "" {
		return nil, sdk.FieldError{Path: "layout", Message: "required"}
	}
	lay, err := Load(Resolve(env.Dir, cfg.Layout))
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", cfg.Layout, err)
	}
	return lay, nil
}

type encoder struct {
	lay *Layout
	env sdk.Env
}

func newEncoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Encoder, error) {
	lay, err := loadFromConfig(c, env)
	if err != nil {
		return nil, err
	}
	return NewEncoder(lay, env), nil
}

// NewEncoder returns an encoder for a loaded layout (for tests and other plugins).
func NewEncoder(lay *Layout, env sdk.Env) sdk.Encoder { return &encoder{lay: lay, env: env} }

// Create implements sdk.Encoder.
func (e *encoder) Create(_ context.Context, out sdk.Output) (sdk.Sink, error) {
	cm, err := sdk.Charmap(e.lay.Encoding)
	if err != nil {
		return nil, err
	}
	s := &sink{lay: e.lay, env: e.env, out: out, nl: e.lay.Newline(), single: cm != nil}
	n := len(e.lay.Record.Fields)
	s.sum, s.sumAbs, s.sumSH = make([]record.Decimal, n), make([]record.Decimal, n), make([]record.Decimal, n)
	s.vals = make([]string, n)
	s.decs = make([]record.Decimal, n)
	if e.lay.Header != nil && e.lay.Header.aggr {
		if out.Temp == nil {
			return nil, fmt.Errorf("%s: the layout's header needs counts or sums but no temporary file is available", out.Name)
		}
		tf, err := out.Temp()
		if err != nil {
			return nil, err
		}
		s.temp = tf
	}
	enc, err := sdk.NewTextWriter(out.W, e.lay.Encoding)
	if err != nil {
		return nil, err
	}
	s.final = enc
	if s.temp != nil {
		s.w = bufio.NewWriterSize(s.temp, 64*1024) // UTF-8 in the temp file
	} else {
		s.w = bufio.NewWriterSize(enc, 64*1024)
	}
	if e.lay.Format == "delimited" && e.lay.CaptionLine {
		names := make([]string, n)
		for i, f := range e.lay.Record.Fields {
			names[i] = e.lay.quote(f.Name)
		}
		s.w.WriteString(strings.Join(names, e.lay.Delimiter) + s.nl)
	}
	if e.lay.Header != nil && !e.lay.Header.aggr {
		line, f, reason := s.aggLine(e.lay.Header)
		if reason != "" {
			return nil, fmt.Errorf("%s: header field %s: %s", out.Name, f, reason)
		}
		s.w.WriteString(line)
	}
	return s, nil
}

type sink struct {
	lay    *Layout
	env    sdk.Env
	out    sdk.Output
	nl     string
	w      *bufio.Writer
	final  io.WriteCloser
	temp   sdk.TempFile
	count  int64
	sum    []record.Decimal
	sumAbs []record.Decimal
	sumSH  []record.Decimal
	vals   []string
	decs   []record.Decimal
	line   strings.Builder
	single bool             // single-byte encoding: text is normalised to NFC
	sums   []record.Decimal // scratch for the sums of the current record
}

func (lay *Layout) quote(s string) string {
	if lay.Format != "delimited" || lay.Quote == "" {
		return s
	}
	q := lay.Quote
	if lay.Quoting == "always" || (lay.Quoting == "needed" && (strings.Contains(s, lay.Delimiter) || strings.Contains(s, q) || strings.ContainsAny(s, "\r\n"))) {
		return q + strings.ReplaceAll(s, q, q+q) + q
	}
	return s
}

// Write implements sdk.Sink.
func (s *sink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	var rejects []record.Reject
	for _, r := range b.Records {
		if field, reason := s.record(r); reason != "" {
			rejects = append(rejects, record.Reject{Record: r, Step: s.env.Step, Field: field, Reason: reason})
			continue
		}
		if field, reason := s.addSums(); reason != "" {
			rejects = append(rejects, record.Reject{Record: r, Step: s.env.Step, Field: field, Reason: reason})
			continue
		}
		if _, err := s.w.WriteString(s.line.String()); err != nil {
			return rejects, err
		}
		s.count++
	}
	return rejects, nil
}

// addSums adds the current record's amounts to the control sums. A sum
// that would exceed what a decimal holds exactly rejects the record (the
// sums stay as they were), so a trailer never carries a rounded sum.
func (s *sink) addSums() (string, string) {
	n := len(s.sum)
	if s.sums == nil {
		s.sums = make([]record.Decimal, 3*n)
	}
	next := s.sums
	copy(next, s.sum)
	copy(next[n:], s.sumAbs)
	copy(next[2*n:], s.sumSH)
	overflow := func(name string) (string, string) {
		return name, "the control sum would exceed the 19 digits a decimal holds exactly"
	}
	var err error
	for i, f := range s.lay.Record.Fields {
		if f.Type != "amount" {
			continue
		}
		d := s.decs[i]
		if next[i], err = next[i].Add(d); err != nil {
			return overflow(f.Name)
		}
		if next[n+i], err = next[n+i].Add(d.Abs()); err != nil {
			return overflow(f.Name)
		}
	}
	for _, a := range s.lay.shSums { // once per record, however many fields show it
		d := s.decs[a.field].Abs()
		sh := s.lay.Record.Fields[a.shField]
		if strings.TrimSpace(s.vals[a.shField]) == sh.Credit {
			d = d.Neg()
		}
		k := 2*n + a.field
		if next[k], err = next[k].Add(d); err != nil {
			return overflow(s.lay.Record.Fields[a.field].Name)
		}
	}
	copy(s.sum, next)
	copy(s.sumAbs, next[n:])
	copy(s.sumSH, next[2*n:])
	return "", ""
}

// record formats r into s.line; it returns the field and reason of the first invalid value.
func (s *sink) record(r record.Record) (string, string) {
	lay := s.lay
	s.line.Reset()
	for i, f := range lay.Record.Fields {
		var v record.Value
		switch {
		case f.hasConst:
			v = record.String(f.Const)
		case f.agg.kind == "run_date":
			v = record.DateValue(record.DateOf(s.env.Now))
		default:
			var ok bool
			if v, ok = r.Get(f.Source); !ok && f.Required {
				return f.Name, fmt.Sprintf("required, but the record has no field %q", f.Source)
			}
		}
		txt, reason := lay.formatValue(f, v)
		if reason != "" {
			return f.Name, reason
		}
		if s.single {
			txt = sdk.NFC(txt)
		}
		if f.Type == "amount" {
			s.decs[i], _ = decimalOf(v, lay.Decimal[0])
			if v.IsNull() {
				s.decs[i] = record.Decimal{}
			}
		}
		if reason := s.checkText(f, txt); reason != "" {
			return f.Name, reason
		}
		txt, reason = lay.fit(f, txt)
		if reason != "" {
			return f.Name, reason
		}
		s.vals[i] = txt
		if i > 0 && lay.Format == "delimited" {
			s.line.WriteString(lay.Delimiter)
		}
		s.line.WriteString(lay.quote(txt))
	}
	s.line.WriteString(s.nl)
	return "", ""
}

func (s *sink) checkText(f *Field, txt string) string {
	if err := sdk.CheckEncodable(txt, s.lay.Encoding); err != nil {
		return err.Error()
	}
	for i, r := range txt {
		switch {
		case r == '\r' || r == '\n':
			return fmt.Sprintf("line break at character %d: a layout file has one record per line, so values cannot hold line breaks", utf8.RuneCountInString(txt[:i])+1)
		case r < 0x20 && r != '\t' || r == 0x7f:
			return fmt.Sprintf("control character %U at character %d", r, utf8.RuneCountInString(txt[:i])+1)
		case r == utf8.RuneError && !s.single:
			if _, sz := utf8.DecodeRuneInString(txt[i:]); sz == 1 {
				return fmt.Sprintf("invalid UTF-8 at character %d", utf8.RuneCountInString(txt[:i])+1)
			}
		}
	}
	if s.lay.Format != "delimited" {
		return ""
	}
	if (s.lay.Quoting == "never" || s.lay.Quote == "") && strings.Contains(txt, s.lay.Delimiter) {
		return fmt.Sprintf("value %q contains the delimiter %q and the layout does not quote", txt, s.lay.Delimiter)
	}
	if s.lay.Quoting == "never" && s.lay.Quote != "" && strings.HasPrefix(txt, s.lay.Quote) {
		return fmt.Sprintf("value %q starts with the quote character %q and the layout does not quote (quoting: never), so it would read back as a quoted field", txt, s.lay.Quote)
	}
	return ""
}

// aggLine formats a header or trailer record.
func (s *sink) aggLine(p *Part) (string, string, string) {
	lay := s.lay
	var b strings.Builder
	lines := s.count
	if lay.Header != nil {
		lines++
	}
	if lay.Trailer != nil {
		lines++
	}
	for i, f := range p.Fields {
		var v record.Value
		switch {
		case f.hasConst:
			v = record.String(f.Const)
		case f.agg.kind == "count":
			v = record.Int(s.count)
		case f.agg.kind == "count_all":
			v = record.Int(lines)
		case f.agg.kind == "sum":
			v = record.Dec(s.sum[f.agg.field])
		case f.agg.kind == "sum_abs":
			v = record.Dec(s.sumAbs[f.agg.field])
		case f.agg.kind == "sum_sh":
			if f.agg.shField >= 0 {
				v = record.Dec(s.sumSH[f.agg.field])
			} else {
				v = record.Dec(s.sum[f.agg.field])
			}
		case f.agg.kind == "run_date":
			v = record.DateValue(record.DateOf(s.env.Now))
		default:
			v = record.Null // header/trailer fields from record data are not available
		}
		txt, reason := lay.formatValue(f, v)
		if s.single {
			txt = sdk.NFC(txt)
		}
		if reason == "" {
			reason = s.checkText(f, txt)
		}
		if reason == "" {
			txt, reason = lay.fit(f, txt)
		}
		if reason != "" {
			return "", f.Name, reason
		}
		if i > 0 && lay.Format == "delimited" {
			b.WriteString(lay.Delimiter)
		}
		b.WriteString(lay.quote(txt))
	}
	b.WriteString(s.nl)
	return b.String(), "", ""
}

// Close implements sdk.Sink: writes the trailer (and the header when it needs totals).
func (s *sink) Close(context.Context) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(s.final, 64*1024)
	if s.temp != nil {
		line, f, reason := s.aggLine(s.lay.Header)
		if reason != "" {
			return fmt.Errorf("%s: header field %s: %s", s.out.Name, f, reason)
		}
		w.WriteString(line)
		if _, err := s.temp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(w, s.temp); err != nil {
			return fmt.Errorf("%s: %w", s.out.Name, err)
		}
	}
	if s.lay.Trailer != nil {
		line, f, reason := s.aggLine(s.lay.Trailer)
		if reason != "" {
			return fmt.Errorf("%s: trailer field %s: %s", s.out.Name, f, reason)
		}
		w.WriteString(line)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return s.final.Close()
}
