package funcs

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const gStrings = "Strings"

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
			Fn:      fn3("substr", nullToNull, strArg("s"), intArg("start"), intArg("length"), substr),
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
	return fn1(fn, nullToNull, strArg("s"), func(s string) (any, error) { return f(s), nil })
}

// predicate2 wraps a (string, string) bool function; null gives false.
func predicate2(fn, name string, f func(string, string) bool) func(args ...any) (any, error) {
	return fn2(fn, nullsToFalse, strArg("s"), strArg(name), func(s, p string) (any, error) { return f(s, p), nil })
}

func trimFn(fn string, space func(string, func(rune) bool) string, cut func(string, string) string) func(args ...any) (any, error) {
	return fn2(fn, nullToNull, strArg("s"), optional(strArg("cutset")), func(s string, cutset maybe[string]) (any, error) {
		if !cutset.ok {
			return space(s, unicode.IsSpace), nil
		}
		return cut(s, cutset.v), nil
	})
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

func substr(s string, start, n int) (any, error) {
	if start < 0 || n < 0 {
		return nil, fmt.Errorf("start %d and length %d must not be negative", start, n)
	}
	a := runeOffset(s, start)
	return s[a : a+runeOffset(s[a:], n)], nil
}

func leftRightFn(fn string, left bool) func(args ...any) (any, error) {
	return fn2(fn, nullToNull, strArg("s"), intArg("n"), func(s string, n int) (any, error) {
		if n < 0 {
			return nil, fmt.Errorf("argument 2 (n): %d must not be negative", n)
		}
		if left {
			return s[:runeOffset(s, n)], nil
		}
		c := utf8.RuneCountInString(s)
		if n >= c {
			return s, nil
		}
		return s[runeOffset(s, c-n):], nil
	})
}

// maxPadWidth bounds pad widths so a bad value cannot allocate gigabytes.
const maxPadWidth = 1 << 16

func padFn(fn string, left bool) func(args ...any) (any, error) {
	return fn3(fn, nullToNull, textArg("s"), intRangeArg("width", 0, maxPadWidth), optional(charArg("char")),
		func(s string, w int, char maybe[string]) (any, error) {
			n := w - utf8.RuneCountInString(s)
			if n <= 0 {
				return s, nil
			}
			if left {
				return strings.Repeat(char.or(" "), n) + s, nil
			}
			return s + strings.Repeat(char.or(" "), n), nil
		})
}
