package funcs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kontor-etl/kontor/plugins/sdk/checkdigit"
)

const gCheck = "Check digits"

func checkDigitFuncs() []Func {
	return []Func{
		{
			Name: "luhn_digit", Group: gCheck,
			Doc:     "Returns the Luhn (modulo 10, weights 2-1, Bundesbank method 00) check digit of a digit string; separators ' ', '.', '-', '/', '_' are ignored, other characters are an error.",
			Example: `luhn_digit("0701172") == "9" && luhn_digit("070-1172") == "9"`,
			Fn:      computeFn("luhn_digit", fixedMethod(checkdigit.Luhn())),
			Types:   []any{new(func(string) string)},
		},
		{
			Name: "luhn_valid", Group: gCheck,
			Doc:     "Reports whether the last digit of s is its Luhn check digit (separators ignored); false for null or non-digits.",
			Example: `luhn_valid("07011729") && !luhn_valid("07011720")`,
			Fn:      validateFn("luhn_valid", fixedMethod(checkdigit.Luhn())),
			Types:   []any{new(func(string) bool)},
		},
		{
			Name: "mod11_digit", Group: gCheck,
			Doc: "Returns the modulo 11 check digit of a digit string with weights applied cyclically from the right " +
				"(default [2, 3, 4, 5, 6, 7]); results 10 and 11 give \"0\". Separators are ignored.",
			Example: `mod11_digit("01015500001") == "0" && mod11_digit("123", [2, 3]) == "8"`,
			Fn:      computeFn("mod11_digit", mod11Method),
			Types:   []any{new(func(string) string), new(func(string, []any) string)},
		},
		{
			Name: "mod11_valid", Group: gCheck,
			Doc:     "Reports whether the last digit of s is its modulo 11 check digit (optional weights as for mod11_digit); false for null or non-digits.",
			Example: `mod11_valid("010155000010") && !mod11_valid("010155000011")`,
			Fn:      validateFn("mod11_valid", mod11Method),
			Types:   []any{new(func(string) bool), new(func(string, []any) bool)},
		},
		{
			Name: "check_digit", Group: gCheck,
			Doc: "Returns the check digit of a digit payload for a method: a name (\"none\", \"luhn\", \"mod11\") or a map with the " +
				"keys of the kassenzeichen check_digit option (method, weights, direction, cyclic, modulus, digit_sum, remainder, map10, map11).",
			Example: `check_digit("0701172", "luhn") == "9" && check_digit("0701172", {method: "weighted", weights: [2, 1], digit_sum: true}) == "9"`,
			Fn:      computeFn("check_digit", configuredMethod),
			Types:   []any{new(func(string, string) string), new(func(string, map[string]any) string)},
		},
		{
			Name: "kassenzeichen_valid", Group: gCheck,
			Doc: "Reports whether a Kassenzeichen (display separators ignored) ends with the right check digit for the method " +
				"(as for check_digit); false for null or non-digits, an invalid method is an error.",
			Example: `kassenzeichen_valid("070.1172-9", "luhn") && !kassenzeichen_valid("070.1172-8", "luhn")`,
			Fn:      validateFn("kassenzeichen_valid", configuredMethod),
			Types:   []any{new(func(string, string) bool), new(func(string, map[string]any) bool)},
		},
	}
}

// methodOf picks the check-digit method from the arguments after the
// first and checks their number.
type methodOf func(args []any) (checkdigit.Method, error)

func fixedMethod(m checkdigit.Method) methodOf {
	return func(args []any) (checkdigit.Method, error) {
		if err := arity(args, 1, 1); err != nil {
			return nil, err
		}
		return m, nil
	}
}

var defaultMod11 = func() checkdigit.Method {
	m, err := checkdigit.Mod11(nil, "", "")
	if err != nil {
		panic(err)
	}
	return m
}()

// mod11Method reads optional weights (default [2, 3, 4, 5, 6, 7]).
func mod11Method(args []any) (checkdigit.Method, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	m, err := mod11Weights.at(args, 1)
	if err != nil {
		return nil, err
	}
	return m.or(defaultMod11), nil
}

var mod11Weights = optional(param[checkdigit.Method]{name: "weights", decode: func(v any) (checkdigit.Method, error) {
	w, err := asIntList(v)
	if err != nil {
		return nil, err
	}
	return checkdigit.Mod11(w, "", "")
}})

// intListArg is a list of ints.
func intListArg(name string) param[[]int] { return param[[]int]{name: name, decode: asIntList} }

func asIntList(v any) ([]int, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, wantError("list of int", v)
	}
	out := make([]int, len(l))
	for k, e := range l {
		n, ok := toInt(e)
		if !ok {
			return nil, fmt.Errorf("element %d: want int, got %s", k+1, typeName(e))
		}
		out[k] = n
	}
	return out, nil
}

func configuredMethod(args []any) (checkdigit.Method, error) {
	if err := arity(args, 2, 2); err != nil {
		return nil, err
	}
	var cfg checkdigit.MethodConfig
	switch x := args[1].(type) {
	case string:
		if m, ok := namedMethods.Load(x); ok {
			return m.(checkdigit.Method), nil
		}
		cfg.Method = x
	case map[string]any:
		if err := decodeMethod(x, &cfg); err != nil {
			return nil, err
		}
	default:
		return nil, argError(1, "method", "method name or map", args[1])
	}
	m, err := checkdigit.Parse(cfg)
	if err != nil {
		return nil, fmt.Errorf("argument 2 (method): %v", err)
	}
	if name, ok := args[1].(string); ok && len(name) <= 16 {
		namedMethods.Store(name, m) // only valid names reach this point
	}
	return m, nil
}

// namedMethods caches methods given by name ("luhn", "mod11", ...); the
// set is bounded by the valid spellings checkdigit.Parse accepts.
var namedMethods sync.Map

func decodeMethod(m map[string]any, cfg *checkdigit.MethodConfig) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := func(k, want string) error {
		return fmt.Errorf("argument 2 (method): %s: %w", k, wantError(want, m[k]))
	}
	for _, k := range keys {
		v := m[k]
		var ok bool
		switch k {
		case "method":
			cfg.Method, ok = v.(string)
		case "direction":
			cfg.Direction, ok = v.(string)
		case "map10":
			cfg.Map10, ok = v.(string)
		case "map11":
			cfg.Map11, ok = v.(string)
		case "modulus":
			cfg.Modulus, ok = toInt(v)
		case "digit_sum":
			cfg.DigitSum, ok = v.(bool)
		case "remainder":
			cfg.Remainder, ok = v.(bool)
		case "cyclic":
			var b bool
			b, ok = v.(bool)
			cfg.Cyclic = &b
		case "weights":
			w, err := intListArg("weights").of(1, v)
			if err != nil {
				return err
			}
			cfg.Weights, ok = w, true
		default:
			return fmt.Errorf("argument 2 (method): unknown key %q (want method, weights, direction, cyclic, modulus, digit_sum, remainder, map10, map11)", k)
		}
		if !ok {
			want := "string"
			switch k {
			case "modulus":
				want = "int"
			case "digit_sum", "remainder", "cyclic":
				want = "bool"
			}
			return bad(k, want)
		}
	}
	return nil
}

// digitFn wraps a check-digit function: method reads the arguments after
// the first (and checks their number), then a null first argument follows
// the null rule, and f gets the first argument (name) without separators.
func digitFn(fn string, method methodOf, null nullRule, name string, f func(checkdigit.Method, string) (any, error)) func(args ...any) (any, error) {
	return fnN(fn, 0, -1, noNullRule, func(args []any) (any, error) {
		if len(args) == 0 {
			return nil, arity(args, 1, 2) // every check-digit function takes 1 or 2
		}
		m, err := method(args)
		if err != nil {
			return nil, err
		}
		if null.applies(args) {
			return null.result, nil
		}
		s, err := strArg(name).of(0, args[0])
		if err != nil {
			return nil, err
		}
		return f(m, checkdigit.Strip(s))
	})
}

func computeFn(fn string, method methodOf) func(args ...any) (any, error) {
	return digitFn(fn, method, nullToNull, "digits", func(m checkdigit.Method, digits string) (any, error) {
		return result(m.Compute(digits))
	})
}

func validateFn(fn string, method methodOf) func(args ...any) (any, error) {
	return digitFn(fn, method, nullToFalse, "s", func(m checkdigit.Method, s string) (any, error) {
		err := m.Validate(s)
		if err != nil && !isDataError(err) {
			return nil, err
		}
		return err == nil, nil
	})
}

// isDataError reports whether err is about the number rather than the method.
func isDataError(err error) bool {
	return errors.Is(err, checkdigit.ErrMismatch) || errors.Is(err, checkdigit.ErrNotDigits) ||
		errors.Is(err, checkdigit.ErrEmpty) || errors.Is(err, checkdigit.ErrNoCheckDigit) ||
		strings.Contains(err.Error(), "longer than")
}
