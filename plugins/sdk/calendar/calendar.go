// Package calendar answers business-day questions for payment files on
// record.Date values: TARGET2 days (the settlement calendar of SEPA
// collections and transfers in euro) and German public holidays per
// Bundesland.
//
// Holiday rules come from github.com/rickar/cal/v2 (packages ecb and de);
// this package caches them per year, so all functions are cheap, allocation
// free after the first call for a year, and safe for concurrent use.
package calendar

import (
	"sync/atomic"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/ecb"
)

// holiday is one closing day of a year.
type holiday struct {
	date record.Date
	name string
}

// Years cached by yearCache; other years are computed on each call.
const (
	cacheFirstYear = 1900
	cacheYears     = 400
)

// yearCache memoises the holidays of a calendar per year.
type yearCache struct {
	list  []*cal.Holiday
	years [cacheYears]atomic.Pointer[[]holiday]
}

func (c *yearCache) get(year int) []holiday {
	i := year - cacheFirstYear
	if i >= 0 && i < cacheYears {
		if p := c.years[i].Load(); p != nil {
			return *p
		}
	}
	hs := make([]holiday, 0, len(c.list))
	for _, h := range c.list {
		act, _ := h.Calc(year)
		if act.IsZero() {
			continue
		}
		y, m, d := act.Date()
		hs = append(hs, holiday{record.NewDate(y, m, d), h.Name})
	}
	if i >= 0 && i < cacheYears {
		c.years[i].Store(&hs)
	}
	return hs
}

func (c *yearCache) lookup(d record.Date) (string, bool) {
	y, _, _ := d.YMD()
	for _, h := range c.get(y) {
		if h.date == d {
			return h.name, true
		}
	}
	return "", false
}

// target holds the TARGET closing days: New Year's Day, Good Friday,
// Easter Monday, Labour Day (1 May), Christmas Day and 26 December.
var target = &yearCache{list: ecb.Holidays}

// weekday returns d's day of the week without going through time.Time.
func weekday(d record.Date) time.Weekday {
	// 1970-01-01 was a Thursday.
	return time.Weekday(((int64(d) % 7) + 7 + 4) % 7)
}

// IsTargetDay reports whether d is a TARGET2 business day: not a Saturday
// or Sunday and not one of the TARGET closing days (1 January, Good Friday,
// Easter Monday, 1 May, 25 and 26 December). 24 and 31 December are
// business days. The rules are applied to every year (TARGET2 has used
// them since 2002).
func IsTargetDay(d record.Date) bool {
	if wd := weekday(d); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, closed := target.lookup(d)
	return !closed
}

// TargetClosingReason returns why d is not a TARGET2 business day
// ("Saturday", "Sunday", "Good Friday", "Christmas Day", ...), or "" if it
// is one. Useful in error messages.
func TargetClosingReason(d record.Date) string {
	if wd := weekday(d); wd == time.Saturday || wd == time.Sunday {
		return wd.String()
	}
	name, _ := target.lookup(d)
	return name
}

// NextTargetDay returns the first TARGET2 business day strictly after d.
func NextTargetDay(d record.Date) record.Date {
	for d++; !IsTargetDay(d); d++ {
	}
	return d
}

// PrevTargetDay returns the last TARGET2 business day strictly before d.
func PrevTargetDay(d record.Date) record.Date {
	for d--; !IsTargetDay(d); d-- {
	}
	return d
}

// AddTargetDays moves d by n TARGET2 business days. A d that is not a
// business day is first rolled to the next business day (previous one if
// n < 0); then n business days are added. So n = 0 returns d if it is a
// business day, else the next one; AddTargetDays(Friday, 1) is the
// following Monday, AddTargetDays(Saturday, 1) the Tuesday, and
// AddTargetDays(due, -1) the business day before a due date. Cost is
// linear in |n|.
func AddTargetDays(d record.Date, n int) record.Date {
	switch {
	case n >= 0:
		if !IsTargetDay(d) {
			d = NextTargetDay(d)
		}
		for ; n > 0; n-- {
			d = NextTargetDay(d)
		}
	default:
		if !IsTargetDay(d) {
			d = PrevTargetDay(d)
		}
		for ; n < 0; n++ {
			d = PrevTargetDay(d)
		}
	}
	return d
}

// TargetDaysBetween returns the number of TARGET2 business days in the
// half-open range (from, to]: 0 when to <= from. AddTargetDays(from, k)
// for a business day from gives a to with TargetDaysBetween(from, to) == k.
func TargetDaysBetween(from, to record.Date) int {
	n := 0
	for d := from + 1; d <= to; d++ {
		if IsTargetDay(d) {
			n++
		}
	}
	return n
}
