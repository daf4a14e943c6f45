package funcs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

const gNumbers = "Numbers"

var (
	decSig     = new(func(record.Decimal) record.Decimal)
	decIntSig  = new(func(record.Decimal, int) record.Decimal)
	intDecSig  = new(func(int) record.Decimal)
	intIntSig  = new(func(int, int) record.Decimal)
	roundTypes = []any{decIntSig, decSig, intIntSig, intDecSig}
)

func numberFuncs() []Func {
	return []Func{
		{
			Name: "decimal", Group: gNumbers,
			Doc: "Converts text (with '.' or the given one-character decimal separator, optionally dropping a thousands " +
				"separator) or an int to an exact decimal; malformed text is an error.",
			Example: `decimal("1234.50") == 1234.5 && decimal("1.234,50", ",", ".") == 1234.5 && decimal(7) == 7`,
			Fn:      fnN("decimal", 1, 3, nullToNull, decimalOf),
			Types: []any{new(func(string) record.Decimal), new(func(string, string) record.Decimal),
				new(func(string, string, string) record.Decimal), intDecSig, decSig},
		},
		{
			Name: "round", Group: gNumbers,
			Doc: "Rounds a decimal or int to scale digits after the point (default 0), half away from zero " +
				"(kaufmännisch: 2.345 → 2.35, -2.345 → -2.35); the result has exactly scale digits.",
			Example: `round(2.345, 2) == 2.35 && string(round(2.5)) == "3" && string(round(1, 2)) == "1.00"`,
			Fn:      roundFn("round", record.Decimal.Round),
			Types:   roundTypes,
		},
		{
			Name: "round_half_even", Group: gNumbers,
			Doc:     "Rounds a decimal or int to scale digits (default 0) with banker's rounding (half to even): 2.345 → 2.34, 2.355 → 2.36.",
			Example: `round_half_even(2.345, 2) == 2.34 && round_half_even(2.5) == 2`,
			Fn:      roundFn("round_half_even", record.Decimal.RoundHalfEven),
			Types:   roundTypes,
		},
		{
			Name: "floor", Group: gNumbers,
			Doc:     "Rounds a decimal or int down (toward negative infinity) to scale digits (default 0).",
			Example: `floor(2.349, 2) == 2.34 && floor(-2.341, 2) == -2.35`,
			Fn:      roundErrFn("floor", func(d record.Decimal, s int) (record.Decimal, error) { return floorCeil(d, s, -1) }),
			Types:   roundTypes,
		},
		{
			Name: "ceil", Group: gNumbers,
			Doc:     "Rounds a decimal or int up (toward positive infinity) to scale digits (default 0).",
			Example: `ceil(2.341, 2) == 2.35 && ceil(-2.349, 2) == -2.34`,
			Fn:      roundErrFn("ceil", func(d record.Decimal, s int) (record.Decimal, error) { return floorCeil(d, s, +1) }),
			Types:   roundTypes,
		},
		{
			Name: "abs", Group: gNumbers,
			Doc:     "Returns the absolute value of a decimal or int (same type).",
			Example: `abs(-12.50) == 12.5 && abs(-3) == 3`,
			Fn:      fnN("abs", 1, 1, nullToNull, abs),
			Types:   []any{decSig, new(func(int) int)},
		},
		{
			Name: "min", Group: gNumbers,
			Doc: "Returns the smallest argument (or element of one list argument); nulls are skipped, all null gives null. " +
				"Arguments must be all numbers (ints stay int, mixed give decimal), all dates, all datetimes or all strings.",
			Example: `min(3, 1.5, 2) == 1.5 && min(date(2026, 1, 2), date(2025, 5, 1)) == date(2025, 5, 1) && min([4, 2]) == 2`,
			Fn:      minMaxFn("min", -1),
			Types:   minMaxTypes,
		},
		{
			Name: "max", Group: gNumbers,
			Doc: "Returns the largest argument (or element of one list argument); nulls are skipped, all null gives null. " +
				"Arguments must be all numbers (ints stay int, mixed give decimal), all dates, all datetimes or all strings.",
			Example: `max(3, 1.5, 2) == 3 && max("a", "b") == "b"`,
			Fn:      minMaxFn("max", +1),
			Types:   minMaxTypes,
		},
		{
			Name: "int", Group: gNumbers,
			Doc: "Converts text (optional sign, digits, surrounding blanks ignored) or an integral decimal to an int; " +
				"a decimal with a fraction is an error (round it first).",
			Example: `int(" 007") == 7 && int(12.00) == 12`,
			Fn:      fnN("int", 1, 1, nullToNull, intOf),
			Types:   []any{new(func(string) int), new(func(record.Decimal) int), new(func(int) int)},
		},
		{
			Name: "string", Group: gNumbers,
			Doc: "Formats a value as text: decimals with '.' and their own scale, dates as YYYY-MM-DD, datetimes as RFC 3339, " +
				"bools as true/false, null as \"\"; lists and maps are an error (use toJSON).",
			Example: `string(decimal("12.50")) == "12.50" && string(42) == "42" && string(date(2026, 1, 2)) == "2026-01-02"`,
			Fn:      fnN("string", 1, 1, noNullRule, stringOf),
			Types:   []any{new(func(any) string)},
		},
		{
			Name: "format_amount", Group: gNumbers,
			Doc: "Formats a decimal or int with the decimal separator sep (one character) and exactly scale digits " +
				"(rounded half away from zero), optionally grouping thousands with a one-character separator.",
			Example: `format_amount(1234.5, ",", 2) == "1234,50" && format_amount(-1234567.891, ",", 2, ".") == "-1.234.567,89"`,
			Fn: fn4("format_amount", nullToNull, decArg("amount"), byteArg("sep"), scaleArg(), optional(strArg("thousands")),
				formatAmount),
			Types: []any{new(func(record.Decimal, string, int) string), new(func(int, string, int) string),
				new(func(record.Decimal, string, int, string) string), new(func(int, string, int, string) string)},
		},
		{
			Name: "cents", Group: gNumbers,
			Doc:     "Returns a decimal amount in cents as an int (12.34 → 1234), e.g. for fixed-width formats; more than two decimal places that are not zero is an error.",
			Example: `cents(12.34) == 1234 && cents(-0.5) == -50 && cents(3) == 300`,
			Fn:      fn1("cents", nullToNull, decArg("amount"), cents),
			Types:   []any{new(func(record.Decimal) int), new(func(int) int)},
		},
	}
}

var minMaxTypes = []any{
	new(func(...int) int),
	new(func(...record.Decimal) record.Decimal),
	new(func(...record.Date) record.Date),
	new(func(...time.Time) time.Time),
	new(func(...string) string),
	new(func(...any) any),
}

// decimalOf converts text, an int or a decimal; separators apply to text only.
func decimalOf(args []any) (any, error) {
	if _, ok := args[0].(string); ok {
		return parseDecimal(args...)
	}
	if len(args) > 1 {
		return nil, errors.New("separators apply to text only")
	}
	return result(decArg("x").at(args, 0))
}

var parseDecimal = decode3(nil, strArg("s"), optional(param[string]{name: "sep", decode: asDecimalSep}), optional(strArg("thousands")),
	func(s string, decSep, th maybe[string]) (any, error) {
		sep := decSep.or(".")[0]
		s = strings.TrimSpace(s)
		if th.ok {
			if len(th.v) != 1 || th.v[0] == sep {
				return nil, fmt.Errorf("argument 3 (thousands): want one character other than the decimal separator, got %q", th.v)
			}
			s = strings.ReplaceAll(s, th.v, "")
		}
		return result(record.ParseDecimal(s, sep))
	})

// asDecimalSep decodes a decimal separator, "." or ",".
func asDecimalSep(v any) (string, error) {
	s, err := asString(v)
	if err == nil && s != "." && s != "," {
		err = fmt.Errorf("want \".\" or \",\", got %q", s)
	}
	return s, err
}

func roundFn(fn string, f func(record.Decimal, int) record.Decimal) func(args ...any) (any, error) {
	return roundErrFn(fn, func(d record.Decimal, s int) (record.Decimal, error) { return f(d, s), nil })
}

func roundErrFn(fn string, f func(record.Decimal, int) (record.Decimal, error)) func(args ...any) (any, error) {
	return fn2(fn, nullToNull, decArg("x"), optional(scaleArg()), func(d record.Decimal, scale maybe[int]) (any, error) {
		return result(f(d, scale.or(0)))
	})
}

// floorCeil rounds toward -inf (dir < 0) or +inf (dir > 0).
func floorCeil(d record.Decimal, scale, dir int) (record.Decimal, error) {
	t := d.Trunc(scale)
	if !t.Equal(d) && d.Sign() == dir {
		step, err := record.NewDecimal(int64(dir), scale)
		if err != nil {
			return record.Decimal{}, err
		}
		if t, err = t.Add(step); err != nil {
			return record.Decimal{}, err
		}
	}
	return t.Round(scale), nil
}

func abs(args []any) (any, error) {
	switch x := args[0].(type) {
	case int:
		if x < 0 {
			if -x < 0 {
				return nil, errors.New("integer overflow")
			}
			return -x, nil
		}
		return x, nil
	case int64:
		if x < 0 {
			x = -x
		}
		return x, nil
	}
	d, err := decArg("x").at(args, 0)
	if err != nil {
		return nil, err
	}
	return d.Abs(), nil
}

type cmpClass uint8

const (
	cmpNone cmpClass = iota
	cmpInt
	cmpNum
	cmpDate
	cmpTime
	cmpString
)

func classify(v any) cmpClass {
	switch v.(type) {
	case int, int64, int32:
		return cmpInt
	case record.Decimal, float64:
		return cmpNum
	case record.Date:
		return cmpDate
	case time.Time:
		return cmpTime
	case string:
		return cmpString
	}
	return cmpNone
}

func minMaxFn(fn string, want int) func(args ...any) (any, error) {
	return fnN(fn, 1, -1, noNullRule, func(args []any) (any, error) {
		vals := args
		if len(args) == 1 {
			if l, ok := args[0].([]any); ok {
				vals = l
			}
		}
		var best any
		cls := cmpNone
		for i, v := range vals {
			if v == nil {
				continue
			}
			c := classify(v)
			if c == cmpNone {
				return nil, fmt.Errorf("value %d: want number, date, datetime or string, got %s", i+1, typeName(v))
			}
			if best == nil {
				best, cls = v, c
				continue
			}
			if c != cls && !(c <= cmpNum && cls <= cmpNum) {
				return nil, fmt.Errorf("value %d: cannot compare %s with %s", i+1, typeName(v), typeName(best))
			}
			if c == cmpNum && cls == cmpInt {
				cls = cmpNum
			}
			if compare(v, best, cls) == want {
				best = v
			}
		}
		if cls == cmpNum {
			d, _ := toDecimal(best)
			return d, nil
		}
		if cls == cmpInt {
			n, _ := toInt(best)
			return n, nil
		}
		return best, nil
	})
}

func compare(a, b any, cls cmpClass) int {
	switch cls {
	case cmpInt:
		x, _ := toInt(a)
		y, _ := toInt(b)
		return cmpOrdered(x, y)
	case cmpNum:
		x, _ := toDecimal(a)
		y, _ := toDecimal(b)
		return x.Cmp(y)
	case cmpDate:
		return cmpOrdered(a.(record.Date), b.(record.Date))
	case cmpTime:
		return a.(time.Time).Compare(b.(time.Time))
	}
	return strings.Compare(a.(string), b.(string))
}

func cmpOrdered[T int | record.Date](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func intOf(args []any) (any, error) {
	switch x := args[0].(type) {
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("%q is out of range", x)
			}
			return nil, fmt.Errorf("%q is not an integer", x)
		}
		return n, nil
	case record.Decimal:
		if !x.IsInt() {
			return nil, fmt.Errorf("%s has a fraction (round it first)", x)
		}
		n, ok := toInt(x)
		if !ok {
			return nil, fmt.Errorf("%s is out of range", x)
		}
		return n, nil
	}
	if n, ok := toInt(args[0]); ok {
		return n, nil
	}
	return nil, argError(0, "x", "string, int or decimal", args[0])
}

func stringOf(args []any) (any, error) {
	if s, ok := textOf(args[0]); ok {
		return s, nil
	}
	switch x := args[0].(type) {
	case nil:
		return "", nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case record.Decimal:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case record.Date:
		return x.String(), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case float64:
		d, _ := toDecimal(x)
		return d.String(), nil
	}
	return nil, argError(0, "x", "string, number, bool, date or datetime (use toJSON for lists and maps)", args[0])
}

func formatAmount(d record.Decimal, sep string, scale int, th maybe[string]) (any, error) {
	s := d.Format(sep[0], scale)
	if th.ok {
		if len(th.v) != 1 || th.v == sep {
			return nil, fmt.Errorf("argument 4 (thousands): want one character other than sep, got %q", th.v)
		}
		s = groupThousands(s, sep[0], th.v[0])
	}
	return s, nil
}

// groupThousands inserts th between groups of three integer digits.
func groupThousands(s string, sep, th byte) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, sep); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.Grow(len(s) + len(intPart)/3 + 1)
	b.WriteString(sign)
	first := len(intPart) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(intPart[:first])
	for i := first; i < len(intPart); i += 3 {
		b.WriteByte(th)
		b.WriteString(intPart[i : i+3])
	}
	b.WriteString(frac)
	return b.String()
}

func cents(d record.Decimal) (any, error) {
	r := d.Round(2)
	if !r.Equal(d) {
		return nil, fmt.Errorf("%s has more than two decimal places", d)
	}
	c, err := r.Mul(record.DecimalFromInt(100))
	if err != nil {
		return nil, err
	}
	n, ok := toInt(c)
	if !ok {
		return nil, fmt.Errorf("%s is out of range", d)
	}
	return n, nil
}
