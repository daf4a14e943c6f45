package calendar

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

func day(s string) record.Date {
	d, err := record.ParseDate(s, "YYYY-MM-DD")
	if err != nil {
		panic(err)
	}
	return d
}

func TestIsTargetDay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		date   string
		open   bool
		reason string
	}{
		{"2026-01-01", false, "New Year's Day"},
		{"2026-01-02", true, ""},
		{"2026-04-02", true, ""}, // Maundy Thursday
		{"2026-04-03", false, "Good Friday"},
		{"2026-04-04", false, "Saturday"},
		{"2026-04-05", false, "Sunday"}, // Easter Sunday
		{"2026-04-06", false, "Easter Monday"},
		{"2026-04-07", true, ""},
		{"2026-05-01", false, "Labour Day"},
		{"2026-05-14", true, ""}, // Ascension: German holiday, TARGET open
		{"2026-06-04", true, ""}, // Corpus Christi
		{"2026-10-03", false, "Saturday"},
		{"2025-10-03", true, ""}, // German Unity Day on a Friday: TARGET open
		{"2026-12-24", true, ""},
		{"2026-12-25", false, "Christmas Day"},
		{"2026-12-26", false, "Saturday"},
		{"2025-12-26", false, "Christmas Holiday"},
		{"2026-12-31", true, ""},
		{"2025-04-18", false, "Good Friday"},
		{"2025-04-21", false, "Easter Monday"},
		{"2027-03-26", false, "Good Friday"},
		{"2027-03-29", false, "Easter Monday"},
		{"2024-03-29", false, "Good Friday"},
		{"2024-04-01", false, "Easter Monday"},
		{"1969-12-31", true, ""}, // before the epoch: weekday arithmetic on negative days
		{"1969-12-27", false, "Saturday"},
		{"2500-04-16", false, "Good Friday"}, // outside the cache range
	} {
		d := day(tc.date)
		if got := IsTargetDay(d); got != tc.open {
			t.Errorf("IsTargetDay(%s) = %v, want %v", tc.date, got, tc.open)
		}
		if got := TargetClosingReason(d); got != tc.reason {
			t.Errorf("TargetClosingReason(%s) = %q, want %q", tc.date, got, tc.reason)
		}
	}
}

func TestWeekdayMatchesTime(t *testing.T) {
	t.Parallel()
	for d := day("1960-01-01"); d < day("2040-01-01"); d += 17 {
		if weekday(d) != d.Weekday() {
			t.Fatalf("weekday(%s) = %v, want %v", d, weekday(d), d.Weekday())
		}
	}
}

func TestAddTargetDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-04-02", 0, "2026-04-02"},
		{"2026-04-02", 1, "2026-04-07"}, // over Good Friday, weekend, Easter Monday
		{"2026-04-02", 2, "2026-04-08"},
		{"2026-04-03", 0, "2026-04-07"}, // closed day rolls forward
		{"2026-04-04", 1, "2026-04-08"},
		{"2026-04-07", -1, "2026-04-02"},
		{"2026-04-06", -1, "2026-04-01"}, // rolls back to 04-02, then one more
		{"2026-04-30", 1, "2026-05-04"},
		{"2026-12-24", 1, "2026-12-28"},
		{"2026-12-31", 1, "2027-01-04"},
		{"2027-01-04", -1, "2026-12-31"},
		{"2026-11-23", 5, "2026-11-30"},
		{"2026-11-23", -5, "2026-11-16"},
		{"2026-01-01", 0, "2026-01-02"},
	} {
		if got := AddTargetDays(day(tc.from), tc.n); got != day(tc.want) {
			t.Errorf("AddTargetDays(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
	if got := NextTargetDay(day("2026-04-02")); got != day("2026-04-07") {
		t.Errorf("NextTargetDay = %s", got)
	}
	if got := NextTargetDay(day("2026-04-07")); got != day("2026-04-08") {
		t.Errorf("NextTargetDay(business day) = %s, want the day after", got)
	}
	if got := PrevTargetDay(day("2026-01-02")); got != day("2025-12-31") {
		t.Errorf("PrevTargetDay = %s", got)
	}
	// 2026 has 365 days, 104 weekend days and 4 weekday closing days
	// (1 Jan Thu, Good Friday, Easter Monday, 1 May Fri, 25 Dec Fri = 5).
	if n := TargetDaysBetween(day("2025-12-31"), day("2026-12-31")); n != 365-104-5 {
		t.Errorf("TargetDaysBetween(2026) = %d, want %d", n, 365-104-5)
	}
	if n := TargetDaysBetween(day("2026-04-07"), day("2026-04-02")); n != 0 {
		t.Errorf("TargetDaysBetween(reversed) = %d", n)
	}
	for k := 0; k < 30; k++ {
		from := day("2026-03-30")
		if n := TargetDaysBetween(from, AddTargetDays(from, k)); n != k {
			t.Errorf("TargetDaysBetween(from, AddTargetDays(from, %d)) = %d", k, n)
		}
	}
}

func TestGermanHoliday(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		date, state string
		want        string
	}{
		{"2026-06-04", "NW", "Fronleichnam"},
		{"2026-06-04", "by", "Fronleichnam"},
		{"2026-06-04", "DE-BW", "Fronleichnam"},
		{"2026-06-04", "BE", ""},
		{"2026-06-04", "", ""},
		{"2026-01-06", "BY", "Heilige Drei Könige"},
		{"2026-01-06", "NW", ""},
		{"2026-10-31", "NI", "Reformationstag"},
		{"2026-10-31", "NW", ""},
		{"2026-11-18", "SN", "Buß- und Bettag"},
		{"2026-03-08", "BE", "Frauentag"},
		{"2026-10-03", "", "Tag der Deutschen Einheit"},
		{"2026-05-14", "HH", "Christi Himmelfahrt"},
		{"2026-05-25", "", "Pfingstmontag"},
		{"2026-12-24", "", ""},
		{"2026-11-01", "NW", "Allerheiligen"},
	} {
		name, ok, err := GermanHoliday(day(tc.date), tc.state)
		if err != nil || name != tc.want || ok != (tc.want != "") {
			t.Errorf("GermanHoliday(%s, %q) = %q, %v, %v; want %q", tc.date, tc.state, name, ok, err, tc.want)
		}
	}
	if _, err := IsGermanHoliday(day("2026-01-01"), "XX"); err == nil || !strings.Contains(err.Error(), `unknown german state "XX" (want one of BB, BE, BW, BY, HB, HE, HH, MV, NI, NW, RP, SH, SL, SN, ST, TH)`) {
		t.Errorf("IsGermanHoliday(XX) error = %v", err)
	}
	if ok, err := IsGermanHoliday(day("2026-01-01"), "nw"); !ok || err != nil {
		t.Errorf("IsGermanHoliday(Neujahr, nw) = %v, %v", ok, err)
	}
	if n := len(GermanStates()); n != 16 {
		t.Errorf("GermanStates has %d entries", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for y := 2000; y < 2100; y++ {
				d := record.NewDate(y, time.May, 1)
				if IsTargetDay(d) {
					t.Errorf("1 May %d reported open", y)
				}
				_, _, _ = GermanHoliday(d, GermanStates()[g])
			}
		}(g)
	}
	wg.Wait()
}

func BenchmarkIsTargetDay(b *testing.B) {
	d := day("2026-04-02")
	b.ReportAllocs()
	for b.Loop() {
		_ = IsTargetDay(d)
	}
}

func BenchmarkAddTargetDays(b *testing.B) {
	d := day("2026-04-02")
	b.ReportAllocs()
	for b.Loop() {
		_ = AddTargetDays(d, 5)
	}
}
