package fibu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// ExtfReaderConfig is the configuration of the fibu.datev_extf_read source.
type ExtfReaderConfig struct {
	Kind     string `yaml:"kind"`
	Encoding string `yaml:"encoding"`
}

var extfReaderSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "kind", Type: sdk.TypeEnum, Enum: []string{"auto", "buchungsstapel", "debitoren_kreditoren"}, Default: "auto",
		Description: "Which DATEV format the files must have; auto accepts Buchungsstapel (format version 13 or 9) and Debitoren/Kreditoren (version 5) as the header says.", Example: "buchungsstapel"},
	{Name: "encoding", Type: sdk.TypeEnum, Enum: sdk.Encodings, Default: "windows-1252",
		Description: "Character encoding of the files; a UTF-8 byte order mark always switches to UTF-8.", Example: "windows-1252"},
}}

// ExtfReader returns the fibu.datev_extf_read source component (the registry needs unique component names, so the sink keeps fibu.datev_extf).
func ExtfReader() sdk.Component {
	return sdk.Component{
		Name: "datev_extf_read", Kind: sdk.KindSource, IO: sdk.IOFile,
		Summary: "Reads DATEV EXTF files (Buchungsstapel v13/v9, Debitoren/Kreditoren v5).",
		Description: "Reads DATEV EXTF files with header version 700. Each data row becomes a record whose fields are the " +
			"snake_case keys of the DATEV columns (umsatz, soll_haben_kennzeichen, konto, gegenkonto, belegdatum, belegfeld_1, ...). " +
			"Amount columns are decimals; all other columns are text exactly as written (Belegdatum TTMM and dates TTMMJJJJ keep " +
			"their leading zeros). An empty unquoted cell is null, a quoted empty cell is an empty string, so writing the records " +
			"with fibu.datev_extf (preserve_scale: true) reproduces the file byte for byte. A row with the wrong number of " +
			"columns or a malformed amount is rejected with its line and column; a file that is not EXTF (e.g. re-saved by a " +
			"spreadsheet as comma-separated UTF-8) fails with a positioned error that says what is wrong. A byte windows-1252 does " +
			"not define, invalid UTF-8, a NUL byte or a bare CR, and an amount with more decimal places than DATEV allows " +
			"(Umsatz: 2) reject the row; the reject keeps the whole line. Amounts are never rounded.",
		Spec:       extfReaderSpec,
		Examples:   []string{"type: fibu.datev_extf_read\npath: in/EXTF_*.csv\n"},
		NewDecoder: newExtfDecoder,
		Schema: func(c sdk.Config) (*record.Schema, error) {
			switch c.String("kind") {
			case "buchungsstapel":
				return formatSchema(Buchungsstapel), nil
			case "debitoren_kreditoren":
				return formatSchema(DebitorenKreditoren), nil
			}
			return nil, nil
		},
	}
}

var schemaCache = map[*Format]*record.Schema{}

func init() { // pure data: build the fixed schemas once
	for _, f := range []*Format{Buchungsstapel, BuchungsstapelV9, DebitorenKreditoren} {
		fs := make([]record.Field, len(f.Columns))
		for i, c := range f.Columns {
			k := record.KindString
			if c.Kind == KindAmount {
				k = record.KindDecimal
			}
			fs[i] = record.Field{Name: c.Key, Kind: k}
		}
		schemaCache[f] = record.MustSchema(fs...)
	}
}

func formatSchema(f *Format) *record.Schema { return schemaCache[f] }

type extfDecoder struct {
	cfg ExtfReaderConfig
	env sdk.Env
}

func newExtfDecoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Decoder, error) {
	var cfg ExtfReaderConfig
	if err := c.Decode(&cfg); err != nil {
		return nil, err
	}
	switch strings.ToLower(cfg.Encoding) {
	case "", "windows-1252", "cp1252", "iso-8859-1", "utf-8", "utf8", "utf-8-bom":
	default:
		return nil, sdk.FieldError{Path: "encoding", Message: fmt.Sprintf("unsupported for DATEV EXTF: %q (want windows-1252 or utf-8)", cfg.Encoding)}
	}
	return &extfDecoder{cfg: cfg, env: env}, nil
}

// ErrNotExtf is wrapped by the error for input that is not a DATEV EXTF file.
var ErrNotExtf = errors.New("not a DATEV EXTF file")

// PosError is a problem at a position of the input.
type PosError struct {
	File      string
	Line, Col int
	Msg       string
	Err       error
}

func (e *PosError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Unwrap returns the sentinel, if any.
func (e *PosError) Unwrap() error { return e.Err }

// Open implements sdk.Decoder.
func (d *extfDecoder) Open(_ context.Context, in sdk.Input) (sdk.Source, error) {
	src := &extfSource{name: in.Name, br: bufio.NewReaderSize(in.R, 64*1024), batch: d.env.BatchSize}
	if src.batch <= 0 {
		src.batch = 1000
	}
	src.utf8 = strings.HasPrefix(strings.ToLower(d.cfg.Encoding), "utf")
	if b, err := src.br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = src.br.Discard(3)
		src.utf8 = true
	}
	if err := src.readHeader(d.cfg.Kind); err != nil {
		return nil, err
	}
	return src, nil
}

type extfSource struct {
	name   string
	br     *bufio.Reader
	utf8   bool
	line   int
	format *Format
	schema *record.Schema
	header Header
	batch  int
	fields []field
	index  int64
	done   bool
}

// readLine returns the next line decoded to UTF-8 without its line ending; io.EOF at the end.
func (s *extfSource) readLine() (string, []byte, error) {
	raw, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // very long line: collect it
		buf := append([]byte(nil), raw...)
		for err == bufio.ErrBufferFull {
			raw, err = s.br.ReadSlice('\n')
			buf = append(buf, raw...)
		}
		raw = buf
	}
	if len(raw) == 0 && err != nil {
		if err == io.EOF {
			return "", nil, io.EOF
		}
		return "", nil, fmt.Errorf("%s: reading: %w", s.name, err)
	}
	if err != nil && err != io.EOF {
		return "", nil, fmt.Errorf("%s: reading: %w", s.name, err)
	}
	s.line++
	raw = bytes.TrimSuffix(raw, []byte{'\n'})
	raw = bytes.TrimSuffix(raw, []byte{'\r'})
	if s.utf8 {
		return string(raw), raw, nil
	}
	return decode1252(raw), raw, nil
}

var cp1252Table = func() (t [256]rune) {
	for i := range t {
		t[i] = charmap.Windows1252.DecodeByte(byte(i))
	}
	return
}()

func decode1252(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 16)
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(cp1252Table[c])
		}
	}
	return sb.String()
}

// looksUTF8 reports whether raw holds multi-byte UTF-8 sequences (and is valid UTF-8).
func looksUTF8(raw []byte) bool {
	for _, c := range raw {
		if c >= 0x80 {
			return utf8.Valid(raw)
		}
	}
	return false
}

func (s *extfSource) errAt(line, col int, format string, args ...any) error {
	return &PosError{File: s.name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Err: ErrNotExtf}
}

func (s *extfSource) readHeader(kind string) error {
	text, raw, err := s.readLine()
	if err == io.EOF {
		return s.errAt(1, 1, "%v: the file is empty", ErrNotExtf)
	}
	if err != nil {
		return err
	}
	fs, msg, col := splitLine(text, ';', nil)
	if msg != "" {
		return s.errAt(1, col, "%v: header: %s", ErrNotExtf, msg)
	}
	if len(fs) < 6 {
		// Diagnose the common damage: re-saved by a spreadsheet as comma-separated (UTF-8).
		var problems []string
		pos := 1
		if c := strings.IndexByte(text, ','); c >= 0 && strings.Count(text, ",") >= 5 {
			pos = c + 1
			problems = append(problems, "fields are separated by ',' instead of ';' (re-saved by a spreadsheet program?)")
			if cf, m, _ := splitLine(text, ',', nil); m == "" && len(cf) > 5 {
				if !cf[0].quoted && (cf[0].s == "EXTF" || cf[0].s == "DTVF") {
					problems = append(problems, "text fields are not in quotes")
				}
				if cat, err := strconv.Atoi(cf[2].s); err == nil {
					if v, err := strconv.Atoi(cf[4].s); err == nil {
						if _, err := lookupFormat(cat, v); err != nil {
							problems = append(problems, err.Error())
						}
					}
				}
			}
		} else {
			problems = append(problems, fmt.Sprintf("the header has %d ';'-separated fields, want %d", len(fs), HeaderFields))
		}
		if !s.utf8 && looksUTF8(raw) || s.utf8Later() {
			problems = append(problems, "the file is UTF-8 without byte order mark (DATEV expects windows-1252)")
		}
		return s.errAt(1, pos, "%v: %s", ErrNotExtf, strings.Join(problems, "; "))
	}
	if fs[0].s != "EXTF" && fs[0].s != "DTVF" {
		return s.errAt(1, 1, "%v: header starts with %q, want \"EXTF\"", ErrNotExtf, fs[0].s)
	}
	if fs[1].s != "700" {
		return s.errAt(1, fs[1].col, "%v: header version %q is not supported (want 700)", ErrNotExtf, fs[1].s)
	}
	cat, err1 := strconv.Atoi(fs[2].s)
	ver, err2 := strconv.Atoi(fs[4].s)
	if err1 != nil {
		return s.errAt(1, fs[2].col, "%v: format category %q is not a number", ErrNotExtf, fs[2].s)
	}
	if err2 != nil {
		return s.errAt(1, fs[4].col, "%v: format version %q is not a number", ErrNotExtf, fs[4].s)
	}
	f, err := lookupFormat(cat, ver)
	if err != nil {
		return s.errAt(1, fs[2].col, "%v", err)
	}
	switch {
	case kind == "buchungsstapel" && cat != 21, kind == "debitoren_kreditoren" && cat != 16:
		return s.errAt(1, fs[2].col, "format category %d (%s) but kind %s was configured", cat, fs[3].s, kind)
	}
	if len(fs) != HeaderFields {
		hint := ""
		if strings.IndexByte(text, '\r') >= 0 {
			hint = " (the line contains a bare CR: CR-only line ends are not supported)"
		}
		return s.errAt(1, fs[len(fs)-1].col, "header has %d fields, want %d%s", len(fs), HeaderFields, hint)
	}
	for i, fl := range fs {
		s.header.Fields[i+1] = fl.s
	}
	s.format = f
	s.schema = formatSchema(f)
	// Caption line.
	text, _, err = s.readLine()
	if err == io.EOF {
		return s.errAt(2, 1, "missing the caption line (line 2)")
	}
	if err != nil {
		return err
	}
	caps, msg, col := splitLine(text, ';', nil)
	if msg != "" {
		return s.errAt(2, col, "caption line: %s", msg)
	}
	if len(caps) != len(f.Columns) {
		return s.errAt(2, 1, "caption line has %d columns, %s format version %d has %d", len(caps), f.Name, ver, len(f.Columns))
	}
	return nil
}

// utf8Later reports whether the buffered lines after the header look like UTF-8 without BOM.
func (s *extfSource) utf8Later() bool {
	if s.utf8 {
		return false
	}
	b, _ := s.br.Peek(s.br.Buffered())
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return looksUTF8(b)
}

// Header returns the parsed header line (fields 1-based).
func (s *extfSource) Header() Header { return s.header }

// Next implements sdk.Source.
func (s *extfSource) Next(ctx context.Context) (*record.Batch, error) {
	if s.done {
		return nil, io.EOF
	}
	b := &record.Batch{Records: make([]record.Record, 0, s.batch)}
	for len(b.Records) < s.batch {
		text, _, err := s.readLine()
		if err == io.EOF {
			s.done = true
			break
		}
		if err != nil {
			return nil, err
		}
		if text == "" {
			continue
		}
		s.index++
		s.parseRow(text, b)
		if len(b.Rejects) >= s.batch {
			break
		}
	}
	if len(b.Records) == 0 && len(b.Rejects) == 0 {
		return nil, io.EOF
	}
	return b, nil
}

// badText returns the 1-based column and reason of text the encoding did
// not produce cleanly (a byte windows-1252 does not define, decoded as
// U+FFFD; invalid UTF-8; a NUL byte; a bare CR), or 0.
func (s *extfSource) badText(text string) (int, string) {
	for i, r := range text {
		switch {
		case r == utf8.RuneError && !s.utf8:
			return utf8.RuneCountInString(text[:i]) + 1, "a byte that is not a character in windows-1252 (wrong encoding?)"
		case r == utf8.RuneError && !strings.HasPrefix(text[i:], "\uFFFD"):
			return utf8.RuneCountInString(text[:i]) + 1, "invalid UTF-8"
		case r == 0:
			return utf8.RuneCountInString(text[:i]) + 1, "NUL byte (0x00) in the data (a UTF-16 file or binary data?)"
		case r == '\r':
			return utf8.RuneCountInString(text[:i]) + 1, "carriage return (CR) without line feed: CR-only line ends are not supported"
		}
	}
	return 0, ""
}

// rejectRaw rejects a row whose columns cannot be typed; the reject's
// record holds the whole line so the rejects file keeps its data.
func (s *extfSource) rejectRaw(b *record.Batch, o record.Origin, col int, field, text, reason string) {
	if col > 0 {
		o.Col = col
	}
	r := record.New(rawLineSchema, o)
	r.Values[0] = record.String(text)
	b.Reject(r, "fibu.datev_extf_read", field, reason)
}

var rawLineSchema = record.MustSchema(record.Field{Name: "line", Kind: record.KindString})

func (s *extfSource) parseRow(text string, b *record.Batch) {
	o := record.Origin{File: s.name, Line: s.line, Col: 1, Index: s.index}
	r := record.New(s.schema, o)
	var msg string
	var col int
	if col, msg = s.badText(text); msg != "" {
		s.rejectRaw(b, o, col, "", text, msg)
		return
	}
	s.fields, msg, col = splitLine(text, ';', s.fields)
	if msg != "" {
		s.rejectRaw(b, o, col, "", text, msg)
		return
	}
	if len(s.fields) != len(s.format.Columns) {
		s.rejectRaw(b, o, 1, "", text, fmt.Sprintf("row has %d columns, %s version %d has %d (truncated or from another format version?)", len(s.fields), s.format.Name, s.format.Version, len(s.format.Columns)))
		return
	}
	for i, f := range s.fields {
		c := s.format.Columns[i]
		switch {
		case f.quoted || c.Kind == KindText && !(c.NullBare && f.s == ""):
			r.Values[i] = record.String(f.s)
		case f.s == "":
			// null
		case c.Kind == KindAmount:
			d, err := record.ParseDecimal(f.s, ',')
			if errors.Is(err, record.ErrDecimalOverflow) {
				s.rejectRaw(b, o, f.col, c.Key, text, fmt.Sprintf("%s: %q has more digits than a decimal holds exactly", c.Caption, f.s))
				return
			}
			if err != nil {
				s.rejectRaw(b, o, f.col, c.Key, text, fmt.Sprintf("%s: not an amount with decimal comma: %q", c.Caption, f.s))
				return
			}
			if frac := fracDigits(f.s); frac > c.Scale {
				// DATEV allows c.Scale decimal places.
				s.rejectRaw(b, o, f.col, c.Key, text, fmt.Sprintf("%s: %q has %d decimal places, DATEV allows %d", c.Caption, f.s, frac, c.Scale))
				return
			}
			r.Values[i] = record.Dec(d)
		default:
			r.Values[i] = record.String(f.s)
		}
	}
	b.Records = append(b.Records, r)
}

// Close implements sdk.Source.
func (s *extfSource) Close() error { return nil }

// fracDigits counts the digits after the decimal comma of s.
func fracDigits(s string) int {
	i := strings.IndexByte(s, ',')
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range []byte(s[i+1:]) {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}
