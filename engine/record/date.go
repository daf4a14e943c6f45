package record

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Date is a calendar date without time zone (days since 1970-01-01), so a
// due date never shifts by a day when a process runs in another zone.
// The zero value is 1970-01-01.
type Date int32

// NewDate returns the date y-m-d; out-of-range days normalise like time.Date.
func NewDate(y int, m time.Month, d int) Date {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date(t.Unix() / 86400)
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// YMD returns year, month and day.
func (d Date) YMD() (int, time.Month, int) { return d.Time().Date() }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// AddDays returns d plus n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// String formats ISO 8601 (2026-11-23).
func (d Date) String() string { return d.Time().Format("2006-01-02") }

// Format formats with a layout in the pattern language of DateLayout
// (e.g. "DD.MM.YYYY", "YYYYMMDD", "DDMM") or a Go layout.
func (d Date) Format(layout string) string { return d.Time().Format(GoLayout(layout)) }

// ParseDate parses s with a pattern such as "DD.MM.YYYY", "YYYY-MM-DD",
// "YYYYMMDD", "TT.MM.JJJJ" (German letters are accepted) or a Go layout.
func ParseDate(s, layout string) (Date, error) {
	t, err := time.Parse(GoLayout(layout), s)
	if err != nil {
		return 0, fmt.Errorf("invalid date %q (want %s)", s, layout)
	}
	return DateOf(t), nil
}

// GoLayout converts a date pattern made of YYYY/JJJJ, YY/JJ, MM, DD/TT,
// hh, mm (after hh), ss into a Go time layout. Text that already is a Go
// layout (contains "2006" or "01"/"02") is returned unchanged.
func GoLayout(p string) string {
	if v, ok := layoutCache.Load(p); ok {
		return v.(string)
	}
	g := p
	if !strings.Contains(p, "2006") && !strings.Contains(p, "15:04") {
		g = layoutReplacer.Replace(p)
	}
	layoutCache.Store(p, g)
	return g
}

// layoutReplacer is built once: a strings.Replacer costs ~30 allocations.
var layoutReplacer = strings.NewReplacer(
	"YYYY", "2006", "JJJJ", "2006", "yyyy", "2006",
	"YY", "06", "JJ", "06", "yy", "06",
	"MM", "01",
	"DD", "02", "TT", "02", "dd", "02",
	"hh", "15", "HH", "15", "mm", "04", "ss", "05",
)

// layoutCache memoises GoLayout; pipelines use a handful of patterns.
var layoutCache sync.Map
