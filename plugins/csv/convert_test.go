package csv

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

func TestCivilDays(t *testing.T) {
	for d := record.NewDate(1600, 1, 1); d <= record.NewDate(2400, 12, 31); d++ {
		y, m, dd := d.YMD()
		if got := daysFromCivil(y, int(m), dd); got != int64(d) {
			t.Fatalf("daysFromCivil(%d,%d,%d) = %d, want %d", y, m, dd, got, d)
		}
		if gy, gm, gd := civilFromDays(int64(d)); gy != y || gm != int(m) || gd != dd {
			t.Fatalf("civilFromDays(%d) = %d-%d-%d, want %s", d, gy, gm, gd, d)
		}
	}
}

// TestDateFastPath checks that the compiled patterns agree with
// record.ParseDate and Date.Format, the reference implementations.
func TestDateFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, layout := range []string{"DD.MM.YYYY", "YYYY-MM-DD", "YYYYMMDD", "TT.MM.JJJJ", "DDMMYYYY", "MM/DD/YYYY"} {
		dp := compileDate(layout)
		if dp == nil {
			t.Fatalf("%s did not compile", layout)
		}
		for range 3000 {
			y, m, d := 1900+rng.IntN(250), rng.IntN(14), rng.IntN(33)
			s := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format(record.GoLayout(layout))
			// Put raw (possibly invalid) month and day digits into the text.
			raw := []byte(s)
			for i, tk, pos := 0, dp.toks, 0; i < len(tk); i++ {
				switch tk[i].kind {
				case 'M':
					raw[pos], raw[pos+1] = byte('0'+m/10), byte('0'+m%10)
				case 'D':
					raw[pos], raw[pos+1] = byte('0'+d/10), byte('0'+d%10)
				}
				if tk[i].kind == 'Y' {
					pos += 4
				} else if tk[i].kind == 0 {
					pos++
				} else {
					pos += 2
				}
			}
			s = string(raw)
			fast, ok := dp.parse(s)
			ref, err := record.ParseDate(s, layout)
			if ok != (err == nil) || ok && fast != ref {
				t.Fatalf("%s %q: fast %v %v, reference %v %v", layout, s, fast, ok, ref, err)
			}
			if ok {
				if got, want := string(dp.appendDate(nil, fast)), ref.Format(layout); got != want {
					t.Fatalf("format %s: %q, want %q", layout, got, want)
				}
			}
		}
	}
	for _, bad := range []string{"YY.MM.DD", "DD.MM.YYYY hh:mm", "02.01.2006", "DD.MM.", "MMMM"} {
		if compileDate(bad) != nil {
			t.Errorf("%q compiled, want the slow path", bad)
		}
	}
}

func TestDecimalFastPath(t *testing.T) {
	cases := []string{"0", "1", "-1", "12.50", "-0.00", "0.001", "123456789012345678", "1234567890123456789",
		"1.", ".5", "+1", "1.2.3", "", "-", "1e3", " 1", "00012.3400", "99999999999999999.99"}
	for _, sep := range []byte{'.', ','} {
		for _, c := range cases {
			if sep == ',' {
				c = replaceByte(c, '.', ',')
			}
			checkDecimal(t, c, sep)
		}
	}
}

func replaceByte(s string, a, b byte) string {
	r := []byte(s)
	for i := range r {
		if r[i] == a {
			r[i] = b
		}
	}
	return string(r)
}

func checkDecimal(t *testing.T, s string, sep byte) {
	t.Helper()
	v, ok := parseDecimalFast(s, sep, 0)
	ref, err := record.ParseDecimal(s, sep)
	if ok && err != nil {
		t.Fatalf("%q: fast path accepts what ParseDecimal rejects (%v)", s, err)
	}
	if ok && (v.Decimal().String() != ref.String()) {
		t.Fatalf("%q: fast %s, reference %s", s, v.Decimal(), ref)
	}
}

func FuzzDecimalFastPath(f *testing.F) {
	f.Add("12.50", true)
	f.Add("-0,5", false)
	f.Fuzz(func(t *testing.T, s string, dot bool) {
		sep := byte(',')
		if dot {
			sep = '.'
		}
		checkDecimal(t, s, sep)
	})
}

// TestThousands covers the grouped forms csv.read accepts and rejects, for
// decimal and int columns.
func TestThousands(t *testing.T) {
	for _, tc := range []struct {
		in        string
		sep, thou byte
		kind      record.Kind
		want      string // value, or "!" + the error
	}{
		{"1.234,50", ',', '.', record.KindDecimal, "1234.50"},
		{"1.234.567,89", ',', '.', record.KindDecimal, "1234567.89"},
		{"-1.234,5", ',', '.', record.KindDecimal, "-1234.5"},
		{"+1.234", ',', '.', record.KindDecimal, "1234"},
		{"999,99", ',', '.', record.KindDecimal, "999.99"},
		{"1234,50", ',', '.', record.KindDecimal, "1234.50"},
		{"1 234,50", ',', ' ', record.KindDecimal, "1234.50"},
		{"1'234.50", '.', '\'', record.KindDecimal, "1234.50"},
		{"12,345,678.9", '.', ',', record.KindDecimal, "12345678.9"},
		{"1.234.567.890.123.456.789", ',', '.', record.KindDecimal, "1234567890123456789"},
		{"123.456.789.012.345.678.901,5", ',', '.', record.KindDecimal, "!decimal overflow: \"123.456.789.012.345.678.901,5\" has more digits than a decimal holds exactly (19 significant digits, 19 decimal places)"},
		{"9.999.999.999.999.999.999.999", ',', '.', record.KindDecimal, "!decimal overflow: \"9.999.999.999.999.999.999.999\" has more digits than a decimal holds exactly (19 significant digits, 19 decimal places)"},
		{"12.34,5", ',', '.', record.KindDecimal, "!invalid decimal \"12.34,5\": group \"34\" after the thousands separator '.' has 2 digits, want 3"},
		{"1..234", ',', '.', record.KindDecimal, "!invalid decimal \"1..234\": group \"\" after the thousands separator '.' has 0 digits, want 3"},
		{"1234.567", ',', '.', record.KindDecimal, "!invalid decimal \"1234.567\": 4 digits before the first thousands separator '.', want 1 to 3"},
		{".123", ',', '.', record.KindDecimal, "!invalid decimal \".123\": 0 digits before the first thousands separator '.', want 1 to 3"},
		{"0.123", ',', '.', record.KindDecimal, "!invalid decimal \"0.123\": a number grouped with the thousands separator '.' must not start with 0"},
		{"1.234,567.8", ',', '.', record.KindDecimal, "!invalid decimal \"1.234,567.8\": thousands separator '.' after the decimal separator ','"},
		{"1.2345", ',', '.', record.KindDecimal, "!invalid decimal \"1.2345\": group \"2345\" after the thousands separator '.' has 4 digits, want 3"},
		{"1.234,", ',', '.', record.KindDecimal, "1234"}, // as 1234, reads
		{"1.234,5,6", ',', '.', record.KindDecimal, "!invalid decimal \"1.234,5,6\""},
		{"1x.234", ',', '.', record.KindDecimal, "!invalid decimal \"1x.234\": thousands separator '.' in the wrong place"},
		{"1'23", '.', '\'', record.KindDecimal, "!invalid decimal \"1'23\": group \"23\" after the thousands separator \"'\" has 2 digits, want 3"},
		{"12.5", ',', 0, record.KindDecimal, "!invalid decimal \"12.5\": '.' found but the decimal separator is ','"},
		{"1.234", ',', '.', record.KindInt, "1234"},
		{"-9.223.372.036.854.775.808", ',', '.', record.KindInt, "-9223372036854775808"},
		{"9.223.372.036.854.775.807", ',', '.', record.KindInt, "9223372036854775807"},
		{"9.223.372.036.854.775.808", ',', '.', record.KindInt, "!integer \"9.223.372.036.854.775.808\" out of range"},
		{"1 000", '.', ' ', record.KindInt, "1000"},
		{"1.234,00", ',', '.', record.KindInt, "!invalid integer \"1.234,00\""},
		{"12.34", ',', '.', record.KindInt, "!invalid integer \"12.34\": group \"34\" after the thousands separator '.' has 2 digits, want 3"},
		{"1.234", ',', 0, record.KindInt, "!invalid integer \"1.234\""},
	} {
		c := newConverter(tc.kind, tc.sep, tc.thou, "")
		v, err := c.convert(tc.in)
		got := ""
		if err != nil {
			got = "!" + err.Error()
		} else {
			got = v.String()
		}
		if got != tc.want {
			t.Errorf("%s %q (sep %c, thousands %q): got %s, want %s", tc.kind, tc.in, tc.sep, tc.thou, got, tc.want)
		}
	}
}

func TestAppendGrouped(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0"}, {"-1", "-1"}, {"123", "123"}, {"1234", "1.234"}, {"-123456", "-123.456"},
		{"1234567,89", "1.234.567,89"}, {"-1000,0", "-1.000,0"}, {"12345678901234567890", "12.345.678.901.234.567.890"},
	} {
		b := append([]byte("x;"), tc.in...)
		if got := string(appendGrouped(b, 2, '.')); got != "x;"+tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, "x;"+tc.want)
		}
	}
}

// thousandsPairs are the decimal and thousands separators the grouped
// tests combine.
var thousandsPairs = [][2]byte{{',', '.'}, {'.', ','}, {',', ' '}, {'.', ' '}, {'.', '\''}, {',', '\''}}

var groupedRE = map[byte]*regexp.Regexp{}

func init() {
	for _, p := range thousandsPairs {
		t := regexp.QuoteMeta(string(rune(p[1])))
		groupedRE[p[1]] = regexp.MustCompile(`^[+-]?[1-9][0-9]{0,2}(?:` + t + `[0-9]{3})+`)
	}
}

// refGrouped is the reference for grouped numbers: a well-grouped integer
// part (a regular expression) and no separator elsewhere; it returns the
// text without separators, or ok false.
func refGrouped(s string, thou byte) (string, bool) {
	m := groupedRE[thou].FindString(s)
	if m == "" {
		return "", false
	}
	rest := s[len(m):]
	if rest != "" && rest[0] >= '0' && rest[0] <= '9' || strings.IndexByte(rest, thou) >= 0 {
		return "", false
	}
	return strings.ReplaceAll(s, string(rune(thou)), ""), true
}

// FuzzThousands checks the grouped parse paths of decimal and int columns
// against the reference (a regular expression for the grouping, then
// record.ParseDecimal / strconv.ParseInt of the text without separators),
// and that what csv.write groups reads back to the same value.
func FuzzThousands(f *testing.F) {
	f.Add("1.234,50", uint8(0), int64(123450), uint8(2))
	f.Add("12.34,5", uint8(0), int64(-1), uint8(0))
	f.Add("1..234", uint8(0), int64(1000), uint8(0))
	f.Add("1,234,567.8", uint8(1), int64(-12345678), uint8(1))
	f.Add("1 234,50", uint8(2), int64(999), uint8(0))
	f.Add("1'234.50", uint8(4), int64(1234567890123456789), uint8(5))
	f.Add("0.123", uint8(0), int64(0), uint8(3))
	f.Add("-9.223.372.036.854.775.808", uint8(0), int64(-9223372036854775808), uint8(0))
	f.Fuzz(func(t *testing.T, s string, mode uint8, coef int64, scale uint8) {
		pair := thousandsPairs[int(mode)%len(thousandsPairs)]
		sep, thou := pair[0], pair[1]
		dc := newConverter(record.KindDecimal, sep, thou, "")
		ic := newConverter(record.KindInt, sep, thou, "")
		v, err := dc.convert(s)
		iv, ierr := ic.convert(s)
		plain, grouped := s, false
		if strings.IndexByte(s, thou) >= 0 {
			var ok bool
			if plain, ok = refGrouped(s, thou); !ok {
				if err == nil || ierr == nil {
					t.Fatalf("%q (sep %c, thousands %q): accepted (%v, %v) but the grouping is wrong", s, sep, thou, v, iv)
				}
				return
			}
			grouped = true
		}
		ref, rerr := record.ParseDecimal(plain, sep)
		if (err == nil) != (rerr == nil) || err == nil && v.Decimal().String() != ref.String() {
			t.Fatalf("%q (sep %c, thousands %q): decimal %v %v, reference %v %v", s, sep, thou, v, err, ref, rerr)
		}
		iref, irerr := strconv.ParseInt(plain, 10, 64)
		if (ierr == nil) != (irerr == nil) || ierr == nil && iv.Int() != iref {
			t.Fatalf("%q (sep %c, thousands %q): int %v %v, reference %v %v", s, sep, thou, iv, ierr, iref, irerr)
		}
		if err == nil && !grouped && dc.thou != 0 {
			// A value without separators reads as it does without the option.
			c0 := newConverter(record.KindDecimal, sep, 0, "")
			if v0, err0 := c0.convert(s); err0 != nil || v0.Decimal().String() != v.Decimal().String() {
				t.Fatalf("%q: %v without thousands, %v with", s, v0, v)
			}
		}
		// Write side: group a decimal and an int, read them back.
		d, derr := record.NewDecimal(coef, int(scale%20))
		if derr != nil {
			return
		}
		b := []byte("x")
		b = d.AppendText(b)
		for i := range b {
			if b[i] == '.' {
				b[i] = sep
			}
		}
		txt := string(appendGrouped(b, 1, thou)[1:])
		back, err := dc.convert(txt)
		if err != nil || back.Decimal().String() != d.String() {
			t.Fatalf("decimal %s written as %q read back as %v %v", d, txt, back, err)
		}
		itxt := string(appendGrouped(strconv.AppendInt(nil, coef, 10), 0, thou))
		if iback, err := ic.convert(itxt); err != nil || iback.Int() != coef {
			t.Fatalf("int %d written as %q read back as %v %v", coef, itxt, iback, err)
		}
	})
}
