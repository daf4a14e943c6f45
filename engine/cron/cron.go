// Package cron parses cron expressions and computes when they are next
// due, in a time zone and correctly across daylight-saving changes.
//
// # Syntax
//
// Standard 5-field cron: minute (0-59), hour (0-23), day of month (1-31),
// month (1-12 or JAN-DEC), day of week (0-7 or SUN-SAT; 0 and 7 are
// Sunday). Each field is `*` (or `?`), a value, a range `a-b`, a step
// `*/n`, `a-b/n` or `a/n` (a to the field's maximum), or a comma-separated
// list of those. Names are case-insensitive. As in Vixie cron, when both
// day of month and day of week are restricted (do not start with `*`), a
// day matches when EITHER matches; otherwise both must.
//
// Descriptors: @yearly (@annually) = "0 0 1 1 *", @monthly = "0 0 1 * *",
// @weekly = "0 0 * * 0", @daily (@midnight) = "0 0 * * *", @hourly =
// "0 * * * *", and "@every <duration>" (a Go duration of at least one
// second): due at every multiple of the duration since the Unix epoch, so
// "@every 15m" is due at :00, :15, :30 and :45 whatever the zone.
//
// L, W and # (Quartz extensions) are not supported: Parse reports them.
//
// # Time zones and daylight saving
//
// Fields are matched against the wall clock of the schedule's location.
//   - Spring forward (a wall-clock hour does not exist): a slot inside the
//     gap is due once, at the instant the clocks jump (e.g. "30 2 * * *"
//     runs at 03:00 CEST on the last Sunday of March in Europe/Berlin).
//   - Fall back (a wall-clock hour happens twice): when the hour field is
//     `*` the slot is due in both copies of the hour (an every-minute job
//     really runs every minute); otherwise only in the first copy, so a
//     daily 02:30 job runs once.
package cron

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed cron expression. It is immutable and safe for
// concurrent use.
type Schedule struct {
	expr    string
	minute  uint64 // bit i: minute i matches
	hour    uint64
	dom     uint64 // bits 1..31
	month   uint64 // bits 1..12
	dow     uint64 // bits 0..6
	domStar bool
	dowStar bool
	hourAll bool // the hour field is "*" (runs in both copies of a repeated hour)
	every   time.Duration
}

// String returns the expression as given to Parse (trimmed).
func (s *Schedule) String() string { return s.expr }

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	fMinute = field{name: "minute", min: 0, max: 59}
	fHour   = field{name: "hour", min: 0, max: 23}
	fDom    = field{name: "day of month", min: 1, max: 31}
	fMonth  = field{name: "month", min: 1, max: 12, names: map[string]int{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}}
	fDow = field{name: "day of week", min: 0, max: 7, names: map[string]int{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}}
)

var descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Parse parses a cron expression (see the package doc). The error names
// the offending field. An expression that can never be due (such as
// "0 0 30 2 *") is an error too.
func Parse(expr string) (*Schedule, error) {
	e := strings.TrimSpace(expr)
	s := &Schedule{expr: e}
	if e == "" {
		return nil, errors.New("empty cron expression")
	}
	if strings.HasPrefix(e, "@") {
		if d, ok := strings.CutPrefix(e, "@every "); ok {
			v, err := time.ParseDuration(strings.TrimSpace(d))
			if err != nil {
				return nil, fmt.Errorf("@every: invalid duration %q (e.g. 15m, 1h30m)", strings.TrimSpace(d))
			}
			if v < time.Second {
				return nil, fmt.Errorf("@every: duration %s is shorter than one second", v)
			}
			s.every = v
			return s, nil
		}
		std, ok := descriptors[strings.ToLower(e)]
		if !ok {
			return nil, fmt.Errorf("unknown descriptor %q (known: @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)", e)
		}
		e = std
	}
	fs := strings.Fields(e)
	if len(fs) != 5 {
		return nil, fmt.Errorf("want a cron expression with 5 fields (minute hour day month weekday) or @hourly, @daily, @weekly, @monthly, @every <duration>; got %d fields", len(fs))
	}
	var err error
	if s.minute, _, err = parseField(fs[0], fMinute); err != nil {
		return nil, err
	}
	if s.hour, s.hourAll, err = parseField(fs[1], fHour); err != nil {
		return nil, err
	}
	s.hourAll = fs[1] == "*" || fs[1] == "?"
	if s.dom, s.domStar, err = parseField(fs[2], fDom); err != nil {
		return nil, err
	}
	if s.month, _, err = parseField(fs[3], fMonth); err != nil {
		return nil, err
	}
	if s.dow, s.dowStar, err = parseField(fs[4], fDow); err != nil {
		return nil, err
	}
	if s.dow&(1<<7) != 0 { // 7 is Sunday
		s.dow = s.dow&^(1<<7) | 1
	}
	if !s.possible() {
		return nil, fmt.Errorf("%q is never due (no month has such a day)", expr)
	}
	return s, nil
}

// possible reports whether some (month, day) combination matches.
func (s *Schedule) possible() bool {
	if !s.domStar && !s.dowStar {
		return true // OR: day of week always matches some day
	}
	if s.dom == 0 || s.dow == 0 {
		return false
	}
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= days[m]; d++ {
			if s.dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}

// parseField returns the bit set of a field and whether it starts with a
// star (for the day-of-month/day-of-week OR rule).
func parseField(text string, f field) (bits uint64, star bool, err error) {
	star = strings.HasPrefix(text, "*") || strings.HasPrefix(text, "?")
	for _, part := range strings.Split(text, ",") {
		b, err := parsePart(part, f)
		if err != nil {
			return 0, false, fmt.Errorf("%s field %q: %w", f.name, text, err)
		}
		bits |= b
	}
	return bits, star, nil
}

func parsePart(part string, f field) (uint64, error) {
	if part == "" {
		return 0, errors.New("empty list element")
	}
	rng, stepText, hasStep := strings.Cut(part, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("step %q must be a positive number", stepText)
		}
		step = n
	}
	var lo, hi int
	switch {
	case rng == "*" || rng == "?":
		lo, hi = f.min, f.max
		if f.max == 7 { // day of week: 0-6, 7 is an alias
			hi = 6
		}
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = value(a, f); err != nil {
			return 0, err
		}
		if hi, err = value(b, f); err != nil {
			return 0, err
		}
		if lo > hi {
			return 0, fmt.Errorf("range %s-%s is backwards", a, b)
		}
	default:
		v, err := value(rng, f)
		if err != nil {
			return 0, err
		}
		lo, hi = v, v
		if hasStep {
			hi = f.max
		}
	}
	var bits uint64
	for v := lo; v <= hi; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

func value(s string, f field) (int, error) {
	if v, ok := f.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	if strings.ContainsAny(s, "LW#") {
		return 0, fmt.Errorf("%q: L, W and # are not supported", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
	}
	return n, nil
}

// dayMatches applies the day-of-month/day-of-week rule.
func (s *Schedule) dayMatches(t time.Time) bool {
	if s.month&(1<<int(t.Month())) == 0 {
		return false
	}
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if !s.domStar && !s.dowStar {
		return dom || dow
	}
	return dom && dow
}

// searchYears bounds the search of Next (Feb 29 on a given weekday can be
// years away; anything possible is due within 8 years).
const searchYears = 9

// Next returns the first instant strictly after `after` at which the
// schedule is due, on the wall clock of loc (nil: UTC). The result is in
// loc. It returns the zero time when nothing is due in the next years
// (Parse rejects such expressions, so this does not happen for them).
func (s *Schedule) Next(after time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if s.every > 0 {
		t := after.Truncate(s.every).Add(s.every)
		if !t.After(after) {
			t = t.Add(s.every)
		}
		return t.In(loc)
	}
	local := after.In(loc)
	y, mo, d := local.Date()
	// Start one day early: a slot of the previous calendar day can fall
	// after `after` only in pathological zones, but a repeated hour of
	// today may still be ahead when local time already shows a later hour.
	day := time.Date(y, mo, d, 12, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	end := day.AddDate(searchYears, 0, 0)
	for ; day.Before(end); day = day.AddDate(0, 0, 1) {
		if !s.dayMatches(day) {
			if s.month&(1<<int(day.Month())) == 0 { // skip to the 1st of the next month
				day = time.Date(day.Year(), day.Month()+1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
			}
			continue
		}
		if time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc).Add(time.Hour).Before(after) {
			continue // the whole day lies before after
		}
		if t, ok := s.nextOnDay(day, after, loc); ok {
			return t
		}
	}
	return time.Time{}
}

// nextOnDay returns the first due instant after `after` on the calendar
// day `day` (date fields only) in loc.
func (s *Schedule) nextOnDay(day, after time.Time, loc *time.Location) (time.Time, bool) {
	var best time.Time
	found, foundHour := false, 0
	for h := 0; h < 24; h++ {
		// Wall-clock order is instant order except around a repeated
		// hour, so looking two hours past the first hit is enough.
		if found && h > foundHour+2 {
			break
		}
		if s.hour&(1<<h) == 0 {
			continue
		}
		// The whole hour (even a repeated copy of it) lies before after.
		if time.Date(day.Year(), day.Month(), day.Day(), h+1, 0, 0, 0, loc).Add(time.Hour).Before(after) {
			continue
		}
		for m := 0; m < 60; m++ {
			if s.minute&(1<<m) == 0 {
				continue
			}
			ts := s.instants(day.Year(), day.Month(), day.Day(), h, m, loc)
			for _, t := range ts {
				if t.After(after) && (!found || t.Before(best)) {
					if !found {
						foundHour = h
					}
					best, found = t, true
				}
			}
			if len(ts) == 1 && ts[0].After(after) {
				break // later minutes of this hour are later
			}
		}
	}
	return best, found
}

// instants returns the instants whose wall clock in loc is y-mo-d h:m:
// none when it falls into a spring-forward gap (then the instant the
// clocks jump is returned instead), two in a repeated fall-back hour (only
// the first unless the hour field is "*").
func (s *Schedule) instants(y int, mo time.Month, d, h, m int, loc *time.Location) []time.Time {
	t := time.Date(y, mo, d, h, m, 0, 0, loc)
	start, end := t.ZoneBounds()
	offsets := []int{}
	_, off := t.Zone()
	offsets = append(offsets, off)
	if !start.IsZero() {
		_, o := start.Add(-time.Second).Zone()
		offsets = append(offsets, o)
	}
	if !end.IsZero() {
		_, o := end.Zone()
		offsets = append(offsets, o)
	}
	wall := time.Date(y, mo, d, h, m, 0, 0, time.UTC).Unix()
	var out []time.Time
	for _, o := range offsets {
		c := time.Unix(wall-int64(o), 0).In(loc)
		if c.Year() == y && c.Month() == mo && c.Day() == d && c.Hour() == h && c.Minute() == m {
			dup := false
			for _, x := range out {
				if x.Equal(c) {
					dup = true
				}
			}
			if !dup {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		// In a gap: due when the clocks jump, i.e. at the start of the
		// zone period that follows the wall time.
		if t.Hour()*60+t.Minute() > h*60+m || t.Day() != d {
			return []time.Time{start.In(loc)}
		}
		return []time.Time{end.In(loc)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	if len(out) > 1 && !s.hourAll {
		out = out[:1]
	}
	return out
}
