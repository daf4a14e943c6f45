package sdk

import (
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

func TestNFC(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Mueller", "Mueller"},
		{"Caf\u0065\u0301", "Caf\u00e9"},  // e + combining acute becomes é
		{"Stra\u00dfe", "Stra\u00dfe"},    // already NFC
		{"A\u030a", "\u00c5"},             // A + ring above becomes Å
		{"x\xffy", "x\xffy"},              // invalid UTF-8 stays for the caller to reject
		{"\u1e9b\u0323", "\u1e9b\u0323"},  // NFC, not NFKC: no compatibility mapping
		{"ǅ", "ǅ"},                        // likewise
		{"e\u0301\u0301", "\u00e9\u0301"}, // a second accent stays combining
		{"ASCII only, no table", "ASCII only, no table"},
	} {
		if got := NFC(tc.in); got != tc.want {
			t.Errorf("NFC(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = NFC("plain ASCII text") }); n != 0 {
		t.Errorf("NFC of ASCII allocates %v times", n)
	}
}

func TestYearDigits(t *testing.T) {
	for p, want := range map[string]int{
		"YYYY-MM-DD": 4, "TT.MM.JJJJ": 4, "dd.MM.yyyy": 4, "2006-01-02T15:04:05Z07:00": 4,
		"DD.MM.YY": 2, "TTMMJJ": 2, "yyMMdd": 2, "02.01.06": 2,
		"TTMM": 0, "DD.MM.": 0, "": 0,
	} {
		if got := YearDigits(p); got != want {
			t.Errorf("YearDigits(%q) = %d, want %d", p, got, want)
		}
	}
}

func TestYearWindow(t *testing.T) {
	d := record.NewDate
	for _, tc := range []struct {
		pattern string
		min4    int
		date    record.Date
		want    string
	}{
		{"YYYY-MM-DD", 0, d(0, 1, 1), ""},
		{"YYYY-MM-DD", 0, d(9999, 12, 31), ""},
		{"YYYY-MM-DD", 0, d(-1, 12, 31), "the year -1 does not fit the four digits of YYYY-MM-DD"},
		{"YYYY-MM-DD", 0, d(10000, 1, 1), "the year 10000 does not fit the four digits of YYYY-MM-DD"},
		{"TTMMJJJJ", 1, d(1, 1, 1), ""},
		{"TTMMJJJJ", 1, d(0, 12, 31), "the year 0 does not fit the four digits of TTMMJJJJ"},
		{"DD.MM.YY", 0, d(1969, 1, 1), ""},
		{"DD.MM.YY", 1, d(2068, 12, 31), ""},
		{"DD.MM.YY", 1, d(1968, 12, 31), "the two-digit year of DD.MM.YY holds 1969 to 2068 only, 1968 would read back as another century"},
		{"TTMMJJ", 1, d(2069, 1, 1), "the two-digit year of TTMMJJ holds 1969 to 2068 only, 2069 would read back as another century"},
		{"TTMM", 1, d(20000, 1, 1), ""},
	} {
		w := NewYearWindow(tc.pattern, tc.min4)
		if got := w.Check(tc.date); got != tc.want {
			t.Errorf("NewYearWindow(%q, %d).Check(%s) = %q, want %q", tc.pattern, tc.min4, tc.date, got, tc.want)
		}
	}
	if got := (YearWindow{}).Check(d(-5, 1, 1)); got != "" {
		t.Errorf("zero YearWindow rejects: %q", got)
	}
	if g := NewYearWindow("DD.MM.YY", 1).Digits(); g != 2 {
		t.Errorf("Digits = %d, want 2", g)
	}
	// Read back what a two-digit pattern writes at both ends of the window:
	// the window is the one record.ParseDate applies.
	for _, day := range []record.Date{d(TwoDigitYearMin, 1, 1), d(TwoDigitYearMax, 12, 31)} {
		got, err := record.ParseDate(day.Format("DD.MM.YY"), "DD.MM.YY")
		if err != nil || got != day {
			t.Errorf("%s written as %q reads back as %s (%v)", day, day.Format("DD.MM.YY"), got, err)
		}
	}
}
