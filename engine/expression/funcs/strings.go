package funcs

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const gStrings = "Strings"

// textOf accepts a string or an int (formatted in decimal) for functions
// such as pad_left that are often given numbers.
func textOf(fn string, args []any, i int, name string) (string, error) {
	switch x := args[i].(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", argError(fn, i, name, "string or int", args[i])
}

func stringFuncs() []Func {
	return []Func{
		{
			Name: "trim_left", Group: gStrings,
			Doc:     "Removes leading white space, or leading characters of the optional cutset, from a string.",
			Example: `trim_left("  x ") == "x " && trim_left("007", "0") == "7"`,
			Fn:      trimFn("trim_left", strings.TrimLeftFunc, strings.TrimLeft),
			Types:   []any{new(func(string) string), new(func(string, string) string)},
		},
		{
			Name: "trim_right", Group: gStrings,
			Doc:     "Removes trailing white space, or trailing characters of the optional cutset, from a string.",
			Example: `trim_right(" x  ") == " x" && trim_right("1.500", "0") == "1.5"`,
			Fn:      trimFn("trim_right", strings.TrimRightFunc, strings.TrimRight),
			Types:   []any{new(func(string) string), new(func(string, string) string)},
		},
		{
			Name: "substr", Group: gStrings,
			Doc: "Returns up to length characters of s starting at the 0-based character index start; " +
				"a range past the end is cut short, a negative start or length is an error.",
			Example: `substr("Kassenzeichen", 6, 7) == "zeichen" && substr("Ü1", 1, 5) == "1"`,
			Fn:      substrFn,
			Types:   []any{new(func(string, int, int) string)},
		},
		{
			Name: "left", Group: gStrings,
			Doc:     "Returns the first n characters of s (all of s if it is shorter); n < 0 is an error.",
			Example: `left("Müller", 3) == "Mül" && left("ab", 5) == "ab"`,
			Fn:      leftRightFn("left", true),
			Types:   []any{new(func(string, int) string)},
		},
		{
			Name: "right", Group: gStrings,
			Doc:     "Returns the last n characters of s (all of s if it is shorter); n < 0 is an error.",
			Example: `right("DE89370400440532013000", 10) == "0532013000"`,
			Fn:      leftRightFn("right", false),
			Types:   []any{new(func(string, int) string)},
		},
		{
			Name: "pad_left", Group: gStrings,
			Doc: "Pads s (a string or an int) on the left to width characters with char (one character, default space); " +
				"longer values are returned unchanged, never cut.",
			Example: `pad_left(42, 6, "0") == "000042" && pad_left("ab", 4) == "  ab"`,
			Fn:      padFn("pad_left", true),
			Types: []any{new(func(string, int, string) string), new(func(int, int, string) string),
				new(func(string, int) string), new(func(int, int) string)},
		},
		{
			Name: "pad_right", Group: gStrings,
			Doc: "Pads s (a string or an int) on the right to width characters with char (one character, default space); " +
				"longer values are returned unchanged, never cut.",
			Example: `pad_right("ab", 4, ".") == "ab.." && pad_right("abcdef", 4) == "abcdef"`,
			Fn:      padFn("pad_right", false),
			Types: []any{new(func(string, int, string) string), new(func(int, int, string) string),
				new(func(string, int) string), new(func(int, int) string)},
		},
		{
			Name: "starts_with", Group: gStrings,
			Doc:     "Reports whether s begins with prefix (same as expr's hasPrefix and the startsWith operator); false for null.",
			Example: `starts_with("DE89370400440532013000", "DE")`,
			Fn:      predicate2("starts_with", "prefix", strings.HasPrefix),
			Types:   []any{new(func(string, string) bool)},
		},
		{
			Name: "ends_with", Group: gStrings,
			Doc:     "Reports whether s ends with suffix (same as expr's hasSuffix and the endsWith operator); false for null.",
			Example: `ends_with("report.csv", ".csv")`,
			Fn:      predicate2("ends_with", "suffix", strings.HasSuffix),
			Types:   []any{new(func(string, string) bool)},
		},
		{
			Name: "digits", Group: gStrings,
			Doc:     "Returns only the ASCII digits of s, e.g. to normalise a Kassenzeichen or phone number.",
			Example: `digits("8.8057.0000-01/3") == "880570000013"`,
			Fn: unaryString("digits", func(s string) string {
				return strings.Map(func(r rune) rune {
					if r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, s)
			}),
			Types: []any{new(func(string) string)},
		},
		{
			Name: "collapse_spaces", Group: gStrings,
			Doc:     "Trims s and replaces every run of white space (including line breaks and tabs) with one space.",
			Example: `collapse_spaces(" Erika \n  Mustermann ") == "Erika Mustermann"`,
			Fn:      unaryString("collapse_spaces", func(s string) string { return strings.Join(strings.Fields(s), " ") }),
			Types:   []any{new(func(string) string)},
		},
	}
}

// unaryString wraps a string -> string function with null propagation.
func unaryString(fn string, f func(string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 1, 1); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		s, err := argString(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

// predicate2 wraps a (string, string) bool function; null gives false.
func predicate2(fn, name string, f func(string, string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 2, 2); err != nil {
			return nil, err
		}
		if args[0] == nil || args[1] == nil {
			return false, nil
		}
		s, err := argString(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		p, err := argString(fn, args, 1, name)
		if err != nil {
			return nil, err
		}
		return f(s, p), nil
	}
}

func trimFn(fn string, space func(string, func(rune) bool) string, cut func(string, string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 1, 2); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		s, err := argString(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		if len(args) == 1 {
			return space(s, unicode.IsSpace), nil
		}
		c, err := argString(fn, args, 1, "cutset")
		if err != nil {
			return nil, err
		}
		return cut(s, c), nil
	}
}

// runeOffset returns the byte offset of the n-th character of s (len(s)
// if s has fewer).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

func substrFn(args ...any) (any, error) {
	const fn = "substr"
	if err := arity(fn, args, 3, 3); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	s, err := argString(fn, args, 0, "s")
	if err != nil {
		return nil, err
	}
	start, err := argInt(fn, args, 1, "start")
	if err != nil {
		return nil, err
	}
	n, err := argInt(fn, args, 2, "length")
	if err != nil {
		return nil, err
	}
	if start < 0 || n < 0 {
		return nil, fmt.Errorf("%s: start %d and length %d must not be negative", fn, start, n)
	}
	a := runeOffset(s, start)
	return s[a : a+runeOffset(s[a:], n)], nil
}

func leftRightFn(fn string, left bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 2, 2); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		s, err := argString(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		n, err := argInt(fn, args, 1, "n")
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, fmt.Errorf("%s: argument 2 (n): %d must not be negative", fn, n)
		}
		if left {
			return s[:runeOffset(s, n)], nil
		}
		c := utf8.RuneCountInString(s)
		if n >= c {
			return s, nil
		}
		return s[runeOffset(s, c-n):], nil
	}
}

// maxPadWidth bounds pad widths so a bad value cannot allocate gigabytes.
const maxPadWidth = 1 << 16

func padFn(fn string, left bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(fn, args, 2, 3); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return nil, nil
		}
		s, err := textOf(fn, args, 0, "s")
		if err != nil {
			return nil, err
		}
		w, err := argInt(fn, args, 1, "width")
		if err != nil {
			return nil, err
		}
		if w < 0 || w > maxPadWidth {
			return nil, fmt.Errorf("%s: argument 2 (width): %d is outside 0..%d", fn, w, maxPadWidth)
		}
		pad := " "
		if len(args) == 3 {
			if pad, err = argString(fn, args, 2, "char"); err != nil {
				return nil, err
			}
			if utf8.RuneCountInString(pad) != 1 {
				return nil, fmt.Errorf("%s: argument 3 (char): want exactly one character, got %q", fn, pad)
			}
		}
		n := w - utf8.RuneCountInString(s)
		if n <= 0 {
			return s, nil
		}
		if left {
			return strings.Repeat(pad, n) + s, nil
		}
		return s + strings.Repeat(pad, n), nil
	}
}
