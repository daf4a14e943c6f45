package funcs

import (
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

const gNull = "Null handling"

var coalesceTypes = []any{
	new(func(...string) string),
	new(func(...int) int),
	new(func(...record.Decimal) record.Decimal),
	new(func(...record.Date) record.Date),
	new(func(...time.Time) time.Time),
	new(func(...bool) bool),
	new(func(...any) any),
}

func nullFuncs() []Func {
	return []Func{
		{
			Name: "coalesce", Group: gNull,
			Doc:     "Returns the first argument that is not null, or null if all are; empty text counts as a value (use is_blank for that).",
			Example: `coalesce(nil, "", "x") == "" && coalesce(nil, 2) == 2`,
			Fn: fnN("coalesce", 1, -1, noNullRule, func(args []any) (any, error) {
				for _, a := range args {
					if a != nil {
						return a, nil
					}
				}
				return nil, nil
			}),
			Types: coalesceTypes,
		},
		{
			Name: "if_null", Group: gNull,
			Doc:     "Returns x, or fallback when x is null.",
			Example: `if_null(nil, "unbekannt") == "unbekannt" && if_null("a", "b") == "a"`,
			Fn: fnN("if_null", 2, 2, noNullRule, func(args []any) (any, error) {
				if args[0] == nil {
					return args[1], nil
				}
				return args[0], nil
			}),
			Types: []any{new(func(string, string) string), new(func(int, int) int),
				new(func(record.Decimal, record.Decimal) record.Decimal), new(func(record.Date, record.Date) record.Date),
				new(func(time.Time, time.Time) time.Time), new(func(bool, bool) bool), new(func(any, any) any)},
		},
		{
			Name: "null_if", Group: gNull,
			Doc:     "Returns null when x equals value (decimals compare numerically), else x; e.g. to turn a placeholder such as \"0000\" into null.",
			Example: `null_if("0000", "0000") == nil && null_if(0.00, 0) == nil && null_if("a", "b") == "a"`,
			Fn: fnN("null_if", 2, 2, noNullRule, func(args []any) (any, error) {
				if equalValues(args[0], args[1]) {
					return nil, nil
				}
				return args[0], nil
			}),
			Types: []any{new(func(string, string) string), new(func(int, int) int),
				new(func(record.Decimal, record.Decimal) record.Decimal), new(func(record.Date, record.Date) record.Date),
				new(func(any, any) any)},
		},
		{
			Name: "is_blank", Group: gNull,
			Doc:     "Reports whether x is null, text of only white space, or an empty list or map.",
			Example: `is_blank(nil) && is_blank(" \t") && !is_blank("x") && is_blank([]) && !is_blank(0)`,
			Fn: fnN("is_blank", 1, 1, noNullRule, func(args []any) (any, error) {
				switch x := args[0].(type) {
				case nil:
					return true, nil
				case string:
					return strings.TrimSpace(x) == "", nil
				case []any:
					return len(x) == 0, nil
				case map[string]any:
					return len(x) == 0, nil
				}
				return false, nil
			}),
			Types: []any{new(func(any) bool)},
		},
	}
}

// equalValues compares two scalar values; numbers compare numerically.
func equalValues(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ca, cb := classify(a), classify(b)
	if ca <= cmpNum && cb <= cmpNum && ca != cmpNone && cb != cmpNone {
		x, _ := toDecimal(a)
		y, _ := toDecimal(b)
		return x.Equal(y)
	}
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any, map[string]any:
		return false
	}
	defer func() { _ = recover() }() // uncomparable dynamic types
	return a == b
}
