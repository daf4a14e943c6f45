package fibu

//go:generate go run ./internal/gencolumns -dir .

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
)

// ColumnKind is how a DATEV column is typed, quoted and validated.
type ColumnKind uint8

// Column kinds.
const (
	// KindText columns are always written in quotes ("" escaping), also when empty.
	KindText ColumnKind = iota
	// KindNumber columns hold digits (accounts, keys, flags) and are written unquoted.
	KindNumber
	// KindAmount columns hold decimals with a decimal comma, unquoted.
	KindAmount
	// KindDate columns hold dates as TTMM (Belegdatum) or TTMMJJJJ, unquoted.
	KindDate
)

// Column is one column of a DATEV EXTF format.
type Column struct {
	Num        int        // 1-based position
	Caption    string     // caption exactly as in DATEV's sample (line 2)
	Key        string     // snake_case key used for record fields and mapping
	Kind       ColumnKind // quoting and typing
	Scale      int        // KindAmount: default number of decimals written
	DateFormat string     // KindDate: DDMM or DDMMYYYY
}

// Format describes one EXTF format (category + version).
type Format struct {
	Category int
	Name     string // header field 4, e.g. "Buchungsstapel"
	Version  int    // header field 5
	Columns  []Column
	rules    map[int]rule
}

var (
	// Buchungsstapel is category 21, format version 13, 125 columns.
	Buchungsstapel = &Format{Category: 21, Name: "Buchungsstapel", Version: 13, Columns: buchungsstapelColumns, rules: buchungsstapelRules}
	// BuchungsstapelV9 is category 21, format version 9 (until ~2022), the first 120 columns.
	BuchungsstapelV9 = &Format{Category: 21, Name: "Buchungsstapel", Version: 9, Columns: buchungsstapelColumns[:120], rules: buchungsstapelRules}
	// DebitorenKreditoren is category 16, format version 5, 254 columns.
	DebitorenKreditoren = &Format{Category: 16, Name: "Debitoren/Kreditoren", Version: 5, Columns: debKredColumns, rules: debKredRules}
)

// lookupFormat returns the format for a header's category and version.
func lookupFormat(cat, version int) (*Format, error) {
	switch {
	case cat == 21 && version == 13:
		return Buchungsstapel, nil
	case cat == 21 && version >= 7 && version <= 12:
		return BuchungsstapelV9, nil
	case cat == 16 && version >= 4 && version <= 5:
		return DebitorenKreditoren, nil
	case cat == 21 || cat == 16:
		return nil, fmt.Errorf("unsupported format version %d for category %d (want 13 or 9 for 21, 5 for 16)", version, cat)
	}
	return nil, fmt.Errorf("unsupported format category %d (want 21 Buchungsstapel or 16 Debitoren/Kreditoren)", cat)
}

// column finds a column by caption, key or 1-based number ("11").
func (f *Format) column(name string) (Column, bool) {
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= len(f.Columns) {
		return f.Columns[n-1], true
	}
	for _, c := range f.Columns {
		if c.Key == name || c.Caption == name || strings.EqualFold(c.Caption, name) {
			return c, true
		}
	}
	return Column{}, false
}

func (f *Format) keys() []string {
	out := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		out[i] = c.Key
	}
	return out
}

// ---- per-field rules ------------------------------------------------------------------------

// rule is the validation of one column's formatted (unquoted) value, from DATEV's field table
// ("Ausdruck" column), relaxed where DATEV's own official sample deviates (noted per rule).
type rule struct {
	max     int               // max runes (text) or digits (number); 0 = no limit
	min     int               // min digits (number)
	chars   func(r rune) bool // allowed characters, nil = any printable
	charset string            // description of chars for messages
	enum    []string          // allowed values
	nonZero bool              // number/amount must not be 0
	intMax  int               // amount: max integer digits
	fracMin int               // amount: min decimals
	fracMax int               // amount: max decimals
	account bool              // Konto/Gegenkonto: length vs Sachkontenlänge
}

func belegChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("$%&*+-/", r))
}
func wordChar(r rune) bool  { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
func kostChar(r rune) bool  { return wordChar(r) || r == ' ' }
func upperChar(r rune) bool { return r >= 'A' && r <= 'Z' }

func textR(n int) rule { return rule{max: n} }
func digR(min, max int) rule {
	return rule{min: min, max: max, chars: func(r rune) bool { return r >= '0' && r <= '9' }, charset: "digits"}
}
func enumR(v ...string) rule { return rule{enum: v} }
func decR(intMax, fracMin, fracMax int) rule {
	return rule{intMax: intMax, fracMin: fracMin, fracMax: fracMax}
}

var buchungsstapelRules = func() map[int]rule {
	m := map[int]rule{
		1: {intMax: 10, fracMin: 2, fracMax: 2, nonZero: true}, // ^\d{1,10},\d{2}$ and > 0
		2: enumR("S", "H"),
		3: {min: 3, max: 3, chars: upperChar, charset: "A-Z"},
		// Kurs: DATEV says [1-9]\d{0,3},\d{2,6}; the official sample has 0,830000.
		4: {intMax: 4, fracMin: 2, fracMax: 6, nonZero: true},
		5: {intMax: 10, fracMin: 2, fracMax: 2, nonZero: true},
		6: {min: 3, max: 3, chars: upperChar, charset: "A-Z"},
		7: {min: 1, max: 9, chars: digR(0, 0).chars, charset: "digits", nonZero: true, account: true},
		8: {min: 1, max: 9, chars: digR(0, 0).chars, charset: "digits", nonZero: true, account: true},
		// BU-Schlüssel: DATEV regex \d{4}; the official sample has "3", "20", "501", "6501".
		9:  digR(1, 4),
		10: digR(4, 4),
		11: {max: 36, chars: belegChar, charset: "a-z A-Z 0-9 $ % & * + - /"},
		12: {max: 12, chars: belegChar, charset: "a-z A-Z 0-9 $ % & * + - /"},
		13: {intMax: 8, fracMin: 2, fracMax: 2, nonZero: true},
		14: textR(60),
		15: enumR("0", "1"),
		16: {max: 9, chars: wordChar, charset: "letters, digits, _"},
		// Geschäftspartnerbank: DATEV \d{3}; the sample has 1.
		17: digR(1, 3),
		18: digR(1, 2),
		19: enumR("0", "1"),
		20: textR(210),
		37: {max: 36, chars: kostChar, charset: "letters, digits, _, space"},
		38: {max: 36, chars: kostChar, charset: "letters, digits, _, space"},
		39: decR(12, 0, 4),
		40: textR(15),
		41: decR(2, 2, 2),
		42: enumR("I", "K", "P", "S"),
		43: digR(1, 3),
		44: digR(1, 3),
		45: digR(1, 1),
		46: digR(1, 2),
		47: digR(1, 3),
		88: digR(1, 8),
		89: decR(8, 2, 2),
		90: digR(1, 2),
		91: {max: 10, chars: wordChar, charset: "letters, digits, _"},
		92: digR(4, 4),
		94: digR(1, 1),
		95: textR(30),
		96: {min: 2, max: 2, chars: upperChar, charset: "A-Z"},
		97: digR(1, 4),
		98: {min: 2, max: 2, chars: upperChar, charset: "A-Z"},
		99: digR(1, 3),
		// Erlöskonto (Anzahlungen): DATEV \d{4,8}; the sample has 0.
		100: decR(2, 2, 2),
		101: digR(1, 9),
		102: {min: 2, max: 2, chars: upperChar, charset: "A-Z"},
		103: textR(36),
		105: textR(35),
		106: enumR("0", "1"),
		107: textR(76),
		108: digR(1, 4),
		109: textR(11),
		110: textR(20),
		112: textR(30),
		113: digR(1, 2),
		114: enumR("0", "1"),
		118: enumR("0", "1"),
		119: decR(2, 2, 2),
		120: {min: 2, max: 2, chars: upperChar, charset: "A-Z"},
		121: textR(50),
		122: enumR("1", "2", "3", "4", "5"),
		123: textR(15),
		124: decR(2, 2, 2),
		125: digR(1, 9),
	}
	for n := 21; n <= 36; n++ { // Beleginfo Art (20) / Inhalt (210)
		if n%2 == 1 {
			m[n] = textR(20)
		} else {
			m[n] = textR(210)
		}
	}
	for n := 48; n <= 87; n++ { // Zusatzinformation Art (20) / Inhalt (210)
		if n%2 == 0 {
			m[n] = textR(20)
		} else {
			m[n] = textR(210)
		}
	}
	for _, n := range []int{93, 104, 111, 115, 116, 117} {
		m[n] = digR(8, 8)
	}
	return m
}()

var debKredRules = map[int]rule{
	1:  {min: 1, max: 9, chars: digR(0, 0).chars, charset: "digits", nonZero: true},
	2:  textR(50),
	4:  textR(30),
	5:  textR(30),
	6:  textR(50),
	7:  enumR("0", "1", "2"),
	8:  textR(15),
	9:  textR(2),
	10: textR(13),
	11: textR(30),
	15: enumR("STR", "PF", "GK"),
	16: textR(36),
	17: textR(10),
	18: textR(10),
	19: textR(30),
	20: textR(2),
	33: textR(60),
	99: textR(15),
}

// check validates the formatted value s (non-empty) of column c. It returns a reason or "".
func (r rule) check(s string, kind ColumnKind) string {
	if len(r.enum) > 0 {
		for _, e := range r.enum {
			if s == e {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of %s", s, strings.Join(r.enum, ", "))
	}
	if r.intMax > 0 {
		return checkDecimalText(s, r)
	}
	n := utf8.RuneCountInString(s)
	if r.max > 0 && n > r.max {
		return fmt.Sprintf("%q is %d characters long (max %d)", s, n, r.max)
	}
	if r.min > 0 && n < r.min {
		return fmt.Sprintf("%q is %d characters long (min %d)", s, n, r.min)
	}
	if r.chars != nil {
		for i, c := range s {
			if !r.chars(c) {
				return fmt.Sprintf("%q: character %q at position %d not allowed (allowed: %s)", s, c, utf8.RuneCountInString(s[:i])+1, r.charset)
			}
		}
	}
	if r.nonZero && strings.Trim(s, "0") == "" {
		return fmt.Sprintf("%q must not be 0", s)
	}
	return ""
}

func checkDecimalText(s string, r rule) string { return checkDecimal(s, r) }

// checkDecimal checks a formatted decimal (digits, optional comma and decimals) against r.
// It takes bytes as well as strings so the writer can check a cell in place.
func checkDecimal[T ~string | ~[]byte](s T, r rule) string {
	comma := -1
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			comma = i
			break
		}
	}
	ip, fp := s, s[len(s):]
	if comma >= 0 {
		ip, fp = s[:comma], s[comma+1:]
	}
	bad := len(ip) == 0 || len(ip) > r.intMax || len(fp) > r.fracMax || len(fp) < r.fracMin || (comma >= 0 && len(fp) == 0)
	for i := 0; i < len(ip) && !bad; i++ {
		bad = ip[i] < '0' || ip[i] > '9'
	}
	for i := 0; i < len(fp) && !bad; i++ {
		bad = fp[i] < '0' || fp[i] > '9'
	}
	if bad {
		return fmt.Sprintf("%q does not match %s", string(s), decPattern(r))
	}
	zero := true
	for i := 0; i < len(s) && zero; i++ {
		zero = s[i] == '0' || s[i] == ','
	}
	if r.nonZero && zero {
		return fmt.Sprintf("%q must be greater than 0", string(s))
	}
	return ""
}

func decPattern(r rule) string {
	if r.fracMin == r.fracMax {
		return fmt.Sprintf(`\d{1,%d},\d{%d}`, r.intMax, r.fracMin)
	}
	return fmt.Sprintf(`\d{1,%d}(,\d{%d,%d})`, r.intMax, r.fracMin, r.fracMax)
}

// ---- header -------------------------------------------------------------------------------

// HeaderFields is the number of fields of the version 700 header line.
const HeaderFields = 31

// headerQuoted marks the header fields (1-based) that are written in quotes.
var headerQuoted = [HeaderFields + 1]bool{1: true, 4: true, 8: true, 9: true, 10: true, 17: true, 18: true, 22: true, 24: true, 27: true, 30: true, 31: true}

// Header is the first line of an EXTF file: 31 fields as text, 1-based (Fields[0] unused).
type Header struct {
	Fields [HeaderFields + 1]string
}

// Header field numbers (1-based) used by name.
const (
	hKennzeichen   = 1
	hVersion       = 2
	hKategorie     = 3
	hFormatname    = 4
	hFormatversion = 5
	hErzeugtAm     = 6
	hHerkunft      = 8
	hExportiertVon = 9
	hBerater       = 11
	hMandant       = 12
	hWJBeginn      = 13
	hSKLaenge      = 14
	hDatumVom      = 15
	hDatumBis      = 16
	hBezeichnung   = 17
	hDiktat        = 18
	hBuchungstyp   = 19
	hRLZweck       = 20
	hFestschr      = 21
	hWKZ           = 22
	hSKR           = 27
	hBranche       = 28
	hAnwendung     = 31
)

// appendHeader appends the header line (without line ending).
func (h *Header) appendTo(b []byte) []byte {
	for i := 1; i <= HeaderFields; i++ {
		if i > 1 {
			b = append(b, ';')
		}
		if headerQuoted[i] {
			b = appendQuoted(b, h.Fields[i])
		} else {
			b = append(b, h.Fields[i]...)
		}
	}
	return b
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// period is the Belegdatum range of a Buchungsstapel.
type period struct{ from, to record.Date }

func parseYMD(s string) (record.Date, error) {
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a date YYYYMMDD", s)
	}
	return record.DateOf(t), nil
}

// belegdatum returns the date a TTMM value denotes inside p, or false.
func (p period) belegdatum(ttmm string) (record.Date, bool) {
	if len(ttmm) != 4 {
		return 0, false
	}
	d, err1 := strconv.Atoi(ttmm[:2])
	m, err2 := strconv.Atoi(ttmm[2:])
	if err1 != nil || err2 != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	fy, _, _ := p.from.YMD()
	ty, _, _ := p.to.YMD()
	for y := fy; y <= ty; y++ {
		dt := record.NewDate(y, time.Month(m), d)
		if _, mm, dd := dt.YMD(); int(mm) != m || dd != d { // 3102 normalised away
			return 0, false
		}
		if dt >= p.from && dt <= p.to {
			return dt, true
		}
	}
	return 0, false
}

// ---- line splitting (reader) --------------------------------------------------------------

// field is one parsed cell of a line.
type field struct {
	s      string
	quoted bool
	col    int // 1-based byte column of the cell's first byte
}

// splitLine splits one line (without line ending) at sep, honouring quotes with "" escaping.
// It returns an error message and the 1-based column for a malformed quote.
func splitLine(line string, sep byte, out []field) ([]field, string, int) {
	out = out[:0]
	i := 0
	for {
		start := i
		if i < len(line) && line[i] == '"' {
			var sb strings.Builder
			j := i + 1
			closed := false
			for j < len(line) {
				c := line[j]
				if c == '"' {
					if j+1 < len(line) && line[j+1] == '"' {
						sb.WriteByte('"')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				sb.WriteByte(c)
				j++
			}
			if !closed {
				return out, "unterminated quoted field", start + 1
			}
			if j < len(line) && line[j] != sep {
				return out, fmt.Sprintf("unexpected %q after closing quote", line[j]), j + 1
			}
			out = append(out, field{s: sb.String(), quoted: true, col: start + 1})
			i = j
		} else {
			j := strings.IndexByte(line[i:], sep)
			var s string
			if j < 0 {
				s = line[i:]
				i = len(line)
			} else {
				s = line[i : i+j]
				i += j
			}
			if k := strings.IndexByte(s, '"'); k >= 0 {
				return out, `bare " in unquoted field`, start + k + 1
			}
			out = append(out, field{s: s, col: start + 1})
		}
		if i >= len(line) {
			return out, "", 0
		}
		i++ // skip separator
	}
}
