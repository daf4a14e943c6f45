// Package funcs is the function library of Kontor expressions: string
// helpers that expr lacks, SEPA and IBAN checks, dates with TARGET2
// business days, exact decimal rounding and formatting, null handling and
// check digits. Library returns the table; engine/expression registers it
// with expr.Function, and docs/functions.md is generated from it.
//
// # Values
//
// Functions receive the runtime values of expressions: string, int (int64
// is accepted too), record.Decimal, bool, record.Date, time.Time, []any,
// map[string]any and nil. Floats never reach them from Kontor (float
// literals become decimals); a float64 is still accepted where a decimal is
// expected and converted exactly from its shortest text form.
//
// # Null
//
// Functions that transform a value return nil when their first argument is
// nil (SQL-style null propagation: sepa_text(nil) == nil); the
// predicates (*_valid, is_business_day, starts_with, ...) return false;
// string(nil) is "" and coalesce/if_null/is_blank exist to handle nulls
// explicitly.
//
// # Errors
//
// A wrong argument type or value is an error naming the function and the
// argument, e.g. `pad_left: argument 2 (width): want int, got string`.
// Typed signatures (Func.Types) let the compiler report most of these
// before a record is read.
//
// # Built-ins
//
// expr's own built-ins stay available where they already do the right
// thing: upper, lower, trim (with optional cutset), trimPrefix, trimSuffix,
// split, splitAfter, replace, repeat, join, indexOf, lastIndexOf,
// hasPrefix, hasSuffix, len, the list functions (all, any, filter, map,
// count, sum, first, last, sort, ...), toJSON/fromJSON, toBase64/fromBase64
// and duration, plus the operators contains, startsWith, endsWith, matches
// and in. The library replaces the built-ins that would mishandle exact
// decimals or calendar dates: abs, ceil, floor, round, min, max, int,
// string and date. now() and today() come from engine/expression, bound
// to the run's clock.
package funcs

//go:generate go test -run TestFunctionsDoc -update .

import (
	"sort"
	"time"
)

// Func is one expression function.
type Func struct {
	// Name is the snake_case name used in expressions.
	Name string
	// Group is the heading under which docs/functions.md lists the function.
	Group string
	// Doc says in one or two sentences what the function does, its
	// arguments, result and errors.
	Doc string
	// Example is an expression that evaluates to true, e.g.
	// `sepa_text("Müller") == "Mueller"`; the tests evaluate every example.
	Example string
	// Fn is called with the evaluated arguments.
	Fn func(args ...any) (any, error)
	// Types are the typed signatures for compile-time checking, e.g.
	// new(func(string) string); expr picks the first that matches.
	Types []any
}

// Groups lists the Group values in documentation order.
var Groups = []string{"Strings", "SEPA and banking", "Dates", "Numbers", "Null handling", "Check digits"}

// Library returns all functions, sorted by group (in Groups order) and
// name. now is the clock of the run (nil means time.Now); its location is
// the zone in which datetime() reads times without an offset.
func Library(now func() time.Time) []Func {
	if now == nil {
		now = time.Now
	}
	var fs []Func
	fs = append(fs, stringFuncs()...)
	fs = append(fs, sepaFuncs()...)
	fs = append(fs, dateFuncs(now)...)
	fs = append(fs, numberFuncs()...)
	fs = append(fs, nullFuncs()...)
	fs = append(fs, checkDigitFuncs()...)
	order := map[string]int{}
	for i, g := range Groups {
		order[g] = i
	}
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Group != fs[j].Group {
			return order[fs[i].Group] < order[fs[j].Group]
		}
		return fs[i].Name < fs[j].Name
	})
	return fs
}
