package cron

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "empty"},
		{"* * * *", "with 5 fields"},
		{"60 * * * *", "minute field \"60\": 60 is out of range 0-59"},
		{"* 24 * * *", "hour field"},
		{"* * 0 * *", "day of month field"},
		{"* * * 13 *", "month field"},
		{"* * * * 8", "day of week field"},
		{"5-1 * * * *", "backwards"},
		{"*/0 * * * *", "positive"},
		{"1,,2 * * * *", "empty list element"},
		{"* * L * *", "not supported"},
		{"0 0 30 2 *", "never due"},
		{"@fortnightly", "unknown descriptor"},
		{"@every 10ms", "shorter than one second"},
		{"@every soon", "invalid duration"},
		{"x * * * *", "not a number"},
	} {
		_, err := Parse(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.expr, err, tc.want)
		}
	}
}

func TestNext(t *testing.T) {
	utc := time.UTC
	ber := mustLoc(t, "Europe/Berlin")
	at := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		expr  string
		loc   *time.Location
		after string
		want  []string // successive results, as local wall time with zone abbreviation
	}{
		{"* * * * *", utc, "2026-01-01 10:00", []string{"2026-01-01 10:01 UTC", "2026-01-01 10:02 UTC"}},
		{"*/15 * * * *", utc, "2026-01-01 10:07", []string{"2026-01-01 10:15 UTC", "2026-01-01 10:30 UTC", "2026-01-01 10:45 UTC", "2026-01-01 11:00 UTC"}},
		{"0 9-17/4 * * *", utc, "2026-01-01 10:00", []string{"2026-01-01 13:00 UTC", "2026-01-01 17:00 UTC", "2026-01-02 09:00 UTC"}},
		{"30 6 * * mon-fri", utc, "2026-11-20 07:00", []string{"2026-11-23 06:30 UTC", "2026-11-24 06:30 UTC"}}, // Fri -> Mon
		{"0 0 1,15 * *", utc, "2026-01-01 00:00", []string{"2026-01-15 00:00 UTC", "2026-02-01 00:00 UTC"}},
		{"0 0 13 * 5", utc, "2026-01-01 00:00", []string{"2026-01-02 00:00 UTC", "2026-01-09 00:00 UTC", "2026-01-13 00:00 UTC"}}, // OR rule
		{"0 0 * jan,feb sun", utc, "2026-02-27 00:00", []string{"2027-01-03 00:00 UTC"}},
		{"0 0 29 2 *", utc, "2026-01-01 00:00", []string{"2028-02-29 00:00 UTC"}},
		{"0 0 * * 7", utc, "2026-11-23 00:00", []string{"2026-11-29 00:00 UTC"}},
		{"@hourly", utc, "2026-01-01 10:59", []string{"2026-01-01 11:00 UTC"}},
		{"@daily", ber, "2026-01-01 10:00", []string{"2026-01-02 00:00 CET"}},
		{"@weekly", utc, "2026-11-23 00:00", []string{"2026-11-29 00:00 UTC"}},
		{"@monthly", utc, "2026-11-23 00:00", []string{"2026-12-01 00:00 UTC"}},
		{"@yearly", utc, "2026-11-23 00:00", []string{"2027-01-01 00:00 UTC"}},
		{"@every 20m", utc, "2026-01-01 10:05", []string{"2026-01-01 10:20 UTC", "2026-01-01 10:40 UTC"}},
		// Spring forward in Berlin (2026-03-29 02:00 CET -> 03:00 CEST):
		// a daily 02:30 job runs at the jump, once.
		{"30 2 * * *", ber, "2026-03-28 12:00", []string{"2026-03-29 03:00 CEST", "2026-03-30 02:30 CEST"}},
		// every 30 minutes across the gap: 01:30, then 03:00 (gap slots collapse), 03:30
		{"*/30 * * * *", ber, "2026-03-29 01:00", []string{"2026-03-29 01:30 CET", "2026-03-29 03:00 CEST", "2026-03-29 03:30 CEST"}},
		// Fall back (2026-10-25 03:00 CEST -> 02:00 CET): a fixed-hour job runs once,
		{"30 2 * * *", ber, "2026-10-24 12:00", []string{"2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"}},
		// an hour-wildcard job runs in both copies of the hour.
		{"30 * * * *", ber, "2026-10-25 01:00", []string{"2026-10-25 01:30 CEST", "2026-10-25 02:30 CEST", "2026-10-25 02:30 CET", "2026-10-25 03:30 CET"}},
		// New York: 2026-03-08 02:00 EST -> 03:00 EDT
		{"15 2 * * *", mustLoc(t, "America/New_York"), "2026-03-07 12:00", []string{"2026-03-08 03:00 EDT", "2026-03-09 02:15 EDT"}},
	} {
		s, err := Parse(tc.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.expr, err)
		}
		cur := at(tc.loc, tc.after)
		for i, w := range tc.want {
			cur = s.Next(cur, tc.loc)
			if got := cur.Format("2006-01-02 15:04 MST"); got != w {
				t.Errorf("%q after %s: result %d = %s, want %s", tc.expr, tc.after, i, got, w)
				break
			}
		}
	}
}

// TestNextEveryMinuteDSTDay walks a whole DST day minute by minute: the
// instants are strictly increasing and one minute apart (in absolute
// time), except across the spring gap.
func TestNextEveryMinuteDSTDay(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	s, _ := Parse("* * * * *")
	cur := time.Date(2026, 10, 24, 23, 0, 0, 0, ber)
	n := 0
	for cur.Before(time.Date(2026, 10, 26, 0, 0, 0, 0, ber)) {
		next := s.Next(cur, ber)
		if next.Sub(cur) != time.Minute {
			t.Fatalf("after %s: next %s (%s apart)", cur, next, next.Sub(cur))
		}
		cur = next
		n++
	}
	if want := 25*60 + 60; n != want { // the 25-hour day plus the hour before it
		t.Errorf("%d runs, want %d", n, want)
	}
}

func BenchmarkNextEveryMinute(b *testing.B) {
	s, _ := Parse("* * * * *")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		t0 = s.Next(t0, time.UTC)
	}
}

func BenchmarkNextYearly(b *testing.B) {
	s, _ := Parse("0 0 29 2 *")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		_ = s.Next(t0, time.UTC)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3,7 1 jan-mar mon", "@every 1h", "0 0 29 2 *", "@daily", "1-2/3 4/5 ? * 7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		t0 := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
		n := s.Next(t0, time.UTC)
		if !n.After(t0) {
			t.Fatalf("%q: Next(%s) = %s, not after", expr, t0, n)
		}
	})
}
