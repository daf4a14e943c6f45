package csv

import (
	"math/rand/v2"
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
	v, ok := parseDecimalFast(s, sep)
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
