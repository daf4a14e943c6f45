package funcs

import (
	"fmt"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk/calendar"
)

const gDates = "Dates"

// maxDayShift bounds day/month/business-day arithmetic (about 270 years)
// so a bad value cannot make add_business_days loop for long.
const maxDayShift = 100000

var (
	dateSig = new(func(record.Date) record.Date)
	timeSig = new(func(time.Time) time.Time)
)

func dateFuncs(now func() time.Time) []Func {
	return []Func{
		{
			Name: "date", Group: gDates,
			Doc: "Makes a date: date(s) parses ISO YYYY-MM-DD, date(s, layout) parses with a pattern such as \"DD.MM.YYYY\" " +
				"or \"YYYYMMDD\" (German TT/JJJJ accepted, see record.ParseDate), date(y, m, d) checks the parts, " +
				"date(datetime) takes the calendar date; unparsable text is an error.",
			Example: `date("24.12.2026", "DD.MM.YYYY") == date(2026, 12, 24) && date("2026-12-24") == date(2026, 12, 24)`,
			Fn:      dateFn,
			Types: []any{new(func(string) record.Date), new(func(string, string) record.Date),
				new(func(int, int, int) record.Date), new(func(time.Time) record.Date), dateSig},
		},
		{
			Name: "datetime", Group: gDates,
			Doc: "Parses a point in time: datetime(s) reads RFC 3339 (2026-11-23T10:30:00+01:00), datetime(s, layout) a pattern " +
				"such as \"DD.MM.YYYY hh:mm\" or a Go layout; text without a zone offset is read in the run's time zone. " +
				"datetime(date) is midnight of that date in the run's time zone.",
			Example: `year(datetime("2026-11-23T10:30:00+01:00")) == 2026 && format_date(datetime("23.11.2026 10:30", "DD.MM.YYYY hh:mm"), "hh:mm") == "10:30"`,
			Fn:      datetimeFn(now),
			Types:   []any{new(func(string) time.Time), new(func(string, string) time.Time), new(func(record.Date) time.Time)},
		},
		{
			Name: "format_date", Group: gDates,
			Doc: "Formats a date or datetime with a pattern such as \"DD.MM.YYYY\", \"YYYYMMDD\" or \"YYYY-MM-DD hh:mm:ss\" " +
				"(or a Go layout); without a pattern dates give YYYY-MM-DD and datetimes RFC 3339.",
			Example: `format_date(date(2026, 4, 3), "DD.MM.YYYY") == "03.04.2026" && format_date(date(2026, 4, 3)) == "2026-04-03"`,
			Fn:      formatDateFn,
			Types: []any{new(func(record.Date, string) string), new(func(time.Time, string) string),
				new(func(record.Date) string), new(func(time.Time) string)},
		},
		{
			Name: "add_days", Group: gDates,
			Doc:     "Adds n calendar days (negative: subtracts) to a date or datetime.",
			Example: `add_days(date(2026, 12, 31), 1) == date(2027, 1, 1)`,
			Fn:      addFn("add_days", func(d record.Date, n int) record.Date { return d.AddDays(n) }, func(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }),
			Types:   []any{new(func(record.Date, int) record.Date), new(func(time.Time, int) time.Time)},
		},
		{
			Name: "add_months", Group: gDates,
			Doc: "Adds n months to a date or datetime; a day that does not exist in the target month becomes its last day " +
				"(31 January + 1 month = 28/29 February).",
			Example: `add_months(date(2026, 1, 31), 1) == date(2026, 2, 28) && add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)`,
			Fn:      addFn("add_months", addMonthsDate, addMonthsTime),
			Types:   []any{new(func(record.Date, int) record.Date), new(func(time.Time, int) time.Time)},
		},
		{
			Name: "add_years", Group: gDates,
			Doc:     "Adds n years to a date or datetime; 29 February becomes 28 February in a common year.",
			Example: `add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)`,
			Fn: addFn("add_years", func(d record.Date, n int) record.Date { return addMonthsDate(d, 12*n) },
				func(t time.Time, n int) time.Time { return addMonthsTime(t, 12*n) }),
			Types: []any{new(func(record.Date, int) record.Date), new(func(time.Time, int) time.Time)},
		},
		{
			Name: "add_business_days", Group: gDates,
			Doc: "Moves a date by n TARGET2 business days (closed: weekends, 1 Jan, Good Friday, Easter Monday, 1 May, 25/26 Dec); " +
				"a closed day is first rolled to the next business day (the previous one for n < 0), so n = 0 gives the next " +
				"business day on or after the date.",
			Example: `add_business_days(date(2026, 4, 2), 1) == date(2026, 4, 7) && add_business_days(date(2026, 4, 3), 0) == date(2026, 4, 7)`,
			Fn:      addBusinessDaysFn,
			Types:   []any{new(func(record.Date, int) record.Date), new(func(time.Time, int) record.Date)},
		},
		{
			Name: "is_business_day", Group: gDates,
			Doc:     "Reports whether a date is a TARGET2 business day, i.e. a valid SEPA due or execution date; false for null.",
			Example: `is_business_day(date(2026, 12, 24)) && !is_business_day(date(2026, 4, 6))`,
			Fn:      isBusinessDayFn,
			Types:   []any{new(func(record.Date) bool), new(func(time.Time) bool)},
		},
		{
			Name: "is_german_holiday", Group: gDates,
			Doc: "Reports whether a date is a public holiday in the German state given by its code (\"NW\", \"BY\", ...; " +
				"\"\" for nationwide holidays only); an unknown state code is an error.",
			Example: `is_german_holiday(date(2026, 6, 4), "NW") && !is_german_holiday(date(2026, 6, 4), "BE")`,
			Fn:      isGermanHolidayFn,
			Types:   []any{new(func(record.Date, string) bool), new(func(time.Time, string) bool)},
		},
		{
			Name: "days_between", Group: gDates,
			Doc:     "Returns the number of calendar days from date a to date b (negative if b is earlier).",
			Example: `days_between(date(2026, 12, 24), date(2027, 1, 1)) == 8`,
			Fn:      daysBetweenFn,
			Types:   []any{new(func(record.Date, record.Date) int), new(func(any, any) int)},
		},
		{
			Name: "start_of_month", Group: gDates,
			Doc:     "Returns the first day of the month of a date or datetime.",
			Example: `start_of_month(date(2026, 2, 17)) == date(2026, 2, 1)`,
			Fn: datePart("start_of_month", func(d record.Date) any {
				y, m, _ := d.YMD()
				return record.NewDate(y, m, 1)
			}),
			Types: []any{dateSig, new(func(time.Time) record.Date)},
		},
		{
			Name: "end_of_month", Group: gDates,
			Doc:     "Returns the last day of the month of a date or datetime.",
			Example: `end_of_month(date(2028, 2, 3)) == date(2028, 2, 29)`,
			Fn: datePart("end_of_month", func(d record.Date) any {
				y, m, _ := d.YMD()
				return record.NewDate(y, m+1, 0)
			}),
			Types: []any{dateSig, new(func(time.Time) record.Date)},
		},
		{
			Name: "year", Group: gDates,
			Doc:     "Returns the year of a date or datetime.",
			Example: `year(date(2026, 11, 23)) == 2026`,
			Fn:      datePart("year", func(d record.Date) any { y, _, _ := d.YMD(); return y }),
			Types:   []any{new(func(record.Date) int), new(func(time.Time) int)},
		},
		{
			Name: "month", Group: gDates,
			Doc:     "Returns the month (1-12) of a date or datetime.",
			Example: `month(date(2026, 11, 23)) == 11`,
			Fn:      datePart("month", func(d record.Date) any { _, m, _ := d.YMD(); return int(m) }),
			Types:   []any{new(func(record.Date) int), new(func(time.Time) int)},
		},
		{
			Name: "day", Group: gDates,
			Doc:     "Returns the day of the month (1-31) of a date or datetime.",
			Example: `day(date(2026, 11, 23)) == 23`,
			Fn:      datePart("day", func(d record.Date) any { _, _, dd := d.YMD(); return dd }),
			Types:   []any{new(func(record.Date) int), new(func(time.Time) int)},
		},
		{
			Name: "weekday", Group: gDates,
			Doc:     "Returns the ISO day of the week of a date or datetime: 1 = Monday ... 7 = Sunday.",
			Example: `weekday(date(2026, 11, 23)) == 1 && weekday(date(2026, 11, 22)) == 7`,
			Fn: datePart("weekday", func(d record.Date) any {
				if wd := int(d.Weekday()); wd != 0 {
					return wd
				}
				return 7
			}),
			Types: []any{new(func(record.Date) int), new(func(time.Time) int)},
		},
	}
}

func dateFn(args ...any) (any, error) {
	const fn = "date"
	if err := arity(fn, args, 1, 3); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	switch len(args) {
	case 3:
		y, err := argInt(fn, args, 0, "year")
		if err != nil {
			return nil, err
		}
		m, err := argInt(fn, args, 1, "month")
		if err != nil {
			return nil, err
		}
		d, err := argInt(fn, args, 2, "day")
		if err != nil {
			return nil, err
		}
		if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
			return nil, errorf(fn, "%04d-%02d-%02d is not a calendar date", y, m, d)
		}
		return record.NewDate(y, time.Month(m), d), nil
	case 2:
		s, err := argString(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		layout, err := argString(fn, args, 1, "layout")
		if err != nil {
			return nil, err
		}
		d, err := record.ParseDate(s, layout)
		if err != nil {
			return nil, errorf(fn, "%v", err)
		}
		return d, nil
	}
	switch x := args[0].(type) {
	case string:
		d, err := record.ParseDate(x, "YYYY-MM-DD")
		if err != nil {
			return nil, errorf(fn, "%v", err)
		}
		return d, nil
	case record.Date:
		return x, nil
	case time.Time:
		return record.DateOf(x), nil
	}
	return nil, argError(fn, 0, "s", "string, date or datetime", args[0])
}

func daysIn(y int, m time.Month) int {
	_, _, d := record.NewDate(y, m+1, 0).YMD()
	return d
}

func datetimeFn(now func() time.Time) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		const fn = "datetime"
		if err := arity(fn, args, 1, 2); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		loc := now().Location()
		switch x := args[0].(type) {
		case record.Date:
			if len(args) == 2 {
				return nil, errorf(fn, "a date takes no layout")
			}
			y, m, d := x.YMD()
			return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
		case time.Time:
			return x, nil
		}
		s, err := argString(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		layout, show := time.RFC3339Nano, "RFC 3339"
		if len(args) == 2 {
			if show, err = argString(fn, args, 1, "layout"); err != nil {
				return nil, err
			}
			layout = record.GoLayout(show)
		}
		t, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			return nil, errorf(fn, "invalid datetime %q (want %s)", s, show)
		}
		return t, nil
	}
}

func formatDateFn(args ...any) (any, error) {
	const fn = "format_date"
	if err := arity(fn, args, 1, 2); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	layout := ""
	if len(args) == 2 {
		var err error
		if layout, err = argString(fn, args, 1, "layout"); err != nil {
			return nil, err
		}
	}
	switch x := args[0].(type) {
	case record.Date:
		if layout == "" {
			return x.String(), nil
		}
		return x.Format(layout), nil
	case time.Time:
		if layout == "" {
			return x.Format(time.RFC3339), nil
		}
		return x.Format(record.GoLayout(layout)), nil
	}
	return nil, argError(fn, 0, "d", "date or datetime", args[0])
}

func argShift(fn string, args []any, i int) (int, error) {
	n, err := argInt(fn, args, i, "n")
	if err != nil {
		return 0, err
	}
	if n < -maxDayShift || n > maxDayShift {
		return 0, fmt.Errorf("%s: argument %d (n): %d is outside ±%d", fn, i+1, n, maxDayShift)
	}
	return n, nil
}

func addFn(fn string, fd func(record.Date, int) record.Date, ft func(time.Time, int) time.Time) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 2, 2); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		n, err := argShift(fn, args, 1)
		if err != nil {
			return nil, err
		}
		switch x := args[0].(type) {
		case record.Date:
			return fd(x, n), nil
		case time.Time:
			return ft(x, n), nil
		}
		return nil, argError(fn, 0, "d", "date or datetime", args[0])
	}
}

func addMonthsDate(d record.Date, n int) record.Date {
	y, m, dd := d.YMD()
	first := record.NewDate(y, m+time.Month(n), 1)
	ty, tm, _ := first.YMD()
	return record.NewDate(ty, tm, min(dd, daysIn(ty, tm)))
}

func addMonthsTime(t time.Time, n int) time.Time {
	nd := addMonthsDate(record.DateOf(t), n)
	y, m, d := nd.YMD()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, t.Nanosecond(), t.Location())
}

func addBusinessDaysFn(args ...any) (any, error) {
	const fn = "add_business_days"
	if err := arity(fn, args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	d, err := argDate(fn, args, 0, "d")
	if err != nil {
		return nil, err
	}
	n, err := argShift(fn, args, 1)
	if err != nil {
		return nil, err
	}
	return calendar.AddTargetDays(d, n), nil
}

func isBusinessDayFn(args ...any) (any, error) {
	const fn = "is_business_day"
	if err := arity(fn, args, 1, 1); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return false, nil
	}
	d, err := argDate(fn, args, 0, "d")
	if err != nil {
		return nil, err
	}
	return calendar.IsTargetDay(d), nil
}

func isGermanHolidayFn(args ...any) (any, error) {
	const fn = "is_german_holiday"
	if err := arity(fn, args, 2, 2); err != nil {
		return nil, err
	}
	state, err := argString(fn, args, 1, "state")
	if err != nil {
		return nil, err
	}
	if args[0] == nil {
		return false, nil
	}
	d, err := argDate(fn, args, 0, "d")
	if err != nil {
		return nil, err
	}
	ok, err := calendar.IsGermanHoliday(d, state)
	if err != nil {
		return nil, errorf(fn, "argument 2 (state): %v", err)
	}
	return ok, nil
}

func daysBetweenFn(args ...any) (any, error) {
	const fn = "days_between"
	if err := arity(fn, args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	a, err := argDate(fn, args, 0, "a")
	if err != nil {
		return nil, err
	}
	b, err := argDate(fn, args, 1, "b")
	if err != nil {
		return nil, err
	}
	return int(b) - int(a), nil
}

// datePart wraps a function of one date (a datetime is reduced to its date).
func datePart(fn string, f func(record.Date) any) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 1, 1); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		d, err := argDate(fn, args, 0, "d")
		if err != nil {
			return nil, err
		}
		return f(d), nil
	}
}
