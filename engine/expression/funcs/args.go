package funcs

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

// typeName names the expression type of a runtime value.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case int, int64, int32:
		return "int"
	case record.Decimal, float64:
		return "decimal"
	case bool:
		return "bool"
	case record.Date:
		return "date"
	case time.Time:
		return "datetime"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// argError reports a bad argument i (0-based) of fn.
func argError(fn string, i int, name, want string, got any) error {
	return fmt.Errorf("%s: argument %d (%s): want %s, got %s", fn, i+1, name, want, typeName(got))
}

// arity checks the number of arguments.
func arity(fn string, args []any, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		switch {
		case min == max:
			return fmt.Errorf("%s: want %d arguments, got %d", fn, min, len(args))
		case max < 0:
			return fmt.Errorf("%s: want at least %d arguments, got %d", fn, min, len(args))
		}
		return fmt.Errorf("%s: want %d to %d arguments, got %d", fn, min, max, len(args))
	}
	return nil
}

func argString(fn string, args []any, i int, name string) (string, error) {
	if s, ok := args[i].(string); ok {
		return s, nil
	}
	return "", argError(fn, i, name, "string", args[i])
}

// toInt converts int-like values; decimals must be integral.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		if x < math.MinInt || x > math.MaxInt {
			return 0, false
		}
		return int(x), true
	case int32:
		return int(x), true
	case record.Decimal:
		if i, ok := x.Int64(); ok && i >= math.MinInt && i <= math.MaxInt {
			return int(i), true
		}
	}
	return 0, false
}

func argInt(fn string, args []any, i int, name string) (int, error) {
	if n, ok := toInt(args[i]); ok {
		return n, nil
	}
	return 0, argError(fn, i, name, "int", args[i])
}

// toDecimal converts int, Decimal and (defensively) float64.
func toDecimal(v any) (record.Decimal, bool) {
	switch x := v.(type) {
	case record.Decimal:
		return x, true
	case int:
		return record.DecimalFromInt(int64(x)), true
	case int64:
		return record.DecimalFromInt(x), true
	case int32:
		return record.DecimalFromInt(int64(x)), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return record.Decimal{}, false
		}
		d, err := record.ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64), '.')
		return d, err == nil
	}
	return record.Decimal{}, false
}

func argDecimal(fn string, args []any, i int, name string) (record.Decimal, error) {
	if d, ok := toDecimal(args[i]); ok {
		return d, nil
	}
	return record.Decimal{}, argError(fn, i, name, "decimal or int", args[i])
}

func argDate(fn string, args []any, i int, name string) (record.Date, error) {
	switch x := args[i].(type) {
	case record.Date:
		return x, nil
	case time.Time:
		return record.DateOf(x), nil
	}
	return 0, argError(fn, i, name, "date", args[i])
}

// argScale reads a number of decimal places 0..19.
func argScale(fn string, args []any, i int) (int, error) {
	n, err := argInt(fn, args, i, "scale")
	if err != nil {
		return 0, err
	}
	if n < 0 || n > 19 {
		return 0, fmt.Errorf("%s: argument %d (scale): %d is outside 0..19", fn, i+1, n)
	}
	return n, nil
}

// errorf formats an error prefixed with the function name.
func errorf(fn, format string, args ...any) error {
	return fmt.Errorf(fn+": "+format, args...)
}
