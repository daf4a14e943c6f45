// Package expression integrates github.com/expr-lang/expr into Kontor:
// expressions in pipeline YAML (filter conditions, map values, validate
// checks, sink routing) are compiled once — at load time against the
// step's input schema — and then evaluated per record without re-parsing.
//
// # Values
//
// Expressions see the fields of the current record as variables, converted
// to Go values as follows: string → string, int → int, decimal →
// record.Decimal, bool → bool, date → record.Date, datetime → time.Time,
// list → []any, map → map[string]any, null → nil — except that a null
// field of kind string reads as "" (optional text such as a camt return
// reason is simply empty: `return_reason != ""` means "has one", and string
// functions never fail on it). Results convert back with record.FromAny.
//
// # Exact money arithmetic
//
// Decimal literals such as 10.50 are exact record.Decimal constants (never
// float64). The operators + - * / and the comparisons == != < <= > >= are
// overloaded for decimal×decimal, decimal×int and int×decimal; unary minus
// works on decimals. int / int yields an exact decimal (7 / 2 == 3.5), not a
// float. Division rounds to 19 significant digits; overflow and division by
// zero are runtime errors, which the calling transform turns into a reject
// of that record. Dates compare with each other, date ± int adds days and
// date - date gives the number of days. Arithmetic or ordering comparisons
// involving null are runtime errors; == and != treat null as a value.
//
// # Errors
//
// Compile returns a *CompileError with a 1-based line and column relative
// to the expression text: syntax errors, unknown fields (with a did-you-mean
// over the schema's field names), unknown functions, type errors such as
// name > 10 for a string field, and conditions that are not bool. The spec
// loader maps these positions into the YAML file.
//
// # Unknown schemas
//
// When the input schema is not known at load time (nil), Compile checks
// syntax and function names only. The Program then binds lazily: on the
// first Eval for each distinct *record.Schema it compiles once against that
// schema (cached per schema pointer). Call Bind to do this up front and get
// the error before the first record.
//
// # Concurrency
//
// A Program is not safe for concurrent use: it reuses one VM and one
// variable map. Components are driven by one goroutine at a time (see
// plugins/sdk), which is all a Program needs. Use Clone for parallel use.
//
// # Performance
//
// Common expressions — comparisons, decimal/int/date arithmetic, && || !,
// the ternary operator, string concatenation, upper/lower/trim and calls
// of the domain library over fields and literals — are compiled a second
// time into Go closures that work directly on the record's values (field
// positions bound per schema): no variable map, no VM, and for operators
// no conversion to Go values and no allocation (strings made by
// upper/lower/+ come from a per-program arena). Whenever such a closure
// meets a case it does not handle (a null operand, overflow, division by
// zero, an unexpected kind, a function error, a datetime result), the
// record is evaluated on the VM instead, so results and error messages are
// exactly those of the VM (TestFastPathEquivalence and FuzzFastPath compare
// both on random records). Functions added with WithFunctions always run
// on the VM, as they may have side effects.
//
// Other expressions fill a reused map with only the referenced fields (the
// field→index binding is cached per schema pointer) and run the
// precompiled bytecode on a reused VM; expr.Eval is never called per
// record.
package expression
