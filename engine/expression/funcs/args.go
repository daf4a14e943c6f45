package funcs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
)

// Every function of the library is built by fnN or its typed forms fn1
// to fn4: they check the number of arguments, apply the null rule, decode
// each argument with its param and name the function in every error, so a
// function body states only its own logic and returns errors without the
// function name ("argument 2 (n): -1 must not be negative").

// sig is what a function checks before it decodes its arguments: the
// number of arguments (min to max; max < 0: no limit) and the null rule;
// fn names the function in errors. A nil *sig checks and names nothing:
// a body that an enclosing fnN has already checked.
type sig struct {
	fn       string
	min, max int
	null     nullRule
}

// plain reports that args need no check: s is nil, or args are as many as
// s takes and the null rule cannot apply. It is the inlined fast path of
// check.
func (s *sig) plain(args []any) bool {
	return s == nil || (len(args) >= s.min && uint(len(args)) <= uint(s.max) && !s.null.anyArg && (s.null.off || (len(args) > 0 && args[0] != nil)))
}

// check checks args; done reports that the call's result is v, err.
func (s *sig) check(args []any) (v any, err error, done bool) {
	switch {
	case len(args) < s.min || (s.max >= 0 && len(args) > s.max):
		return nil, named(s.fn, arity(args, s.min, s.max)), true
	case s.null.applies(args):
		return s.null.result, nil, true
	}
	return nil, nil, false
}

// end returns the result of the body, naming the function in an error.
func (s *sig) end(v any, err error) (any, error) {
	if err != nil {
		return nil, s.fail(err)
	}
	return v, nil
}

func (s *sig) fail(err error) error {
	if s == nil {
		return err
	}
	return named(s.fn, err)
}

// fnN returns a Func.Fn that takes min to max arguments (max < 0: no
// limit), returns null.result when null applies, and otherwise calls body;
// every error is prefixed with the function name fn.
func fnN(fn string, min, max int, null nullRule, body func(args []any) (any, error)) func(args ...any) (any, error) {
	s := &sig{fn: fn, min: min, max: max, null: null}
	return func(args ...any) (any, error) {
		if !s.plain(args) {
			if v, err, done := s.check(args); done {
				return v, err
			}
		}
		return s.end(body(args))
	}
}

// fn1 is fnN for a function of one argument decoded by a.
func fn1[A any](fn string, null nullRule, a param[A], f func(A) (any, error)) func(args ...any) (any, error) {
	return decode1(&sig{fn: fn, min: minArgs(a.optional), max: 1, null: null}, a, f)
}

// fn2 is fnN for a function of two arguments decoded by a and b.
func fn2[A, B any](fn string, null nullRule, a param[A], b param[B], f func(A, B) (any, error)) func(args ...any) (any, error) {
	return decode2(&sig{fn: fn, min: minArgs(a.optional, b.optional), max: 2, null: null}, a, b, f)
}

// fn3 is fnN for a function of three arguments decoded by a, b and c.
func fn3[A, B, C any](fn string, null nullRule, a param[A], b param[B], c param[C], f func(A, B, C) (any, error)) func(args ...any) (any, error) {
	return decode3(&sig{fn: fn, min: minArgs(a.optional, b.optional, c.optional), max: 3, null: null}, a, b, c, f)
}

// fn4 is fnN for a function of four arguments decoded by a, b, c and d.
func fn4[A, B, C, D any](fn string, null nullRule, a param[A], b param[B], c param[C], d param[D], f func(A, B, C, D) (any, error)) func(args ...any) (any, error) {
	return decode4(&sig{fn: fn, min: minArgs(a.optional, b.optional, c.optional, d.optional), max: 4, null: null}, a, b, c, d, f)
}

// decode1 returns a function that checks args against s, decodes argument
// 0 with a and calls f. With a nil s it is a body for fnN.
func decode1[A any](s *sig, a param[A], f func(A) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if !s.plain(args) {
			if v, err, done := s.check(args); done {
				return v, err
			}
		}
		var err error
		x := take(&err, &a, args, 0)
		if err != nil {
			return s.end(nil, err)
		}
		return s.end(f(x))
	}
}

// decode2 is decode1 for two arguments, decoded in order up to the first error.
func decode2[A, B any](s *sig, a param[A], b param[B], f func(A, B) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if !s.plain(args) {
			if v, err, done := s.check(args); done {
				return v, err
			}
		}
		var err error
		x, y := take(&err, &a, args, 0), take(&err, &b, args, 1)
		if err != nil {
			return s.end(nil, err)
		}
		return s.end(f(x, y))
	}
}

// decode3 is decode2 for three arguments.
func decode3[A, B, C any](s *sig, a param[A], b param[B], c param[C], f func(A, B, C) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if !s.plain(args) {
			if v, err, done := s.check(args); done {
				return v, err
			}
		}
		var err error
		x, y, z := take(&err, &a, args, 0), take(&err, &b, args, 1), take(&err, &c, args, 2)
		if err != nil {
			return s.end(nil, err)
		}
		return s.end(f(x, y, z))
	}
}

// decode4 is decode2 for four arguments.
func decode4[A, B, C, D any](s *sig, a param[A], b param[B], c param[C], d param[D], f func(A, B, C, D) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if !s.plain(args) {
			if v, err, done := s.check(args); done {
				return v, err
			}
		}
		var err error
		w, x, y, z := take(&err, &a, args, 0), take(&err, &b, args, 1), take(&err, &c, args, 2), take(&err, &d, args, 3)
		if err != nil {
			return s.end(nil, err)
		}
		return s.end(f(w, x, y, z))
	}
}

// take decodes argument i of args with p, unless *err is already set:
// then it returns the zero T, so the first error is the one reported.
func take[T any](err *error, p *param[T], args []any, i int) (x T) {
	if *err != nil || i >= len(args) { // a left-out optional argument is the zero T
		return x
	}
	x, e := p.decode(args[i])
	if e != nil {
		return failed[T](err, p.name, i, e)
	}
	return x
}

// failed is the error path of take.
func failed[T any](err *error, name string, i int, e error) (zero T) {
	*err = argumentError(i, name, e)
	return zero
}

// minArgs counts the arguments before the first optional one.
func minArgs(optional ...bool) int {
	for i, o := range optional {
		if o {
			return i
		}
	}
	return len(optional)
}

// named prefixes err with the function name.
func named(fn string, err error) error { return errors.New(fn + ": " + err.Error()) }

// nullRule says what a call returns for a null argument before any
// argument is decoded.
type nullRule struct {
	off    bool // nulls reach the body (or anyArg)
	anyArg bool // a null in any argument applies, not only in the first
	result any
}

var (
	// nullToNull: a null first argument gives null (f(nil) == nil), the
	// rule of functions that transform a value.
	nullToNull = nullRule{}
	// nullToFalse: a null first argument gives false, the rule of predicates.
	nullToFalse = nullRule{result: false}
	// nullsToNull: a null in any argument gives null.
	nullsToNull = nullRule{anyArg: true}
	// nullsToFalse: a null in any argument gives false.
	nullsToFalse = nullRule{anyArg: true, result: false}
	// noNullRule: the body handles nulls itself.
	noNullRule = nullRule{off: true}
)

func (r nullRule) applies(args []any) bool {
	switch {
	case r.off || len(args) == 0:
		return false
	case !r.anyArg:
		return args[0] == nil
	}
	for _, a := range args {
		if a == nil {
			return true
		}
	}
	return false
}

// param decodes one argument to T. Its errors name the argument:
// "argument 2 (width): want int, got string".
type param[T any] struct {
	name     string
	optional bool                   // may be left out (only trailing params); see optional
	decode   func(v any) (T, error) // errors do not name the argument
}

// at decodes argument i of args; a left-out optional argument is the zero T.
func (p param[T]) at(args []any, i int) (T, error) {
	var err error
	x := take(&err, &p, args, i)
	return x, err
}

// of decodes v as argument i.
func (p param[T]) of(i int, v any) (T, error) {
	x, err := p.decode(v)
	if err != nil {
		return x, argumentError(i, p.name, err)
	}
	return x, nil
}

func argumentError(i int, name string, err error) error {
	return fmt.Errorf("argument %d (%s): %v", i+1, name, err)
}

// maybe is the value of an optional argument; ok is false when it was left out.
type maybe[T any] struct {
	v  T
	ok bool
}

// or returns the value, or def when the argument was left out.
func (m maybe[T]) or(def T) T {
	if m.ok {
		return m.v
	}
	return def
}

// optional makes p a trailing argument that may be left out.
func optional[T any](p param[T]) param[maybe[T]] {
	return param[maybe[T]]{name: p.name, optional: true, decode: func(v any) (maybe[T], error) {
		x, err := p.decode(v)
		return maybe[T]{v: x, ok: err == nil}, err
	}}
}

// wantError reports a value of the wrong type: "want int, got string".
func wantError(want string, got any) error {
	return fmt.Errorf("want %s, got %s", want, typeName(got))
}

// argError reports a bad argument i (0-based) for bodies that decode it
// themselves.
func argError(i int, name, want string, got any) error {
	return argumentError(i, name, wantError(want, got))
}

// anyArg passes the value through undecoded, for bodies that switch on it.
func anyArg(name string) param[any] {
	return param[any]{name: name, decode: func(v any) (any, error) { return v, nil }}
}

// strArg is a string argument.
func strArg(name string) param[string] { return param[string]{name: name, decode: asString} }

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", wantError("string", v)
}

// textArg is a string or an int (formatted in decimal), for functions such
// as pad_left that are often given numbers.
func textArg(name string) param[string] { return param[string]{name: name, decode: asText} }

func asText(v any) (string, error) {
	if s, ok := textOf(v); ok {
		return s, nil
	}
	return "", wantError("string or int", v)
}

// textOf returns a string, or an int formatted in decimal.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// charArg is a string of exactly one character.
func charArg(name string) param[string] { return param[string]{name: name, decode: asChar} }

func asChar(v any) (string, error) {
	s, err := asString(v)
	if err == nil && utf8.RuneCountInString(s) != 1 {
		err = fmt.Errorf("want exactly one character, got %q", s)
	}
	return s, err
}

// byteArg is a string of exactly one byte, such as a separator.
func byteArg(name string) param[string] { return param[string]{name: name, decode: asByte} }

func asByte(v any) (string, error) {
	s, err := asString(v)
	if err == nil && len(s) != 1 {
		err = fmt.Errorf("want one character, got %q", s)
	}
	return s, err
}

// intArg is an int argument (int, int64, int32 or an integral decimal).
func intArg(name string) param[int] { return param[int]{name: name, decode: asInt} }

func asInt(v any) (int, error) {
	if n, ok := toInt(v); ok {
		return n, nil
	}
	return 0, wantError("int", v)
}

// intRangeArg is an int argument from lo to hi.
func intRangeArg(name string, lo, hi int) param[int] {
	return param[int]{name: name, decode: func(v any) (int, error) {
		n, err := asInt(v)
		if err == nil && (n < lo || n > hi) {
			err = fmt.Errorf("%d is outside %d..%d", n, lo, hi)
		}
		return n, err
	}}
}

// scaleArg is a number of decimal places 0..19.
func scaleArg() param[int] { return intRangeArg("scale", 0, 19) }

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

// decArg is a decimal argument (a decimal or an int).
func decArg(name string) param[record.Decimal] {
	return param[record.Decimal]{name: name, decode: asDecimal}
}

func asDecimal(v any) (record.Decimal, error) {
	if d, ok := toDecimal(v); ok {
		return d, nil
	}
	return record.Decimal{}, wantError("decimal or int", v)
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

// dateArg is a date argument; a datetime is reduced to its date.
func dateArg(name string) param[record.Date] { return param[record.Date]{name: name, decode: asDate} }

func asDate(v any) (record.Date, error) {
	switch x := v.(type) {
	case record.Date:
		return x, nil
	case time.Time:
		return record.DateOf(x), nil
	}
	return 0, wantError("date", v)
}

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

// arity checks the number of arguments (max < 0: no limit).
func arity(args []any, min, max int) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		switch {
		case min == max:
			return fmt.Errorf("want %d arguments, got %d", min, len(args))
		case max < 0:
			return fmt.Errorf("want at least %d arguments, got %d", min, len(args))
		}
		return fmt.Errorf("want %d to %d arguments, got %d", min, max, len(args))
	}
	return nil
}

// result converts the (value, error) of a typed function to a body's result.
func result[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
