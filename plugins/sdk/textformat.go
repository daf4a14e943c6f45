package sdk

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// TextFormat is the option group every text reader and writer shares (CSV,
// DATEV, layouts), so `encoding: windows-1252` is spelled the same way
// everywhere. Embed it inline in a component's config struct:
//
//	type Config struct {
//		sdk.TextFormat `yaml:",inline"`
//		...
//	}
//
// and add TextFormatFields(defaults) to its Spec.
type TextFormat struct {
	// Encoding of the bytes: utf-8 (default; a BOM is skipped when reading),
	// utf-8-bom (writes a BOM), windows-1252, iso-8859-1, iso-8859-15.
	Encoding string `yaml:"encoding"`
	// Delimiter is the field separator, one character (default ",").
	Delimiter string `yaml:"delimiter"`
	// Quote is the quote character (default `"`); "" disables quoting.
	Quote string `yaml:"quote"`
	// Decimal is the decimal separator of amounts: "." (default) or ",".
	Decimal string `yaml:"decimal"`
	// DateFormat is the date pattern (YYYY, MM, DD, also TT/JJJJ), default "YYYY-MM-DD".
	DateFormat string `yaml:"date_format"`
	// LineEnding of written files: lf (default) or crlf. Readers accept both.
	LineEnding string `yaml:"line_ending"`
}

// Encodings lists the accepted encoding names.
var Encodings = []string{"utf-8", "utf-8-bom", "windows-1252", "iso-8859-1", "iso-8859-15"}

// TextDefaults are the defaults a format may override (DATEV: windows-1252, ";", ",", crlf).
type TextDefaults struct {
	Encoding, Delimiter, Quote, Decimal, DateFormat, LineEnding string
}

// StandardText is the international default: UTF-8, comma, '.', ISO dates, LF.
var StandardText = TextDefaults{Encoding: "utf-8", Delimiter: ",", Quote: `"`, Decimal: ".", DateFormat: "YYYY-MM-DD", LineEnding: "lf"}

// GermanText is the usual German exchange format: Windows-1252, ';', ',', DD.MM.YYYY, CRLF.
var GermanText = TextDefaults{Encoding: "windows-1252", Delimiter: ";", Quote: `"`, Decimal: ",", DateFormat: "DD.MM.YYYY", LineEnding: "crlf"}

// TextFormatFields returns the spec fields of the option group with the given defaults.
func TextFormatFields(d TextDefaults) []Field {
	return []Field{
		{Name: "encoding", Type: TypeEnum, Enum: Encodings, Default: d.Encoding,
			Description: "Character encoding of the file; utf-8 skips a byte order mark when reading, utf-8-bom writes one.", Example: "windows-1252"},
		{Name: "delimiter", Type: TypeString, Default: d.Delimiter, Pattern: `(?s).`,
			Description: "Field separator, exactly one character (use \"\\t\" for tab).", Example: ";"},
		{Name: "quote", Type: TypeString, Default: d.Quote, Pattern: `(?s).?`,
			Description: "Quote character for fields containing the delimiter, quotes or line breaks; empty disables quoting.", Example: `"`},
		{Name: "decimal", Type: TypeEnum, Enum: []string{".", ","}, Default: d.Decimal,
			Description: "Decimal separator of decimal (amount) columns.", Example: ","},
		{Name: "date_format", Type: TypeString, Default: d.DateFormat,
			Description: "Date pattern of date columns, built from YYYY, YY, MM, DD (German TT and JJJJ also work).", Example: "DD.MM.YYYY"},
		{Name: "line_ending", Type: TypeEnum, Enum: []string{"lf", "crlf"}, Default: d.LineEnding,
			Description: "Line ending written; readers accept both.", Example: "crlf"},
	}
}

// TextReadFields returns the option group for a reader: TextFormatFields
// with line_ending deprecated, since it only says what a writer writes
// (readers accept LF, CRLF and a mix of both). It stays accepted, with a
// positioned "deprecated" warning, so pipelines that set it on a reader
// keep working (kontor lint --strict turns the warning into an error).
func TextReadFields(d TextDefaults) []Field {
	fs := TextFormatFields(d)
	for i := range fs {
		if fs[i].Name == "line_ending" {
			fs[i].Description = "Ignored when reading: readers accept LF, CRLF and a mix of both."
			fs[i].Deprecated = "readers accept LF, CRLF and a mix; line_ending only applies to writers, remove it"
		}
	}
	return fs
}

// Validate checks the option values (the host already checked enums and
// types; this catches combinations).
func (t TextFormat) Validate() FieldErrors {
	var es FieldErrors
	if utf8.RuneCountInString(t.Delimiter) != 1 {
		es.Add("delimiter", "must be exactly one character, got %q", t.Delimiter)
	} else if t.Delimiter == "\r" || t.Delimiter == "\n" {
		es.Add("delimiter", "must not be a line break")
	}
	if utf8.RuneCountInString(t.Quote) > 1 {
		es.Add("quote", "must be one character or empty, got %q", t.Quote)
	}
	if t.Quote != "" && t.Quote == t.Delimiter {
		es.Add("quote", "must differ from the delimiter")
	}
	if t.Decimal == t.Delimiter && t.Decimal != "" {
		es.Add("decimal", "must differ from the delimiter %q", t.Delimiter)
	}
	if _, err := charsetOf(t.Encoding); err != nil {
		es.Add("encoding", "%v", err)
	}
	return es
}

// DelimiterRune returns the delimiter (',' when unset).
func (t TextFormat) DelimiterRune() rune {
	r, _ := utf8.DecodeRuneInString(t.Delimiter)
	if t.Delimiter == "" {
		return ','
	}
	return r
}

// DecimalByte returns the decimal separator ('.' when unset).
func (t TextFormat) DecimalByte() byte {
	if t.Decimal == "," {
		return ','
	}
	return '.'
}

// Newline returns "\r\n" for crlf, else "\n".
func (t TextFormat) Newline() string {
	if strings.EqualFold(t.LineEnding, "crlf") {
		return "\r\n"
	}
	return "\n"
}

func charsetOf(name string) (encoding.Encoding, error) {
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8", "utf-8-bom":
		return nil, nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252, nil
	case "iso-8859-1", "latin1":
		return charmap.ISO8859_1, nil
	case "iso-8859-15", "latin9":
		return charmap.ISO8859_15, nil
	}
	return nil, fmt.Errorf("unknown encoding %q (want one of %s)", name, strings.Join(Encodings, ", "))
}

// Charmap returns the single-byte character map of the encoding enc, or
// nil for UTF-8 (with or without BOM). Readers that scan the raw bytes
// themselves (ASCII delimiters stay one byte in every supported encoding)
// use it to decode only the fields that contain non-ASCII bytes, and to
// report columns in characters of the original file. An unknown name is an
// error.
func Charmap(enc string) (*charmap.Charmap, error) {
	cs, err := charsetOf(enc)
	if err != nil || cs == nil {
		return nil, err
	}
	return cs.(*charmap.Charmap), nil
}

// NewTextReader returns a reader that yields UTF-8 from r in the given
// encoding; for UTF-8 a leading byte order mark is skipped. Invalid UTF-8
// passes through unchanged (readers report it with a position).
func NewTextReader(r io.Reader, enc string) (io.Reader, error) {
	cs, err := charsetOf(enc)
	if err != nil {
		return nil, err
	}
	if cs != nil {
		return transform.NewReader(r, cs.NewDecoder()), nil
	}
	br := bufio.NewReaderSize(r, 64*1024)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	return br, nil
}

// NewTextWriter returns a writer that encodes UTF-8 text to w in the given
// encoding (writing a BOM first for utf-8-bom). A character that the target
// encoding cannot represent fails the write with ErrUnencodable naming it,
// so nothing is replaced silently. The returned writer must be closed to
// flush; closing does not close w.
func NewTextWriter(w io.Writer, enc string) (io.WriteCloser, error) {
	cs, err := charsetOf(enc)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(enc, "utf-8-bom") {
		if _, err := w.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
			return nil, err
		}
	}
	if cs == nil {
		return nopCloser{w}, nil
	}
	return &encWriter{w: w, cm: cs.(*charmap.Charmap), name: enc}, nil
}

// ErrUnencodable is wrapped by errors for text the target encoding cannot hold.
var ErrUnencodable = fmt.Errorf("character not representable")

// CheckEncodable returns an error naming the first rune of s that enc cannot
// represent, or nil. Writers call it per field to reject a record instead of
// corrupting the file.
func CheckEncodable(s, enc string) error {
	cs, err := charsetOf(enc)
	if err != nil || cs == nil {
		return err
	}
	for _, r := range s {
		if r < 0x80 {
			continue
		}
		if _, ok := cs.(*charmap.Charmap).EncodeRune(r); !ok {
			return fmt.Errorf("%w in %s: %q", ErrUnencodable, enc, r)
		}
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// encWriter encodes UTF-8 into a single-byte charset. Runs of ASCII are
// copied as they are; other runes are looked up in the charmap. A rune
// split across two Writes is completed by the next one.
type encWriter struct {
	w    io.Writer
	cm   *charmap.Charmap
	name string
	buf  []byte
	pend []byte // incomplete UTF-8 sequence at the end of the last Write
}

// Write encodes p. If p holds a rune the encoding cannot represent, or
// invalid UTF-8, nothing of p is written and the error wraps ErrUnencodable.
func (e *encWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(e.pend) > 0 {
		p = append(e.pend, p...)
		e.pend = nil
	}
	out := e.buf[:0]
	for i := 0; i < len(p); {
		j := i
		for j < len(p) && p[j] < utf8.RuneSelf {
			j++
		}
		out = append(out, p[i:j]...)
		if j == len(p) {
			break
		}
		if !utf8.FullRune(p[j:]) {
			e.pend = append([]byte(nil), p[j:]...)
			break
		}
		r, size := utf8.DecodeRune(p[j:])
		b, ok := e.cm.EncodeRune(r)
		if !ok || r == utf8.RuneError && size == 1 {
			e.buf = out
			return 0, fmt.Errorf("%w in %s: %q", ErrUnencodable, e.name, r)
		}
		out = append(out, b)
		i = j + size
	}
	e.buf = out
	if _, err := e.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// Close reports an incomplete UTF-8 sequence left at the end; it does not
// close the underlying writer.
func (e *encWriter) Close() error {
	if len(e.pend) > 0 {
		e.pend = nil
		return fmt.Errorf("%w in %s: incomplete UTF-8 sequence at the end", ErrUnencodable, e.name)
	}
	return nil
}
