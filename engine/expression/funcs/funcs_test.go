package funcs

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

var update = flag.Bool("update", false, "rewrite docs/functions.md")

var clock = func() time.Time {
	return time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("CET", 3600))
}

func lib(t testing.TB) map[string]Func {
	t.Helper()
	m := map[string]Func{}
	for _, f := range Library(clock) {
		if _, dup := m[f.Name]; dup {
			t.Fatalf("duplicate function %s", f.Name)
		}
		m[f.Name] = f
	}
	return m
}

func dec(s string) record.Decimal { return record.MustDecimal(s) }

func day(y int, m time.Month, d int) record.Date { return record.NewDate(y, m, d) }

type unknown struct{}

// call is one table case: want is compared with equalResult; err, when
// set, is a substring the error must contain.
type call struct {
	fn   string
	args []any
	want any
	err  string
}

func equalResult(a, b any) bool {
	if x, ok := a.(record.Decimal); ok {
		y, ok := b.(record.Decimal)
		return ok && x.String() == y.String() // same value and scale
	}
	if x, ok := a.(time.Time); ok {
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	if _, ok := a.([]any); ok {
		return reflect.DeepEqual(a, b)
	}
	return a == b
}

func runCalls(t *testing.T, calls []call) {
	t.Helper()
	fs := lib(t)
	for _, c := range calls {
		f, ok := fs[c.fn]
		if !ok {
			t.Errorf("no function %s", c.fn)
			continue
		}
		got, err := f.Fn(c.args...)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s%v = %v, %v; want error containing %q", c.fn, c.args, got, err, c.err)
			} else if !strings.HasPrefix(err.Error(), c.fn+": ") {
				t.Errorf("%s%v: error %q does not start with the function name", c.fn, c.args, err)
			}
		case err != nil:
			t.Errorf("%s%v: unexpected error %v", c.fn, c.args, err)
		case !equalResult(got, c.want):
			t.Errorf("%s%v = %#v (%T), want %#v (%T)", c.fn, c.args, got, got, c.want, c.want)
		}
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	runCalls(t, []call{
		{fn: "trim_left", args: []any{" \t x "}, want: "x "},
		{fn: "trim_left", args: []any{"0070", "0"}, want: "70"},
		{fn: "trim_left", args: []any{nil}, want: nil},
		{fn: "trim_left", args: []any{1}, err: "argument 1 (s): want string, got int"},
		{fn: "trim_left", args: []any{"x", 1}, err: "argument 2 (cutset): want string, got int"},
		{fn: "trim_left", args: []any{}, err: "want 1 to 2 arguments, got 0"},
		{fn: "trim_right", args: []any{" x \n"}, want: " x"},
		{fn: "trim_right", args: []any{"1.500", "0"}, want: "1.5"},
		{fn: "substr", args: []any{"Kassenzeichen", 6, 7}, want: "zeichen"},
		{fn: "substr", args: []any{"Müller", 1, 2}, want: "ül"},
		{fn: "substr", args: []any{"abc", 1, 100}, want: "bc"},
		{fn: "substr", args: []any{"abc", 5, 1}, want: ""},
		{fn: "substr", args: []any{"abc", 0, 0}, want: ""},
		{fn: "substr", args: []any{"abc", int64(1), dec("1")}, want: "b"},
		{fn: "substr", args: []any{"abc", -1, 1}, err: "must not be negative"},
		{fn: "substr", args: []any{"abc", 1, dec("1.5")}, err: "argument 3 (length): want int, got decimal"},
		{fn: "substr", args: []any{"abc", 1}, err: "want 3 arguments, got 2"},
		{fn: "substr", args: []any{nil, 1, 1}, want: nil},
		{fn: "left", args: []any{"Müller", 2}, want: "Mü"},
		{fn: "left", args: []any{"ab", 5}, want: "ab"},
		{fn: "left", args: []any{"ab", -1}, err: "must not be negative"},
		{fn: "right", args: []any{"Müller", 4}, want: "ller"},
		{fn: "right", args: []any{"ab", 5}, want: "ab"},
		{fn: "right", args: []any{"aü", 1}, want: "ü"},
		{fn: "right", args: []any{"ab", 0}, want: ""},
		{fn: "right", args: []any{"ab", "1"}, err: "argument 2 (n): want int, got string"},
		{fn: "pad_left", args: []any{42, 6, "0"}, want: "000042"},
		{fn: "pad_left", args: []any{int64(-7), 3, "0"}, want: "0-7"},
		{fn: "pad_left", args: []any{"ab", 4}, want: "  ab"},
		{fn: "pad_left", args: []any{"abcdef", 4}, want: "abcdef"},
		{fn: "pad_left", args: []any{"ä", 3, "ü"}, want: "üüä"},
		{fn: "pad_left", args: []any{"a", 3, "xy"}, err: "want exactly one character"},
		{fn: "pad_left", args: []any{"a", -1}, err: "outside 0..65536"},
		{fn: "pad_left", args: []any{"a", 1 << 30}, err: "outside 0..65536"},
		{fn: "pad_left", args: []any{dec("1.5"), 3}, err: "argument 1 (s): want string or int, got decimal"},
		{fn: "pad_right", args: []any{"ab", 4, "."}, want: "ab.."},
		{fn: "pad_right", args: []any{nil, 4}, want: nil},
		{fn: "starts_with", args: []any{"DE89", "DE"}, want: true},
		{fn: "starts_with", args: []any{"DE89", "AT"}, want: false},
		{fn: "starts_with", args: []any{nil, "AT"}, want: false},
		{fn: "starts_with", args: []any{"x", 1}, err: "argument 2 (prefix): want string, got int"},
		{fn: "ends_with", args: []any{"a.csv", ".csv"}, want: true},
		{fn: "digits", args: []any{"8.8057-01/3 x"}, want: "88057013"},
		{fn: "digits", args: []any{nil}, want: nil},
		{fn: "digits", args: []any{unknown{}}, err: "argument 1 (s): want string, got funcs.unknown"},
		{fn: "collapse_spaces", args: []any{"  a \r\n\t b  "}, want: "a b"},
	})
}

func TestSEPA(t *testing.T) {
	t.Parallel()
	runCalls(t, []call{
		{fn: "sepa_text", args: []any{"Müller & Söhne"}, want: "Mueller + Soehne"},
		{fn: "sepa_text", args: []any{"Müller & Söhne", "dk"}, want: "Müller & Söhne"},
		{fn: "sepa_text", args: []any{nil}, want: nil},
		{fn: "sepa_text", args: []any{"x", "latin1"}, err: `argument 2 (charset): unknown sepa charset "latin1"`},
		{fn: "sepa_text", args: []any{"x", 1}, err: "argument 2 (charset): want string, got int"},
		{fn: "sepa_valid", args: []any{"Rechnung 1/2026"}, want: true},
		{fn: "sepa_valid", args: []any{"Müller"}, want: false},
		{fn: "sepa_valid", args: []any{"Müller", "dk"}, want: true},
		{fn: "sepa_valid", args: []any{nil}, want: false},
		{fn: "sepa_id_valid", args: []any{"ABO-1"}, want: true},
		{fn: "sepa_id_valid", args: []any{"/ABO"}, want: false},
		{fn: "iban_valid", args: []any{"DE89 3704 0044 0532 0130 00"}, want: true},
		{fn: "iban_valid", args: []any{"DE89 3704 0044 0532 0130 01"}, want: false},
		{fn: "iban_valid", args: []any{nil}, want: false},
		{fn: "iban_valid", args: []any{123}, err: "iban_valid: argument 1 (s): want string, got int"},
		{fn: "iban_valid", args: []any{"a", "b"}, err: "want 1 arguments, got 2"},
		{fn: "iban_normalize", args: []any{"de89 3704"}, want: "DE893704"},
		{fn: "iban_format", args: []any{"DE89370400440532013000"}, want: "DE89 3704 0044 0532 0130 00"},
		{fn: "bic_valid", args: []any{"COBADEFFXXX"}, want: true},
		{fn: "bic_valid", args: []any{"COBADEFFXX"}, want: false},
		{fn: "bic_normalize", args: []any{"coba deff"}, want: "COBADEFF"},
		{fn: "creditor_id_valid", args: []any{"DE98ZZZ09999999999"}, want: true},
		{fn: "creditor_id_valid", args: []any{"DE26ZZZ00000000000"}, want: false},
		{fn: "rf_reference", args: []any{"539007547034"}, want: "RF18539007547034"},
		{fn: "rf_reference", args: []any{12345}, want: "RF7812345"},
		{fn: "rf_reference", args: []any{"AB-1"}, err: "rf_reference: invalid rf creditor reference"},
		{fn: "rf_reference", args: []any{nil}, want: nil},
		{fn: "rf_valid", args: []any{"RF18539007547034"}, want: true},
		{fn: "rf_valid", args: []any{"RF19539007547034"}, want: false},
		{fn: "is_sepa_country", args: []any{"CH"}, want: true},
		{fn: "is_sepa_country", args: []any{"US"}, want: false},
	})
}

func TestDates(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	ts := time.Date(2026, 11, 23, 23, 30, 0, 0, cet)
	runCalls(t, []call{
		{fn: "date", args: []any{"2026-12-24"}, want: day(2026, 12, 24)},
		{fn: "date", args: []any{"24.12.2026", "DD.MM.YYYY"}, want: day(2026, 12, 24)},
		{fn: "date", args: []any{"24.12.2026", "TT.MM.JJJJ"}, want: day(2026, 12, 24)},
		{fn: "date", args: []any{"20261224", "YYYYMMDD"}, want: day(2026, 12, 24)},
		{fn: "date", args: []any{2026, 2, 28}, want: day(2026, 2, 28)},
		{fn: "date", args: []any{2026, 2, 29}, err: "2026-02-29 is not a calendar date"},
		{fn: "date", args: []any{2026, 13, 1}, err: "not a calendar date"},
		{fn: "date", args: []any{ts}, want: day(2026, 11, 23)},
		{fn: "date", args: []any{day(2026, 1, 1)}, want: day(2026, 1, 1)},
		{fn: "date", args: []any{nil}, want: nil},
		{fn: "date", args: []any{"31.02.2026", "DD.MM.YYYY"}, err: `date: invalid date "31.02.2026"`},
		{fn: "date", args: []any{"2026-13-01"}, err: "invalid date"},
		{fn: "date", args: []any{42}, err: "argument 1 (s): want string, date or datetime, got int"},
		{fn: "date", args: []any{"x", 1}, err: "argument 2 (layout): want string, got int"},
		{fn: "date", args: []any{"2026", 1, 1}, err: "argument 1 (year): want int, got string"},
		{fn: "datetime", args: []any{"2026-11-23T10:30:00+01:00"}, want: time.Date(2026, 11, 23, 10, 30, 0, 0, cet)},
		{fn: "datetime", args: []any{"23.11.2026 10:30", "DD.MM.YYYY hh:mm"}, want: time.Date(2026, 11, 23, 10, 30, 0, 0, cet)},
		{fn: "datetime", args: []any{day(2026, 11, 23)}, want: time.Date(2026, 11, 23, 0, 0, 0, 0, cet)},
		{fn: "datetime", args: []any{day(2026, 11, 23), "x"}, err: "takes no layout"},
		{fn: "datetime", args: []any{"23.11.2026"}, err: `invalid datetime "23.11.2026" (want RFC 3339)`},
		{fn: "datetime", args: []any{ts}, want: ts},
		{fn: "format_date", args: []any{day(2026, 4, 3), "DD.MM.YYYY"}, want: "03.04.2026"},
		{fn: "format_date", args: []any{day(2026, 4, 3), "YYYYMMDD"}, want: "20260403"},
		{fn: "format_date", args: []any{day(2026, 4, 3)}, want: "2026-04-03"},
		{fn: "format_date", args: []any{ts, "YYYY-MM-DD hh:mm:ss"}, want: "2026-11-23 23:30:00"},
		{fn: "format_date", args: []any{ts}, want: "2026-11-23T23:30:00+01:00"},
		{fn: "format_date", args: []any{"2026-01-01"}, err: "argument 1 (d): want date or datetime, got string"},
		{fn: "add_days", args: []any{day(2026, 12, 31), 1}, want: day(2027, 1, 1)},
		{fn: "add_days", args: []any{day(2026, 3, 1), -1}, want: day(2026, 2, 28)},
		{fn: "add_days", args: []any{ts, 1}, want: ts.AddDate(0, 0, 1)},
		{fn: "add_days", args: []any{day(2026, 1, 1), 200000}, err: "outside ±100000"},
		{fn: "add_days", args: []any{nil, 1}, want: nil},
		{fn: "add_months", args: []any{day(2026, 1, 31), 1}, want: day(2026, 2, 28)},
		{fn: "add_months", args: []any{day(2028, 1, 31), 1}, want: day(2028, 2, 29)},
		{fn: "add_months", args: []any{day(2026, 3, 31), -1}, want: day(2026, 2, 28)},
		{fn: "add_months", args: []any{day(2026, 11, 30), 3}, want: day(2027, 2, 28)},
		{fn: "add_months", args: []any{day(2026, 1, 15), -13}, want: day(2024, 12, 15)},
		{fn: "add_months", args: []any{ts, 3}, want: time.Date(2027, 2, 23, 23, 30, 0, 0, cet)},
		{fn: "add_years", args: []any{day(2028, 2, 29), 1}, want: day(2029, 2, 28)},
		{fn: "add_business_days", args: []any{day(2026, 4, 2), 1}, want: day(2026, 4, 7)},
		{fn: "add_business_days", args: []any{day(2026, 4, 3), 0}, want: day(2026, 4, 7)},
		{fn: "add_business_days", args: []any{day(2026, 12, 28), -1}, want: day(2026, 12, 24)},
		{fn: "add_business_days", args: []any{ts, 1}, want: day(2026, 11, 24)},
		{fn: "add_business_days", args: []any{"2026-01-01", 1}, err: "argument 1 (d): want date, got string"},
		{fn: "is_business_day", args: []any{day(2026, 12, 24)}, want: true},
		{fn: "is_business_day", args: []any{day(2026, 12, 25)}, want: false},
		{fn: "is_business_day", args: []any{nil}, want: false},
		{fn: "is_german_holiday", args: []any{day(2026, 6, 4), "NW"}, want: true},
		{fn: "is_german_holiday", args: []any{day(2026, 6, 4), "BE"}, want: false},
		{fn: "is_german_holiday", args: []any{day(2026, 6, 4), "XX"}, err: `argument 2 (state): unknown german state "XX"`},
		{fn: "is_german_holiday", args: []any{nil, "NW"}, want: false},
		{fn: "days_between", args: []any{day(2026, 12, 24), day(2027, 1, 1)}, want: 8},
		{fn: "days_between", args: []any{day(2027, 1, 1), day(2026, 12, 24)}, want: -8},
		{fn: "days_between", args: []any{nil, day(2026, 12, 24)}, want: nil},
		{fn: "start_of_month", args: []any{day(2026, 2, 17)}, want: day(2026, 2, 1)},
		{fn: "end_of_month", args: []any{day(2026, 12, 5)}, want: day(2026, 12, 31)},
		{fn: "end_of_month", args: []any{day(2100, 2, 5)}, want: day(2100, 2, 28)},
		{fn: "year", args: []any{ts}, want: 2026},
		{fn: "month", args: []any{day(2026, 11, 23)}, want: 11},
		{fn: "day", args: []any{day(2026, 11, 23)}, want: 23},
		{fn: "weekday", args: []any{day(2026, 11, 23)}, want: 1},
		{fn: "weekday", args: []any{day(2026, 11, 29)}, want: 7},
		{fn: "year", args: []any{"2026"}, err: "year: argument 1 (d): want date, got string"},
	})
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	runCalls(t, []call{
		{fn: "decimal", args: []any{"1234.50"}, want: dec("1234.50")},
		{fn: "decimal", args: []any{" -0.5 "}, want: dec("-0.5")},
		{fn: "decimal", args: []any{"1234,50", ","}, want: dec("1234.50")},
		{fn: "decimal", args: []any{"1.234,50", ",", "."}, want: dec("1234.50")},
		{fn: "decimal", args: []any{"1,234.50", ".", ","}, want: dec("1234.50")},
		{fn: "decimal", args: []any{7}, want: dec("7")},
		{fn: "decimal", args: []any{int64(7)}, want: dec("7")},
		{fn: "decimal", args: []any{0.1}, want: dec("0.1")},
		{fn: "decimal", args: []any{dec("1.10")}, want: dec("1.10")},
		{fn: "decimal", args: []any{nil}, want: nil},
		{fn: "decimal", args: []any{"12,5"}, err: "invalid decimal"},
		{fn: "decimal", args: []any{"abc"}, err: "invalid decimal"},
		{fn: "decimal", args: []any{"1.5", ";"}, err: `argument 2 (sep): want "." or ","`},
		{fn: "decimal", args: []any{"1.5", ".", "."}, err: "argument 3 (thousands)"},
		{fn: "decimal", args: []any{7, ","}, err: "separators apply to text only"},
		{fn: "decimal", args: []any{true}, err: "argument 1 (x): want decimal or int, got bool"},
		{fn: "round", args: []any{dec("2.345"), 2}, want: dec("2.35")},
		{fn: "round", args: []any{dec("-2.345"), 2}, want: dec("-2.35")},
		{fn: "round", args: []any{dec("2.5")}, want: dec("3")},
		{fn: "round", args: []any{dec("0.5"), 2}, want: dec("0.50")},
		{fn: "round", args: []any{1, 2}, want: dec("1.00")},
		{fn: "round", args: []any{dec("1"), 20}, err: "argument 2 (scale): 20 is outside 0..19"},
		{fn: "round", args: []any{"1.5", 2}, err: "argument 1 (x): want decimal or int, got string"},
		{fn: "round", args: []any{nil, 2}, want: nil},
		{fn: "round_half_even", args: []any{dec("2.345"), 2}, want: dec("2.34")},
		{fn: "round_half_even", args: []any{dec("2.355"), 2}, want: dec("2.36")},
		{fn: "round_half_even", args: []any{dec("2.5")}, want: dec("2")},
		{fn: "floor", args: []any{dec("2.349"), 2}, want: dec("2.34")},
		{fn: "floor", args: []any{dec("-2.341"), 2}, want: dec("-2.35")},
		{fn: "floor", args: []any{dec("-2.34"), 2}, want: dec("-2.34")},
		{fn: "floor", args: []any{dec("2.7")}, want: dec("2")},
		{fn: "floor", args: []any{dec("-0.5")}, want: dec("-1")},
		{fn: "floor", args: []any{5, 1}, want: dec("5.0")},
		{fn: "ceil", args: []any{dec("2.341"), 2}, want: dec("2.35")},
		{fn: "ceil", args: []any{dec("-2.349"), 2}, want: dec("-2.34")},
		{fn: "ceil", args: []any{dec("2.30"), 1}, want: dec("2.3")},
		{fn: "ceil", args: []any{dec("0.1")}, want: dec("1")},
		{fn: "abs", args: []any{dec("-12.50")}, want: dec("12.50")},
		{fn: "abs", args: []any{-3}, want: 3},
		{fn: "abs", args: []any{nil}, want: nil},
		{fn: "abs", args: []any{"x"}, err: "argument 1 (x): want decimal or int, got string"},
		{fn: "min", args: []any{3, dec("1.5"), 2}, want: dec("1.5")},
		{fn: "min", args: []any{3, 1, 2}, want: 1},
		{fn: "min", args: []any{3, nil, 2}, want: 2},
		{fn: "min", args: []any{nil, nil}, want: nil},
		{fn: "min", args: []any{[]any{4, 2, 9}}, want: 2},
		{fn: "min", args: []any{day(2026, 1, 2), day(2025, 5, 1)}, want: day(2025, 5, 1)},
		{fn: "min", args: []any{"b", "a"}, want: "a"},
		{fn: "min", args: []any{1, "a"}, err: "value 2: cannot compare string with int"},
		{fn: "min", args: []any{true}, err: "value 1: want number, date, datetime or string, got bool"},
		{fn: "min", args: []any{}, err: "want at least 1 arguments, got 0"},
		{fn: "max", args: []any{3, dec("1.5"), 2}, want: dec("3")},
		{fn: "max", args: []any{dec("1.50"), dec("1.5")}, want: dec("1.50")},
		{fn: "max", args: []any{time.Unix(10, 0), time.Unix(20, 0)}, want: time.Unix(20, 0)},
		{fn: "int", args: []any{" 007"}, want: 7},
		{fn: "int", args: []any{"-12"}, want: -12},
		{fn: "int", args: []any{dec("12.00")}, want: 12},
		{fn: "int", args: []any{int64(5)}, want: 5},
		{fn: "int", args: []any{dec("12.5")}, err: "12.5 has a fraction"},
		{fn: "int", args: []any{"12.5"}, err: `"12.5" is not an integer`},
		{fn: "int", args: []any{"99999999999999999999"}, err: "out of range"},
		{fn: "int", args: []any{true}, err: "argument 1 (x): want string, int or decimal, got bool"},
		{fn: "int", args: []any{nil}, want: nil},
		{fn: "string", args: []any{dec("12.50")}, want: "12.50"},
		{fn: "string", args: []any{42}, want: "42"},
		{fn: "string", args: []any{day(2026, 1, 2)}, want: "2026-01-02"},
		{fn: "string", args: []any{true}, want: "true"},
		{fn: "string", args: []any{nil}, want: ""},
		{fn: "string", args: []any{"x"}, want: "x"},
		{fn: "string", args: []any{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, want: "2026-01-02T03:04:05Z"},
		{fn: "string", args: []any{[]any{1}}, err: "use toJSON"},
		{fn: "format_amount", args: []any{dec("1234.5"), ",", 2}, want: "1234,50"},
		{fn: "format_amount", args: []any{dec("1234.505"), ".", 2}, want: "1234.51"},
		{fn: "format_amount", args: []any{dec("-1234567.891"), ",", 2, "."}, want: "-1.234.567,89"},
		{fn: "format_amount", args: []any{dec("123.4"), ",", 2, "."}, want: "123,40"},
		{fn: "format_amount", args: []any{dec("1000"), ",", 0, "."}, want: "1.000"},
		{fn: "format_amount", args: []any{dec("100000"), ",", 0, "."}, want: "100.000"},
		{fn: "format_amount", args: []any{12, ",", 2}, want: "12,00"},
		{fn: "format_amount", args: []any{dec("1"), ",,", 2}, err: "argument 2 (sep): want one character"},
		{fn: "format_amount", args: []any{dec("1"), ",", 2, ","}, err: "argument 4 (thousands)"},
		{fn: "format_amount", args: []any{"1", ",", 2}, err: "argument 1 (amount): want decimal or int, got string"},
		{fn: "format_amount", args: []any{dec("1"), ",", -1}, err: "argument 3 (scale): -1 is outside 0..19"},
		{fn: "cents", args: []any{dec("12.34")}, want: 1234},
		{fn: "cents", args: []any{dec("-0.5")}, want: -50},
		{fn: "cents", args: []any{dec("1.230")}, want: 123},
		{fn: "cents", args: []any{3}, want: 300},
		{fn: "cents", args: []any{dec("1.234")}, err: "more than two decimal places"},
	})
}

func TestNulls(t *testing.T) {
	t.Parallel()
	runCalls(t, []call{
		{fn: "coalesce", args: []any{nil, "", "x"}, want: ""},
		{fn: "coalesce", args: []any{nil, nil}, want: nil},
		{fn: "coalesce", args: []any{}, err: "want at least 1 arguments"},
		{fn: "if_null", args: []any{nil, "b"}, want: "b"},
		{fn: "if_null", args: []any{"a", "b"}, want: "a"},
		{fn: "if_null", args: []any{"a"}, err: "want 2 arguments, got 1"},
		{fn: "null_if", args: []any{"0000", "0000"}, want: nil},
		{fn: "null_if", args: []any{dec("0.00"), 0}, want: nil},
		{fn: "null_if", args: []any{"a", "b"}, want: "a"},
		{fn: "null_if", args: []any{nil, "b"}, want: nil},
		{fn: "null_if", args: []any{[]any{1}, []any{1}}, want: []any{1}},
		{fn: "is_blank", args: []any{nil}, want: true},
		{fn: "is_blank", args: []any{" \t"}, want: true},
		{fn: "is_blank", args: []any{"x"}, want: false},
		{fn: "is_blank", args: []any{map[string]any{}}, want: true},
		{fn: "is_blank", args: []any{0}, want: false},
	})
}

func TestCheckDigits(t *testing.T) {
	t.Parallel()
	runCalls(t, []call{
		{fn: "luhn_digit", args: []any{"0701172"}, want: "9"},
		{fn: "luhn_digit", args: []any{"070-11.72"}, want: "9"},
		{fn: "luhn_digit", args: []any{"07a"}, err: "not a digit"},
		{fn: "luhn_digit", args: []any{""}, err: "empty"},
		{fn: "luhn_digit", args: []any{nil}, want: nil},
		{fn: "luhn_digit", args: []any{1}, err: "argument 1 (digits): want string, got int"},
		{fn: "luhn_digit", args: []any{"1", "2"}, err: "want 1 arguments, got 2"},
		{fn: "luhn_valid", args: []any{"07011729"}, want: true},
		{fn: "luhn_valid", args: []any{"0701172-9"}, want: true},
		{fn: "luhn_valid", args: []any{"07011720"}, want: false},
		{fn: "luhn_valid", args: []any{"abc"}, want: false},
		{fn: "luhn_valid", args: []any{nil}, want: false},
		{fn: "mod11_digit", args: []any{"01015500001"}, want: "0"},
		{fn: "mod11_digit", args: []any{"123", []any{2, 3}}, want: mod11Ref("123", []int{2, 3})},
		{fn: "mod11_digit", args: []any{"4711", []any{7, 6, 5, 4}}, want: mod11Ref("4711", []int{7, 6, 5, 4})},
		{fn: "mod11_digit", args: []any{"123", []any{"2"}}, err: "argument 2 (weights): element 1: want int, got string"},
		{fn: "mod11_digit", args: []any{"123", "2"}, err: "argument 2 (weights): want list of int, got string"},
		{fn: "mod11_digit", args: []any{"123", []any{100}}, err: "argument 2 (weights)"},
		{fn: "mod11_valid", args: []any{"010155000010"}, want: true},
		{fn: "mod11_valid", args: []any{"010155000011"}, want: false},
		{fn: "check_digit", args: []any{"0701172", "luhn"}, want: "9"},
		{fn: "check_digit", args: []any{"01015500001", "mod11"}, want: "0"},
		{fn: "check_digit", args: []any{"0701172", "none"}, want: ""},
		{fn: "check_digit", args: []any{"0701172", map[string]any{"method": "weighted", "weights": []any{2, 1}, "digit_sum": true, "modulus": 10}}, want: "9"},
		{fn: "check_digit", args: []any{"0701172", "sha1"}, err: "argument 2 (method)"},
		{fn: "check_digit", args: []any{"0701172", map[string]any{"method": "luhn", "colour": "red"}}, err: `unknown key "colour"`},
		{fn: "check_digit", args: []any{"0701172", map[string]any{"method": "weighted", "modulus": "10"}}, err: "modulus: want int, got string"},
		{fn: "check_digit", args: []any{"0701172", 5}, err: "argument 2 (method): want method name or map, got int"},
		{fn: "kassenzeichen_valid", args: []any{"0701172-9", "luhn"}, want: true},
		{fn: "kassenzeichen_valid", args: []any{"0701172-8", "luhn"}, want: false},
		{fn: "kassenzeichen_valid", args: []any{"07011729", map[string]any{"method": "mod11", "map10": "X"}}, want: mod11Ref("0701172", nil) == "9"},
		{fn: "kassenzeichen_valid", args: []any{"x", "nope"}, err: "argument 2 (method)"},
		{fn: "kassenzeichen_valid", args: []any{nil, "luhn"}, want: false},
	})
}

// mod11Ref computes a modulo 11 check digit independently of checkdigit:
// weights cyclic from the right, 11 - sum%11, 10 and 11 map to "0".
func mod11Ref(s string, w []int) string {
	if len(w) == 0 {
		w = []int{2, 3, 4, 5, 6, 7}
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += int(s[len(s)-1-i]-'0') * w[i%len(w)]
	}
	c := 11 - sum%11
	if c >= 10 {
		return "0"
	}
	return string(rune('0' + c))
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestTableShape checks the metadata every function must have.
func TestTableShape(t *testing.T) {
	t.Parallel()
	groups := map[string]bool{}
	for _, g := range Groups {
		groups[g] = true
	}
	reserved := map[string]bool{"contains": true, "in": true, "matches": true, "startsWith": true, "endsWith": true,
		"not": true, "and": true, "or": true, "let": true, "now": true, "today": true, "nil": true, "true": true, "false": true}
	for _, f := range Library(nil) {
		switch {
		case !snake.MatchString(f.Name):
			t.Errorf("%s: name is not snake_case", f.Name)
		case reserved[f.Name]:
			t.Errorf("%s: name is an expr operator/keyword or an engine core function", f.Name)
		case !groups[f.Group]:
			t.Errorf("%s: unknown group %q", f.Name, f.Group)
		case !strings.HasSuffix(f.Doc, ".") || f.Doc[0] < 'A' || f.Doc[0] > 'Z':
			t.Errorf("%s: doc is not a sentence: %q", f.Name, f.Doc)
		case !strings.Contains(f.Example, f.Name+"("):
			t.Errorf("%s: example %q does not call it", f.Name, f.Example)
		case len(f.Types) == 0 || f.Fn == nil:
			t.Errorf("%s: no Types or Fn", f.Name)
		}
	}
}

// TestBadArgumentsNeverPanic calls every function with odd values.
func TestBadArgumentsNeverPanic(t *testing.T) {
	t.Parallel()
	odd := []any{nil, unknown{}, "", "x", 0, -1, int64(1 << 40), dec("-0.5"), 1.5, true, day(2026, 1, 1),
		time.Time{}, []any{}, []any{nil, "a"}, map[string]any{"method": 1}}
	for _, f := range Library(clock) {
		for n := 0; n <= 3; n++ {
			args := make([]any, n)
			var rec func(i int)
			rec = func(i int) {
				if i == n {
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Fatalf("%s%v panicked: %v", f.Name, args, r)
							}
						}()
						_, err := f.Fn(args...)
						if err != nil && !strings.HasPrefix(err.Error(), f.Name+": ") {
							t.Fatalf("%s%v: error %q does not name the function", f.Name, args, err)
						}
					}()
					return
				}
				for _, v := range odd {
					args[i] = v
					rec(i + 1)
				}
			}
			rec(0)
		}
	}
}

func TestWrongTypeNamesFunctionAndArgument(t *testing.T) {
	t.Parallel()
	for _, f := range Library(clock) {
		if f.Name == "coalesce" || f.Name == "if_null" || f.Name == "null_if" || f.Name == "is_blank" || f.Name == "string" {
			continue // accept any value
		}
		// find the arity from the first signature and pass a value of no expression type
		sig := signature(f.Name, f.Types[0])
		n := strings.Count(sig, ",") + 1
		if strings.Contains(sig, "()") {
			continue
		}
		args := make([]any, n)
		for i := range args {
			args[i] = unknown{}
		}
		_, err := f.Fn(args...)
		if err == nil || !strings.HasPrefix(err.Error(), f.Name+": ") || !strings.Contains(err.Error(), "funcs.unknown") {
			t.Errorf("%s(%d × unknown) = %v, want an error naming the function and the type", f.Name, n, err)
		}
	}
}

// TestFunctionsDoc fails when docs/functions.md is stale; -update rewrites it.
func TestFunctionsDoc(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "functions.md")
	want := Markdown(Library(clock))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go generate ./engine/expression/funcs)", err)
	}
	if string(got) != string(want) {
		t.Fatal("docs/functions.md is stale: run go generate ./engine/expression/funcs")
	}
}

// FuzzLibrary feeds arbitrary text (and a number derived from it) to every
// function: no panic, and errors always name the function.
func FuzzLibrary(f *testing.F) {
	for _, s := range []string{"", "Müller", "DE89370400440532013000", "24.12.2026", "1.234,50", "\xff", "RF18", "-0"} {
		f.Add(s, 2)
	}
	fs := Library(clock)
	f.Fuzz(func(t *testing.T, s string, n int) {
		vals := []any{s, n, day(2026, 1, 1).AddDays(n % 100000), nil}
		for _, fn := range fs {
			for _, args := range [][]any{{s}, {s, s}, {s, n}, {s, n, s}, {vals[2], n}, {n, s}, {s, s, s}} {
				_, err := fn.Fn(args...)
				if err != nil && !strings.HasPrefix(err.Error(), fn.Name+": ") {
					t.Fatalf("%s%v: error %q does not name the function", fn.Name, args, err)
				}
			}
		}
	})
}

func BenchmarkCalls(b *testing.B) {
	fs := lib(b)
	for _, c := range []call{
		{fn: "sepa_text", args: []any{"Müller & Söhne GmbH"}},
		{fn: "iban_valid", args: []any{"DE89370400440532013000"}},
		{fn: "round", args: []any{dec("2.345"), 2}},
		{fn: "format_amount", args: []any{dec("1234567.891"), ",", 2, "."}},
		{fn: "add_business_days", args: []any{day(2026, 4, 2), 3}},
		{fn: "pad_left", args: []any{42, 10, "0"}},
		{fn: "kassenzeichen_valid", args: []any{"0701172-9", "luhn"}},
	} {
		f := fs[c.fn].Fn
		b.Run(c.fn, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f(c.args...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
