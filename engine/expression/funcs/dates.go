package funcs

import (
	"errors"
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
			Fn:      fnN("date", 1, 3, nullToNull, dateOf),
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
			Fn:      fn2("format_date", nullToNull, anyArg("d"), optional(strArg("layout")), formatDate),
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
			Fn: fn2("add_business_days", nullToNull, dateArg("d"), shiftArg(), func(d record.Date, n int) (any, error) {
				return calendar.AddTargetDays(d, n), nil
			}),
			Types: []any{new(func(record.Date, int) record.Date), new(func(time.Time, int) record.Date)},
		},
		{
			Name: "is_business_day", Group: gDates,
			Doc:     "Reports whether a date is a TARGET2 business day, i.e. a valid SEPA due or execution date; false for null.",
			Example: `is_business_day(date(2026, 12, 24)) && !is_business_day(date(2026, 4, 6))`,
			Fn: fn1("is_business_day", nullToFalse, dateArg("d"), func(d record.Date) (any, error) {
				return calendar.IsTargetDay(d), nil
			}),
			Types: []any{new(func(record.Date) bool), new(func(time.Time) bool)},
		},
		{
			Name: "is_german_holiday", Group: gDates,
			Doc: "Reports whether a date is a public holiday in the German state given by its code (\"NW\", \"BY\", ...; " +
				"\"\" for nationwide holidays only); an unknown state code is an error.",
			Example: `is_german_holiday(date(2026, 6, 4), "NW") && !is_german_holiday(date(2026, 6, 4), "BE")`,
			Fn:      fn2("is_german_holiday", noNullRule, anyArg("d"), strArg("state"), isGermanHoliday),
			Types:   []any{new(func(record.Date, string) bool), new(func(time.Time, string) bool)},
		},
		{
			Name: "days_between", Group: gDates,
			Doc:     "Returns the number of calendar days from date a to date b (negative if b is earlier).",
			Example: `days_between(date(2026, 12, 24), date(2027, 1, 1)) == 8`,
			Fn: fn2("days_between", nullsToNull, dateArg("a"), dateArg("b"), func(a, b record.Date) (any, error) {
				return int(b) - int(a), nil
			}),
			Types: []any{new(func(record.Date, record.Date) int), new(func(any, any) int)},
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

// dateOf makes a date from parts (3 arguments), text and a layout (2) or
// ISO text, a date or a datetime (1).
func dateOf(args []any) (any, error) {
	switch len(args) {
	case 3:
		return dateFromParts(args...)
	case 2:
		return dateFromLayout(args...)
	}
	switch x := args[0].(type) {
	case string:
		return result(record.ParseDate(x, "YYYY-MM-DD"))
	case record.Date:
		return x, nil
	case time.Time:
		return record.DateOf(x), nil
	}
	return nil, argError(0, "s", "string, date or datetime", args[0])
}

var dateFromParts = decode3(nil, intArg("year"), intArg("month"), intArg("day"), func(y, m, d int) (any, error) {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return nil, fmt.Errorf("%04d-%02d-%02d is not a calendar date", y, m, d)
	}
	return record.NewDate(y, time.Month(m), d), nil
})

var dateFromLayout = decode2(nil, strArg("s"), strArg("layout"), func(s, layout string) (any, error) {
	return result(record.ParseDate(s, layout))
})

func daysIn(y int, m time.Month) int {
	_, _, d := record.NewDate(y, m+1, 0).YMD()
	return d
}

func datetimeFn(now func() time.Time) func(args ...any) (any, error) {
	parse := decode2(nil, strArg("s"), optional(strArg("layout")), func(s string, layout maybe[string]) (any, error) {
		goLayout, show := time.RFC3339Nano, "RFC 3339"
		if layout.ok {
			goLayout, show = record.GoLayout(layout.v), layout.v
		}
		t, err := time.ParseInLocation(goLayout, s, now().Location())
		if err != nil {
			return nil, fmt.Errorf("invalid datetime %q (want %s)", s, show)
		}
		return t, nil
	})
	return fnN("datetime", 1, 2, nullToNull, func(args []any) (any, error) {
		switch x := args[0].(type) {
		case record.Date:
			if len(args) == 2 {
				return nil, errors.New("a date takes no layout")
			}
			y, m, d := x.YMD()
			return time.Date(y, m, d, 0, 0, 0, 0, now().Location()), nil
		case time.Time:
			return x, nil
		}
		return parse(args...)
	})
}

func formatDate(v any, layout maybe[string]) (any, error) {
	switch x := v.(type) {
	case record.Date:
		if layout.v == "" {
			return x.String(), nil
		}
		return x.Format(layout.v), nil
	case time.Time:
		if layout.v == "" {
			return x.Format(time.RFC3339), nil
		}
		return x.Format(record.GoLayout(layout.v)), nil
	}
	return nil, argError(0, "d", "date or datetime", v)
}

// shiftArg is a number of days, months or years within ±maxDayShift.
func shiftArg() param[int] {
	return param[int]{name: "n", decode: asShift}
}

func asShift(v any) (int, error) {
	n, err := asInt(v)
	if err == nil && (n < -maxDayShift || n > maxDayShift) {
		err = fmt.Errorf("%d is outside ±%d", n, maxDayShift)
	}
	return n, err
}

func addFn(fn string, fd func(record.Date, int) record.Date, ft func(time.Time, int) time.Time) func(args ...any) (any, error) {
	return fn2(fn, nullToNull, anyArg("d"), shiftArg(), func(d any, n int) (any, error) {
		switch x := d.(type) {
		case record.Date:
			return fd(x, n), nil
		case time.Time:
			return ft(x, n), nil
		}
		return nil, argError(0, "d", "date or datetime", d)
	})
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

// isGermanHoliday checks the state's type before a null date gives false.
func isGermanHoliday(v any, state string) (any, error) {
	if v == nil {
		return false, nil
	}
	d, err := dateArg("d").of(0, v)
	if err != nil {
		return nil, err
	}
	ok, err := calendar.IsGermanHoliday(d, state)
	if err != nil {
		return nil, fmt.Errorf("argument 2 (state): %v", err)
	}
	return ok, nil
}

// datePart wraps a function of one date (a datetime is reduced to its date).
func datePart(fn string, f func(record.Date) any) func(args ...any) (any, error) {
	return fn1(fn, nullToNull, dateArg("d"), func(d record.Date) (any, error) { return f(d), nil })
}
