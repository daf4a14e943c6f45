package csv

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

// datePattern is a date pattern compiled for fast parsing and formatting.
// Only patterns made of YYYY, MM, DD (and JJJJ, TT, yyyy, dd) and literal
// non-letter characters compile; others (YY, times, Go layouts) use the
// time package through record.ParseDate and Date.Format.
type datePattern struct {
	toks []dateTok
	n    int // length of a matching text
}

type dateTok struct {
	kind byte // 'Y' (4 digits), 'M', 'D' (2 digits), 0 literal
	lit  byte
}

func compileDate(p string) *datePattern {
	dp := &datePattern{}
	for i := 0; i < len(p); {
		switch {
		case hasAnyPrefix(p[i:], "YYYY", "JJJJ", "yyyy"):
			dp.toks = append(dp.toks, dateTok{kind: 'Y'})
			i += 4
			dp.n += 4
		case strings.HasPrefix(p[i:], "MM"):
			dp.toks = append(dp.toks, dateTok{kind: 'M'})
			i += 2
			dp.n += 2
		case hasAnyPrefix(p[i:], "DD", "TT", "dd"):
			dp.toks = append(dp.toks, dateTok{kind: 'D'})
			i += 2
			dp.n += 2
		case p[i] >= 0x80 || p[i] >= 'a' && p[i] <= 'z' || p[i] >= 'A' && p[i] <= 'Z' || p[i] >= '0' && p[i] <= '9':
			return nil
		default:
			dp.toks = append(dp.toks, dateTok{lit: p[i]})
			i++
			dp.n++
		}
	}
	var y, m, d int
	for _, t := range dp.toks {
		switch t.kind {
		case 'Y':
			y++
		case 'M':
			m++
		case 'D':
			d++
		}
	}
	if y != 1 || m != 1 || d != 1 {
		return nil
	}
	return dp
}

func hasAnyPrefix(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// parse parses s; ok is false when s does not match (the caller then asks
// record.ParseDate for the authoritative answer and its message).
func (dp *datePattern) parse(s string) (record.Date, bool) {
	if len(s) != dp.n {
		return 0, false
	}
	var y, m, d int
	i := 0
	for _, t := range dp.toks {
		w := 2
		switch t.kind {
		case 0:
			if s[i] != t.lit {
				return 0, false
			}
			i++
			continue
		case 'Y':
			w = 4
		}
		v := 0
		for k := 0; k < w; k++ {
			c := s[i+k]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		i += w
		switch t.kind {
		case 'Y':
			y = v
		case 'M':
			m = v
		case 'D':
			d = v
		}
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return record.Date(daysFromCivil(y, m, d)), true
}

// appendDate formats d with the pattern.
func (dp *datePattern) appendDate(b []byte, d record.Date) []byte {
	y, m, dd := civilFromDays(int64(d))
	for _, t := range dp.toks {
		switch t.kind {
		case 0:
			b = append(b, t.lit)
		case 'Y':
			if y < 0 || y > 9999 {
				return append(b, strconv.Itoa(y)...)
			}
			b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
		case 'M':
			b = append(b, byte('0'+m/10), byte('0'+m%10))
		case 'D':
			b = append(b, byte('0'+dd/10), byte('0'+dd%10))
		}
	}
	return b
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns days since 1970-01-01 (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func civilFromDays(z int64) (int, int, int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

// parseDecimalFast handles the common shapes -?\d{1,18}(sep\d+)? without
// allocating; ok false means "ask record.ParseDecimal". thou (0: none) is
// a thousands separator skipped in the integer part: pass it only for a
// text whose grouping checkGroups accepted.
func parseDecimalFast(s string, sep, thou byte) (record.Value, bool) {
	i := 0
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, i = true, 1
	}
	var coef int64
	digits, scale := 0, -1
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			coef = coef*10 + int64(c-'0')
			digits++
			if scale >= 0 {
				scale++
			}
			if digits > 18 {
				return record.Null, false
			}
		case c == sep && scale < 0 && digits > 0:
			scale = 0
		case c == thou && thou != 0 && scale < 0:
		default:
			return record.Null, false
		}
	}
	if digits == 0 || scale == 0 {
		return record.Null, false
	}
	if scale < 0 {
		scale = 0
	}
	d, err := record.NewDecimal(coef, scale)
	if err != nil {
		return record.Null, false
	}
	if neg {
		d = d.Neg()
	}
	return record.Dec(d), true
}

// Thousands separators (the thousands option of csv.read and csv.write).
var thousandsSeps = []string{"", ".", ",", " ", "'"}

// sepName quotes a separator for messages: '.', ',', ' ' and "'".
func sepName(b byte) string {
	if b == '\'' {
		return `"'"`
	}
	return "'" + string(rune(b)) + "'"
}

// checkGroups checks the digit grouping of s, a number containing the
// thousands separator thou. After an optional sign the integer part (up
// to the decimal separator sep) must be a group of 1 to 3 digits that does
// not start with 0, then groups of exactly three digits, each after one
// thou; thou must not occur anywhere else. It returns "" when the grouping
// is right (other characters are left to the number parser) or the reason
// it is wrong. It does not allocate unless the grouping is wrong.
func checkGroups(s string, sep, thou byte) string {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < len(s) && s[i] == thou {
		switch first := s[start:i]; {
		case len(first) == 0 || len(first) > 3:
			return fmt.Sprintf("%d digits before the first thousands separator %s, want 1 to 3", len(first), sepName(thou))
		case first[0] == '0':
			return fmt.Sprintf("a number grouped with the thousands separator %s must not start with 0", sepName(thou))
		}
	}
	for i < len(s) && s[i] == thou {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i-j != 3 {
			return fmt.Sprintf("group %q after the thousands separator %s has %d digits, want 3", s[j:i], sepName(thou), i-j)
		}
	}
	if strings.IndexByte(s[i:], thou) >= 0 {
		if i < len(s) && s[i] == sep {
			return fmt.Sprintf("thousands separator %s after the decimal separator %s", sepName(thou), sepName(sep))
		}
		return fmt.Sprintf("thousands separator %s in the wrong place", sepName(thou))
	}
	return ""
}

// stripByte returns s without the bytes b (allocates; rare paths only).
func stripByte(s string, b byte) string {
	return strings.ReplaceAll(s, string(rune(b)), "")
}

// parseGroupedDecimal parses s, a decimal text that contains thou.
func parseGroupedDecimal(s string, sep, thou byte) (record.Value, error) {
	if reason := checkGroups(s, sep, thou); reason != "" {
		return record.Null, fmt.Errorf("%w %q: %s", record.ErrDecimalSyntax, s, reason)
	}
	if v, ok := parseDecimalFast(s, sep, thou); ok {
		return v, nil
	}
	d, err := record.ParseDecimal(stripByte(s, thou), sep)
	if err != nil {
		if errors.Is(err, record.ErrDecimalOverflow) {
			return record.Null, fmt.Errorf("%w: %q has more digits than a decimal holds exactly (19 significant digits, 19 decimal places)", record.ErrDecimalOverflow, s)
		}
		return record.Null, fmt.Errorf("%w %q", record.ErrDecimalSyntax, s)
	}
	return record.Dec(d), nil
}

// parseGroupedInt parses s, an integer text that contains thou.
func parseGroupedInt(s string, sep, thou byte) (record.Value, error) {
	if reason := checkGroups(s, sep, thou); reason != "" {
		return record.Null, fmt.Errorf("invalid integer %q: %s", s, reason)
	}
	i := 0
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var n uint64
	digits := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == thou {
			continue
		}
		if c < '0' || c > '9' {
			return record.Null, fmt.Errorf("invalid integer %q", s)
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return record.Null, fmt.Errorf("integer %q out of range", s)
		}
		n = n*10 + d
		digits++
	}
	if digits == 0 {
		return record.Null, fmt.Errorf("invalid integer %q", s)
	}
	if neg {
		return record.Int(int64(-n)), nil
	}
	return record.Int(int64(n)), nil
}

// appendGrouped inserts thou between groups of three digits into the
// integer part of the number in b[start:] (an optional '-', digits, then
// anything that is not a digit).
func appendGrouped(b []byte, start int, thou byte) []byte {
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n := (j - i - 1) / 3 // separators to insert
	if n <= 0 {
		return b
	}
	old := len(b)
	for range n {
		b = append(b, 0)
	}
	copy(b[j+n:], b[j:old]) // the part after the integer digits
	w := j + n
	for k, r := j-1, 0; k >= i; k-- {
		w--
		b[w] = b[k]
		if r++; r == 3 && k > i {
			w--
			b[w] = thou
			r = 0
		}
	}
	return b
}

// parseBool accepts true/false, 1/0, yes/no, y/n, ja/nein, j, wahr/falsch
// (case-insensitive).
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y", "ja", "j", "wahr", "t":
		return true, true
	case "false", "0", "no", "n", "nein", "falsch", "f":
		return false, true
	}
	return false, false
}

// converter turns the text of one field into a Value of a column's kind.
type converter struct {
	kind    record.Kind
	sep     byte         // decimal separator
	thou    byte         // thousands separator, 0: none
	layout  string       // date/datetime pattern as configured
	goTime  string       // Go layout for datetimes
	fast    *datePattern // compiled date pattern, nil if not compilable
	hasZone bool         // datetime layout carries a zone
	// zoneName: the layout has a zone abbreviation, which time.Parse keeps
	// a substring of (the text is a view of the scanner's buffer).
	zoneName bool
}

func newConverter(kind record.Kind, sep, thou byte, layout string) converter {
	c := converter{kind: kind, sep: sep, thou: thou, layout: layout}
	switch kind {
	case record.KindDate:
		c.fast = compileDate(layout)
	case record.KindDateTime:
		if layout == "" {
			c.goTime = time.RFC3339
		} else {
			c.goTime = record.GoLayout(layout)
		}
		c.zoneName = strings.Contains(c.goTime, "MST")
		c.hasZone = strings.Contains(c.goTime, "Z07") || strings.Contains(c.goTime, "-07") || c.zoneName
	}
	return c
}

// convert parses s (already trimmed, not a null value). s may be a view
// of the scanner's buffer: the result must not keep it.
func (c *converter) convert(s string) (record.Value, error) {
	switch c.kind {
	case record.KindString:
		return record.String(strings.Clone(s)), nil
	case record.KindDecimal:
		if v, ok := parseDecimalFast(s, c.sep, 0); ok {
			return v, nil
		}
		if c.thou != 0 && strings.IndexByte(s, c.thou) >= 0 {
			return parseGroupedDecimal(s, c.sep, c.thou)
		}
		d, err := record.ParseDecimal(s, c.sep) // never rounds: too many digits is ErrDecimalOverflow
		if err != nil {
			return record.Null, err
		}
		return record.Dec(d), nil
	case record.KindInt:
		if c.thou != 0 && strings.IndexByte(s, c.thou) >= 0 {
			return parseGroupedInt(s, c.sep, c.thou) // before ParseInt: its errors allocate
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return record.Null, fmt.Errorf("integer %q out of range", s)
			}
			return record.Null, fmt.Errorf("invalid integer %q", s)
		}
		return record.Int(i), nil
	case record.KindBool:
		b, ok := parseBool(s)
		if !ok {
			return record.Null, fmt.Errorf("invalid bool %q (want true/false, 1/0, yes/no, ja/nein)", s)
		}
		return record.Bool(b), nil
	case record.KindDate:
		if c.fast != nil {
			if d, ok := c.fast.parse(s); ok {
				return record.DateValue(d), nil
			}
		}
		d, err := record.ParseDate(s, c.layout)
		if err != nil {
			return record.Null, err
		}
		return record.DateValue(d), nil
	case record.KindDateTime:
		var t time.Time
		var err error
		if c.zoneName {
			s = strings.Clone(s)
		}
		if c.hasZone {
			t, err = time.Parse(c.goTime, s)
		} else {
			t, err = time.ParseInLocation(c.goTime, s, time.Local)
		}
		if err != nil {
			return record.Null, fmt.Errorf("invalid datetime %q (want %s)", s, c.display())
		}
		return record.DateTime(t), nil
	}
	return record.String(strings.Clone(s)), nil
}

func (c *converter) display() string {
	if c.layout == "" {
		return "RFC 3339, e.g. 2026-01-31T14:30:00+01:00"
	}
	return c.layout
}
