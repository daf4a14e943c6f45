package layout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Read returns the layout.read source component.
func Read() sdk.Component {
	return sdk.Component{
		Name: "read", Kind: sdk.KindSource, IO: sdk.IOFile,
		Summary: "Reads a delimited or fixed-width file described by a layout YAML file.",
		Description: "Reads files written with layout.write (round trips, tests, return files). Header and trailer records are " +
			"checked: constants must match and the trailer's count and control sums must equal what was read, otherwise the " +
			"file fails with the trailer's position. Fields with const values are checked and not emitted; an sh field " +
			"turns its amount negative for the credit indicator. A blank int, amount or date field reads as null, an " +
			"all-zero int or amount as 0 and an all-zero date as null.",
		Spec:       writeSpec,
		Examples:   []string{"type: layout.read\npath: in/sollstellung.txt\nlayout: layouts/sollstellung-fixed.yaml\n"},
		NewDecoder: newDecoder,
	}
}

type decoder struct {
	lay *Layout
	env sdk.Env
}

func newDecoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Decoder, error) {
	lay, err := loadFromConfig(c, env)
	if err != nil {
		return nil, err
	}
	return NewDecoder(lay, env), nil
}

// NewDecoder returns a decoder for a loaded layout.
func NewDecoder(lay *Layout, env sdk.Env) sdk.Decoder { return &decoder{lay: lay, env: env} }

// ErrControl is wrapped by errors for header/trailer records that do not match the data,
// including a trailer control sum that cannot be checked because the records' sum does not
// fit in the 19 digits a decimal holds exactly.
var ErrControl = errors.New("control record mismatch")

// Open implements sdk.Decoder.
func (d *decoder) Open(_ context.Context, in sdk.Input) (sdk.Source, error) {
	raw := bufio.NewReaderSize(in.R, 64*1024)
	single := !strings.HasPrefix(strings.ToLower(d.lay.Encoding), "utf")
	if b, _ := raw.Peek(3); single && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		return nil, fmt.Errorf("%s:1:1: file starts with a UTF-8 byte order mark but the layout's encoding is %s (the file is UTF-8)", in.Name, d.lay.Encoding)
	}
	r, err := sdk.NewTextReader(raw, d.lay.Encoding)
	if err != nil {
		return nil, err
	}
	s := &source{lay: d.lay, name: in.Name, br: bufio.NewReaderSize(r, 64*1024), batch: d.env.BatchSize, env: d.env, single: single}
	if s.batch <= 0 {
		s.batch = 1000
	}
	var fields []record.Field
	for i, f := range d.lay.Record.Fields {
		if f.hasConst || f.Type == "sh" || f.agg.kind != "" {
			continue
		}
		k := record.KindString
		switch f.Type {
		case "int":
			k = record.KindInt
		case "amount":
			k = record.KindDecimal
		case "date":
			k = record.KindDate
		}
		fields = append(fields, record.Field{Name: f.Source, Kind: k})
		s.emit = append(s.emit, i)
	}
	if s.schema, err = record.NewSchema(fields...); err != nil {
		return nil, fmt.Errorf("layout %s: %w", d.lay.File, err)
	}
	rawNames := make([]string, len(d.lay.Record.Fields))
	for i, f := range d.lay.Record.Fields {
		rawNames[i] = f.Name
	}
	if s.rawSchema, err = record.StringSchema(rawNames...); err != nil {
		return nil, fmt.Errorf("layout %s: %w", d.lay.File, err)
	}
	n := len(d.lay.Record.Fields)
	s.sum, s.sumAbs, s.sumSH = make([]record.Decimal, n), make([]record.Decimal, n), make([]record.Decimal, n)
	s.sumOver, s.sumAbsOver, s.sumSHOver = make([]bool, n), make([]bool, n), make([]bool, n)
	// Prime the one-line look-ahead so the last line can be recognised as the trailer.
	s.next, s.nextErr = s.readLine()
	if d.lay.Format == "delimited" && d.lay.CaptionLine {
		line, lno, err := s.advance()
		if err != nil {
			return nil, s.errAt(1, 1, "missing caption line: %v", err)
		}
		if err := s.checkCaption(line, lno); err != nil {
			return nil, err
		}
	}
	if d.lay.Header != nil {
		line, lno, err := s.advance()
		if err != nil {
			return nil, s.errAt(1, 1, "missing header record: %v", err)
		}
		if err := s.checkControl(d.lay.Header, line, lno, false); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type source struct {
	lay       *Layout
	rawSchema *record.Schema // every record field as text (rejects keep the line's data)
	single    bool           // single-byte encoding: U+FFFD means an undefined byte
	rejected  int64
	blanks    int    // blank lines held back (see readLine)
	blankNo   int    // line number of the next held blank line
	held      string // the non-blank line after held blank lines
	heldNo    int
	hasHeld   bool
	env       sdk.Env
	name      string
	br        *bufio.Reader
	schema    *record.Schema
	emit      []int
	batch     int
	lineNo    int
	next      string
	nextErr   error
	nextNo    int
	count     int64
	sum       []record.Decimal
	sumAbs    []record.Decimal
	sumSH     []record.Decimal
	// sumOver, sumAbsOver and sumSHOver mark a control sum that exceeded
	// the 19 digits a decimal holds exactly; the trailer then reports the
	// overflow instead of comparing with a sum that lost the records.
	sumOver    []bool
	sumAbsOver []bool
	sumSHOver  []bool
	cells      []string
	cols       []int
}

func (s *source) errAt(line, col int, format string, args ...any) error {
	return fmt.Errorf("%s:%d:%d: %s", s.name, line, col, fmt.Sprintf(format, args...))
}

// readLine returns the next line. Blank lines at the end of the file are
// dropped (an editor's extra line end after the trailer is harmless), so
// the trailer is the last line with text; blank lines before more text
// are returned (and rejected as records).
func (s *source) readLine() (string, error) {
	if s.blanks > 0 {
		s.blanks--
		s.nextNo = s.blankNo
		s.blankNo++
		return "", nil
	}
	if s.hasHeld {
		s.hasHeld = false
		s.nextNo = s.heldNo
		return s.held, nil
	}
	l, err := s.physLine()
	if err != nil || l != "" {
		s.nextNo = s.lineNo
		return l, err
	}
	first := s.lineNo
	for n := 1; ; n++ {
		l2, err := s.physLine()
		if err != nil {
			return "", err // io.EOF: only blank lines were left
		}
		if l2 != "" {
			s.held, s.heldNo, s.hasHeld = l2, s.lineNo, true
			s.blanks, s.blankNo = n-1, first+1
			s.nextNo = first
			return "", nil
		}
	}
}

// physLine reads one physical line without its line end.
func (s *source) physLine() (string, error) {
	l, err := s.br.ReadString('\n')
	if l == "" && err != nil {
		return "", err
	}
	s.lineNo++
	l = strings.TrimSuffix(l, "\n")
	l = strings.TrimSuffix(l, "\r")
	return l, nil
}

// badText returns the 1-based column and a reason for text the encoding
// did not produce cleanly: invalid UTF-8, a byte a single-byte charset
// does not define (decoded as U+FFFD), a NUL byte, a bare CR; 0 if none.
func (s *source) badText(line string) (int, string) {
	for i, r := range line {
		col := utf8.RuneCountInString(line[:i]) + 1
		switch {
		case r == utf8.RuneError && s.single:
			return col, fmt.Sprintf("a byte that is not a character in %s (wrong encoding?)", s.lay.Encoding)
		case r == utf8.RuneError && !strings.HasPrefix(line[i:], "\uFFFD"):
			return col, "invalid UTF-8 (wrong encoding? try encoding: windows-1252)"
		case r == 0:
			return col, "NUL byte (0x00) in the data (a UTF-16 file or binary data?)"
		case r == '\r':
			return col, "carriage return (CR) without line feed: CR-only line ends are not supported (convert the file to CRLF or LF)"
		}
	}
	return 0, ""
}

// checkCaption verifies the caption line of a delimited layout: the
// names must be the layout's field names in order, or the columns would be
// read into the wrong fields without any error.
func (s *source) checkCaption(line string, lno int) error {
	if col, reason := s.badText(line); reason != "" {
		return s.errAt(lno, col, "caption line: %s", reason)
	}
	fs := s.lay.Record.Fields
	caps := &Part{Fields: make([]*Field, len(fs))}
	for i := range fs {
		caps.Fields[i] = &Field{Name: fs[i].Name}
	}
	if reason := s.split(caps, line); reason != "" {
		names := make([]string, len(fs))
		for i, f := range fs {
			names[i] = f.Name
		}
		return s.errAt(lno, 1, "caption line: %s (the layout's fields: %s)", reason, strings.Join(names, s.lay.Delimiter))
	}
	for i, c := range s.cells {
		if strings.TrimSpace(c) != fs[i].Name {
			return s.errAt(lno, s.cols[i], "caption line: column %d is %q, the layout has %q (columns in another order or another layout version?)", i+1, strings.TrimSpace(c), fs[i].Name)
		}
	}
	return nil
}

// advance returns the look-ahead line and reads the next one.
func (s *source) advance() (string, int, error) {
	if s.nextErr != nil {
		return "", s.lineNo, s.nextErr
	}
	line, no := s.next, s.nextNo
	s.next, s.nextErr = s.readLine()
	return line, no, nil
}

func (s *source) atLast() bool { return s.nextErr != nil }

// split cuts a line into cells with their 1-based columns, or returns a reason.
func (s *source) split(p *Part, line string) string {
	s.cells, s.cols = s.cells[:0], s.cols[:0]
	lay := s.lay
	if lay.Format == "fixed" {
		if n := utf8.RuneCountInString(line); n != p.width {
			return fmt.Sprintf("line has %d characters, the layout %d", n, p.width)
		}
		i, col := 0, 1
		for _, f := range p.Fields {
			j := i
			for k := 0; k < f.Width; k++ {
				_, sz := utf8.DecodeRuneInString(line[j:])
				j += sz
			}
			s.cells = append(s.cells, line[i:j])
			s.cols = append(s.cols, col)
			col += f.Width
			i = j
		}
		return ""
	}
	d := lay.Delimiter
	q := lay.Quote
	i := 0
	for {
		start := i
		if q != "" && strings.HasPrefix(line[i:], q) {
			var sb strings.Builder
			j := i + len(q)
			closed := false
			for j < len(line) {
				if strings.HasPrefix(line[j:], q) {
					if strings.HasPrefix(line[j+len(q):], q) {
						sb.WriteString(q)
						j += 2 * len(q)
						continue
					}
					closed = true
					j += len(q)
					break
				}
				sb.WriteByte(line[j])
				j++
			}
			if !closed {
				return "unterminated quoted field"
			}
			s.cells = append(s.cells, sb.String())
			i = j
		} else {
			k := strings.Index(line[i:], d)
			if k < 0 {
				s.cells = append(s.cells, line[i:])
				i = len(line)
			} else {
				s.cells = append(s.cells, line[i:i+k])
				i += k
			}
		}
		s.cols = append(s.cols, utf8.RuneCountInString(line[:start])+1)
		if i >= len(line) {
			break
		}
		if !strings.HasPrefix(line[i:], d) {
			return fmt.Sprintf("unexpected text after a quoted field at column %d", utf8.RuneCountInString(line[:i])+1)
		}
		i += len(d)
	}
	if len(s.cells) != len(p.Fields) {
		return fmt.Sprintf("line has %d fields, the layout %d", len(s.cells), len(p.Fields))
	}
	return ""
}

// checkControl verifies a header or trailer line.
func (s *source) checkControl(p *Part, line string, lno int, trailer bool) error {
	what := "header record"
	if trailer {
		what = "trailer record (the last line)"
	}
	if col, reason := s.badText(line); reason != "" {
		return s.errAt(lno, col, "%s: %s", what, reason)
	}
	if reason := s.split(p, line); reason != "" {
		if trailer {
			reason += "; is the file truncated?"
		}
		return s.errAt(lno, 1, "%s: %s", what, reason)
	}
	for i, f := range p.Fields {
		cell := s.cells[i]
		col := s.cols[i]
		if f.hasConst {
			if got := strings.TrimSpace(cell); got != strings.TrimSpace(f.Const) {
				hint := ""
				if trailer {
					hint = " (is the file truncated?)"
				}
				return s.errAt(lno, col, "%s: %s: %q, want %q%s", what, f.Name, got, f.Const, hint)
			}
			continue
		}
		if !trailer || f.agg.kind == "" || f.agg.kind == "run_date" {
			continue
		}
		if s.sumOverflowed(f.agg) {
			return fmt.Errorf("%w: %s", ErrControl, s.errAt(lno, col, "trailer %s: control sum of %s does not fit in 19 digits",
				f.Name, s.lay.Record.Fields[f.agg.field].Name))
		}
		v, reason := s.lay.parseValue(f, cell)
		if reason != "" {
			return s.errAt(lno, col, "%s: %s", f.Name, reason)
		}
		var want record.Value
		lines := s.count + 1
		if s.lay.Header != nil {
			lines++
		}
		switch f.agg.kind {
		case "count":
			want = record.Int(s.count)
		case "count_all":
			want = record.Int(lines)
		case "sum":
			want = record.Dec(s.sum[f.agg.field])
		case "sum_abs":
			want = record.Dec(s.sumAbs[f.agg.field])
		case "sum_sh":
			if f.agg.shField >= 0 {
				want = record.Dec(s.sumSH[f.agg.field])
			} else {
				want = record.Dec(s.sum[f.agg.field])
			}
		}
		if !v.Equal(want) {
			hint := ""
			if s.rejected > 0 {
				hint = fmt.Sprintf(" (%d rejected records are not counted; see the rejects)", s.rejected)
			}
			return fmt.Errorf("%w: %s", ErrControl, s.errAt(lno, col, "trailer %s is %s, but the records give %s%s", f.Name, v, want, hint))
		}
	}
	return nil
}

// sumOverflowed reports whether the control sum a trailer value a names
// exceeded the 19 digits a decimal holds exactly.
func (s *source) sumOverflowed(a aggregate) bool {
	switch {
	case a.kind == "sum" || a.kind == "sum_sh" && a.shField < 0:
		return s.sumOver[a.field]
	case a.kind == "sum_abs":
		return s.sumAbsOver[a.field]
	case a.kind == "sum_sh":
		return s.sumSHOver[a.field]
	}
	return false
}

// addSum adds d to *sum unless the sum already overflowed; an overflow
// sets *over and keeps the sum as it was (the trailer reports it).
func addSum(sum *record.Decimal, over *bool, d record.Decimal) {
	if *over {
		return
	}
	n, err := sum.Add(d)
	if err != nil {
		*over = true
		return
	}
	*sum = n
}

// Next implements sdk.Source.
func (s *source) Next(ctx context.Context) (*record.Batch, error) {
	b := &record.Batch{}
	for len(b.Records) < s.batch {
		line, lno, err := s.advance()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if s.lay.Trailer != nil && s.atLast() {
			if err := s.checkControl(s.lay.Trailer, line, lno, true); err != nil {
				return nil, err
			}
			break
		}
		if line == "" && s.atLast() {
			break
		}
		s.parse(line, lno, b)
	}
	if s.lay.Trailer != nil && s.atLast() && len(b.Records) == 0 && len(b.Rejects) == 0 && s.nextErr == io.EOF && s.trailerMissing() {
		return nil, s.errAt(s.lineNo, 1, "missing trailer record")
	}
	if len(b.Records) == 0 && len(b.Rejects) == 0 {
		return nil, io.EOF
	}
	return b, nil
}

func (s *source) trailerMissing() bool { return false }

// reject appends a reject whose record holds the text of every field of
// the line (or, when the line cannot be split, the whole line in field 1).
func (s *source) reject(b *record.Batch, o record.Origin, col int, field, reason string, split bool) {
	s.rejected++
	r := record.New(s.rawSchema, o)
	if col > 0 {
		r.Origin.Col = col
	}
	if split {
		for i := range r.Values {
			if i < len(s.cells) {
				r.Values[i] = record.String(s.cells[i])
			}
		}
	}
	b.Reject(r, "layout.read", field, reason)
}

func (s *source) parse(line string, lno int, b *record.Batch) {
	o := record.Origin{File: s.name, Line: lno, Col: 1, Index: s.count + s.rejected + 1}
	r := record.New(s.schema, o)
	if col, reason := s.badText(line); reason != "" {
		s.cells = append(s.cells[:0], line)
		s.reject(b, o, col, "", reason, true)
		return
	}
	if reason := s.split(s.lay.Record, line); reason != "" {
		s.cells = append(s.cells[:0], line)
		s.reject(b, o, 1, "", reason, true)
		return
	}
	vals := make([]record.Value, len(s.lay.Record.Fields))
	for i, f := range s.lay.Record.Fields {
		if f.hasConst {
			if got := strings.TrimSpace(s.cells[i]); got != strings.TrimSpace(f.Const) {
				s.reject(b, o, s.cols[i], f.Name, fmt.Sprintf("%q, want %q", got, f.Const), true)
				return
			}
			continue
		}
		if f.Type == "sh" {
			if sh := strings.TrimSpace(s.cells[i]); sh != "" && sh != f.Debit && sh != f.Credit {
				s.reject(b, o, s.cols[i], f.Name, fmt.Sprintf("%q is neither %q nor %q", sh, f.Debit, f.Credit), true)
				return
			}
			vals[i] = record.String(strings.TrimSpace(s.cells[i]))
			continue
		}
		v, reason := s.lay.parseValue(f, s.cells[i])
		if reason == "" && f.Required && (v.IsNull() || v.Kind() == record.KindString && v.Str() == "") {
			reason = "required value missing"
		}
		if reason != "" {
			s.reject(b, o, s.cols[i], f.Name, reason, true)
			return
		}
		vals[i] = v
	}
	// An sh indicator turns its source amount negative for the credit character.
	for i, f := range s.lay.Record.Fields {
		if f.Type != "sh" || vals[i].Str() != f.Credit {
			continue
		}
		if j := s.lay.recordIndex(f.Source); j >= 0 && vals[j].Kind() == record.KindDecimal && s.lay.Record.Fields[j].Sign == "none" {
			vals[j] = record.Dec(vals[j].Decimal().Neg())
		}
	}
	for i, f := range s.lay.Record.Fields {
		if f.Type != "amount" || vals[i].IsNull() {
			continue
		}
		d := vals[i].Decimal()
		addSum(&s.sum[i], &s.sumOver[i], d)
		addSum(&s.sumAbs[i], &s.sumAbsOver[i], d.Abs())
	}
	for _, a := range s.lay.shSums { // once per record, as the writer adds them
		d := vals[a.field].Decimal().Abs()
		if vals[a.shField].Str() == s.lay.Record.Fields[a.shField].Credit || strings.TrimSpace(s.cells[a.shField]) == s.lay.Record.Fields[a.shField].Credit {
			d = d.Neg()
		}
		addSum(&s.sumSH[a.field], &s.sumSHOver[a.field], d)
	}
	for k, i := range s.emit {
		r.Values[k] = vals[i]
	}
	s.count++
	b.Records = append(b.Records, r)
}

// Close implements sdk.Source.
func (s *source) Close() error { return nil }

// Plugin returns the layout plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name: "layout", Version: "0.1.0",
		Description: "Declarative delimited and fixed-width layouts with Vorsatz/Nachsatz for municipal finance imports.",
		Components:  []sdk.Component{Read(), Write()},
	}
}
