package expression

import (
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"

	"github.com/kontor-etl/kontor/engine/record"
)

// fastFn evaluates a (sub-)expression directly on a record's values,
// without converting them to Go values and without the VM. ok is false
// when the case is not one the fast path handles (a null operand, an
// unexpected kind, overflow, division by zero): the caller then evaluates
// the whole expression on the VM, which gives the exact result or error.
// Expressions are free of side effects, so evaluating again is harmless.
type fastFn func(vals []record.Value) (v record.Value, ok bool)

// buildFast compiles the checked and optimised tree into a fastFn, or
// returns nil when the tree contains a node the fast path does not know
// (member access, lists, maps, let, most functions, ...). index returns the
// position of a field in the bound schema (false: not a field).
//
// Every operation mirrors the VM's semantics exactly for the kinds it
// accepts; TestFastPathEquivalence checks this on random records.
func buildFast(node ast.Node, index func(name string) (int, bool), kind func(name string) record.Kind,
	fns map[string]func(...any) (any, error)) fastFn {
	return (&fastBuilder{index: index, kind: kind, arena: &strArena{}, fns: fns}).build(node)
}

// fastBuilder builds the closures of one binding; they share an arena for
// the strings they create.
type fastBuilder struct {
	index func(name string) (int, bool)
	kind  func(name string) record.Kind // the field's kind in the bound schema
	arena *strArena
	fns   map[string]func(...any) (any, error) // functions that may be called
}

func (fb *fastBuilder) build(node ast.Node) fastFn {
	index := fb.index
	switch n := node.(type) {
	case *ast.IdentifierNode:
		j, ok := index(n.Value)
		if !ok || j < 0 {
			return nil
		}
		// A null string field reads as "" (as in Program.run, by the
		// field's kind in the bound schema).
		if fb.kind != nil && fb.kind(n.Value) == record.KindString {
			empty := record.String("")
			return func(vals []record.Value) (record.Value, bool) {
				if j < len(vals) && !vals[j].IsNull() {
					return vals[j], true
				}
				return empty, true
			}
		}
		return func(vals []record.Value) (record.Value, bool) {
			if j < len(vals) {
				return vals[j], true
			}
			return record.Null, true
		}
	case *ast.IntegerNode:
		return constFn(record.Int(int64(n.Value)))
	case *ast.StringNode:
		return constFn(record.String(n.Value))
	case *ast.BoolNode:
		return constFn(record.Bool(n.Value))
	case *ast.NilNode:
		return constFn(record.Null)
	case *ast.ConstantNode:
		switch c := n.Value.(type) {
		case record.Decimal:
			return constFn(record.Dec(c))
		case string:
			return constFn(record.String(c))
		case int:
			return constFn(record.Int(int64(c)))
		case bool:
			return constFn(record.Bool(c))
		case record.Date:
			return constFn(record.DateValue(c))
		}
		return nil
	case *ast.UnaryNode:
		x := fb.build(n.Node)
		if x == nil {
			return nil
		}
		switch n.Operator {
		case "!", "not":
			return func(vals []record.Value) (record.Value, bool) {
				v, ok := x(vals)
				if !ok || v.Kind() != record.KindBool {
					return record.Null, false
				}
				return record.Bool(!v.Bool()), true
			}
		case "-":
			return func(vals []record.Value) (record.Value, bool) {
				v, ok := x(vals)
				if !ok || v.Kind() != record.KindInt {
					return record.Null, false
				}
				return record.Int(-v.Int()), true
			}
		}
		return nil
	case *ast.ConditionalNode:
		c, a, b := fb.build(n.Cond), fb.build(n.Exp1), fb.build(n.Exp2)
		if c == nil || a == nil || b == nil {
			return nil
		}
		return func(vals []record.Value) (record.Value, bool) {
			v, ok := c(vals)
			if !ok || v.Kind() != record.KindBool {
				return record.Null, false
			}
			if v.Bool() {
				return a(vals)
			}
			return b(vals)
		}
	case *ast.BuiltinNode:
		if len(n.Arguments) != 1 {
			return nil
		}
		if n.Name == "len" { // of a string: characters, not bytes
			x := fb.build(n.Arguments[0])
			if x == nil {
				return nil
			}
			return func(vals []record.Value) (record.Value, bool) {
				v, ok := x(vals)
				if !ok || v.Kind() != record.KindString {
					return record.Null, false
				}
				return record.Int(int64(utf8.RuneCountInString(v.Str()))), true
			}
		}
		var f func(string) string
		switch n.Name {
		case "upper":
			f = fb.arena.upper
		case "lower":
			f = fb.arena.lower
		case "trim":
			f = strings.TrimSpace
		default:
			return nil
		}
		x := fb.build(n.Arguments[0])
		if x == nil {
			return nil
		}
		return func(vals []record.Value) (record.Value, bool) {
			v, ok := x(vals)
			if !ok || v.Kind() != record.KindString {
				return record.Null, false
			}
			return record.String(f(v.Str())), true
		}
	case *ast.BinaryNode:
		return fb.binary(n)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && !strings.HasPrefix(id.Value, "$") {
			return fb.funcCall(n, id.Value)
		}
		return fb.operatorCall(n)
	}
	return nil
}

// funcCall calls a library function the way the VM does (arguments as
// the Go values expressions see, see toAny) and takes results of the kinds
// that convert back to exactly the value the VM would pass on; anything
// else (an error, a panic, a float or a datetime result) is left to the VM.
func (fb *fastBuilder) funcCall(n *ast.CallNode, name string) fastFn {
	fn := fb.fns[name]
	if fn == nil {
		return nil
	}
	args := make([]fastFn, len(n.Arguments))
	for i, a := range n.Arguments {
		if args[i] = fb.build(a); args[i] == nil {
			return nil
		}
	}
	buf := make([]any, len(args))
	return func(vals []record.Value) (record.Value, bool) {
		for i, a := range args {
			v, ok := a(vals)
			if !ok {
				clear(buf[:i])
				return record.Null, false
			}
			buf[i] = toAny(v)
		}
		out, ok := callPure(fn, buf)
		clear(buf) // keep no values alive
		if !ok {
			return record.Null, false
		}
		switch x := out.(type) {
		case nil:
			return record.Null, true
		case string:
			return record.String(x), true
		case int:
			return record.Int(int64(x)), true
		case bool:
			return record.Bool(x), true
		case record.Decimal:
			return record.Dec(x), true
		case record.Date:
			return record.DateValue(x), true
		}
		return record.Null, false
	}
}

// callPure calls fn; ok is false on an error or a panic.
func callPure(fn func(...any) (any, error), args []any) (out any, ok bool) {
	defer func() {
		if recover() != nil {
			out, ok = nil, false
		}
	}()
	out, err := fn(args...)
	return out, err == nil
}

func constFn(c record.Value) fastFn {
	return func([]record.Value) (record.Value, bool) { return c, true }
}

// buildBinary handles the operators the rewriter leaves to expr: logic,
// and comparisons and arithmetic of ints and strings.
func (fb *fastBuilder) binary(n *ast.BinaryNode) fastFn {
	if n.Operator == "in" {
		return fb.in(n)
	}
	l, r := fb.build(n.Left), fb.build(n.Right)
	if l == nil || r == nil {
		return nil
	}
	switch op := n.Operator; op {
	case "contains", "startsWith", "endsWith":
		f := strings.Contains
		if op == "startsWith" {
			f = strings.HasPrefix
		} else if op == "endsWith" {
			f = strings.HasSuffix
		}
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			switch {
			case !ok1 || !ok2:
				return record.Null, false
			case a.IsNull() || b.IsNull(): // the VM: false for nil
				return record.Bool(false), true
			case a.Kind() != record.KindString || b.Kind() != record.KindString:
				return record.Null, false
			}
			return record.Bool(f(a.Str(), b.Str())), true
		}
	case "&&", "and", "||", "or":
		and := op == "&&" || op == "and"
		return func(vals []record.Value) (record.Value, bool) {
			a, ok := l(vals)
			if !ok || a.Kind() != record.KindBool {
				return record.Null, false
			}
			if a.Bool() != and { // false && x, true || x
				return a, true
			}
			b, ok := r(vals)
			if !ok || b.Kind() != record.KindBool {
				return record.Null, false
			}
			return b, true
		}
	case "==", "!=":
		ne := op == "!="
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			if !ok1 || !ok2 || a.Kind() != b.Kind() {
				return record.Null, false
			}
			var eq bool
			switch a.Kind() {
			case record.KindString:
				eq = a.Str() == b.Str()
			case record.KindInt:
				eq = a.Int() == b.Int()
			case record.KindBool:
				eq = a.Bool() == b.Bool()
			default:
				return record.Null, false
			}
			return record.Bool(eq != ne), true
		}
	case "<", "<=", ">", ">=":
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			if !ok1 || !ok2 || a.Kind() != b.Kind() {
				return record.Null, false
			}
			var c int
			switch a.Kind() {
			case record.KindString:
				c = strings.Compare(a.Str(), b.Str())
			case record.KindInt:
				c = cmpInt(a.Int(), b.Int())
			default:
				return record.Null, false
			}
			return record.Bool(cmpResult(op, c)), true
		}
	case "+", "-", "*":
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			if !ok1 || !ok2 || a.Kind() != b.Kind() {
				return record.Null, false
			}
			switch a.Kind() {
			case record.KindInt: // expr's int arithmetic wraps like Go's
				x, y := a.Int(), b.Int()
				switch op {
				case "+":
					return record.Int(x + y), true
				case "-":
					return record.Int(x - y), true
				}
				return record.Int(x * y), true
			case record.KindString:
				if op == "+" {
					return record.String(fb.arena.concat(a.Str(), b.Str())), true
				}
			}
			return record.Null, false
		}
	}
	return nil
}

// in handles `x in [...]` with a list of string or int literals, which
// expr's optimiser turns into a set (a map constant); other lists are left
// to the VM. As on the VM, null looks up the zero key ("" or 0).
func (fb *fastBuilder) in(n *ast.BinaryNode) fastFn {
	c, ok := n.Right.(*ast.ConstantNode)
	if !ok {
		return nil
	}
	l := fb.build(n.Left)
	if l == nil {
		return nil
	}
	switch set := c.Value.(type) {
	case map[string]struct{}:
		return func(vals []record.Value) (record.Value, bool) {
			v, ok := l(vals)
			if !ok || v.Kind() != record.KindString && !v.IsNull() {
				return record.Null, false
			}
			_, in := set[v.Str()]
			return record.Bool(in), true
		}
	case map[int]struct{}:
		return func(vals []record.Value) (record.Value, bool) {
			v, ok := l(vals)
			if !ok || v.Kind() != record.KindInt && !v.IsNull() {
				return record.Null, false
			}
			_, in := set[int(v.Int())]
			return record.Bool(in), true
		}
	}
	return nil
}

// decOf returns the decimal of a decimal or int value (the VM's toDec).
func decOf(v record.Value) (record.Decimal, bool) {
	switch v.Kind() {
	case record.KindDecimal:
		return v.Decimal(), true
	case record.KindInt:
		return record.DecimalFromInt(v.Int()), true
	}
	return record.Decimal{}, false
}

// buildOperatorCall handles the rewriter's internal operator functions
// ($gt_dd, $add_xx, $sub_tt, $neg_d, ...).
func (fb *fastBuilder) operatorCall(n *ast.CallNode) fastFn {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || !strings.HasPrefix(id.Value, "$") {
		return nil
	}
	args := make([]fastFn, len(n.Arguments))
	for i, a := range n.Arguments {
		if args[i] = fb.build(a); args[i] == nil {
			return nil
		}
	}
	if id.Value == "$neg_d" || id.Value == "$neg_x" {
		x := args[0]
		return func(vals []record.Value) (record.Value, bool) {
			v, ok := x(vals)
			if !ok || v.Kind() != record.KindDecimal {
				return record.Null, false
			}
			return record.Dec(v.Decimal().Neg()), true
		}
	}
	name, variant, ok := strings.Cut(id.Value[1:], "_")
	if !ok || len(args) != 2 {
		return nil
	}
	op := ""
	for o, s := range opNames {
		if s == name {
			op = o
		}
	}
	if op == "" {
		return nil
	}
	l, r := args[0], args[1]
	switch variant {
	case "dd", "xx":
		// Both variants agree when both operands are decimals or ints and
		// at least one is a decimal (xx: or int / int); every other case is
		// left to the VM.
		xx := variant == "xx"
		cmp := isCmp(op)
		// A constant int or decimal operand converts once.
		lc, lconst := constDec(n.Arguments[0])
		rc, rconst := constDec(n.Arguments[1])
		if op == "==" || op == "!=" {
			ne := op == "!="
			return func(vals []record.Value) (record.Value, bool) {
				a, ok1 := l(vals)
				b, ok2 := r(vals)
				if !ok1 || !ok2 {
					return record.Null, false
				}
				eq, ok := dynEqualValues(a, b)
				if !ok {
					return record.Null, false
				}
				return record.Bool(eq != ne), true
			}
		}
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			if !ok1 || !ok2 {
				return record.Null, false
			}
			if xx && a.Kind() != record.KindDecimal && b.Kind() != record.KindDecimal &&
				!(op == "/" && a.Kind() == record.KindInt && b.Kind() == record.KindInt) {
				return record.Null, false
			}
			var da, db record.Decimal
			if lconst {
				da = lc
			} else if da, ok1 = decOf(a); !ok1 {
				return record.Null, false
			}
			if rconst {
				db = rc
			} else if db, ok2 = decOf(b); !ok2 {
				return record.Null, false
			}
			if cmp {
				return record.Bool(cmpResult(op, da.Cmp(db))), true
			}
			d, err := decArith(op, da, db)
			if err != nil {
				return record.Null, false
			}
			return record.Dec(d), true
		}
	case "tt":
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			if !ok1 || !ok2 || a.Kind() != record.KindDate || b.Kind() != record.KindDate {
				return record.Null, false
			}
			x, y := a.Date(), b.Date()
			if op == "-" {
				return record.Int(int64(int(x - y))), true
			}
			return record.Bool(cmpResult(op, cmpInt(int64(x), int64(y)))), true
		}
	case "ti":
		return func(vals []record.Value) (record.Value, bool) {
			a, ok1 := l(vals)
			b, ok2 := r(vals)
			if !ok1 || !ok2 || a.Kind() != record.KindDate || b.Kind() != record.KindInt {
				return record.Null, false
			}
			return record.DateValue(dateAdd(op, a.Date(), int(b.Int()))), true
		}
	}
	return nil
}

// scalar reports whether the VM sees v as a Go value that is never nil
// and that reflect.DeepEqual compares by value.
func scalar(k record.Kind) bool {
	switch k {
	case record.KindString, record.KindInt, record.KindDecimal, record.KindBool, record.KindDate:
		return true
	}
	return false
}

// dynEqualValues is dynEqual on values: numeric equality of decimals and
// ints, null equals only null, values of different kinds differ. ok is
// false for the cases left to the VM (datetimes, lists, maps).
func dynEqualValues(a, b record.Value) (eq, ok bool) {
	ak, bk := a.Kind(), b.Kind()
	switch {
	case ak == record.KindNull && bk == record.KindNull:
		return true, true
	case ak == record.KindNull:
		return false, scalar(bk)
	case bk == record.KindNull:
		return false, scalar(ak)
	case !scalar(ak) || !scalar(bk):
		return false, false
	}
	if da, ok := decOf(a); ok {
		if db, ok := decOf(b); ok {
			return da.Cmp(db) == 0, true
		}
		return false, true
	}
	if ak != bk {
		return false, true
	}
	switch ak {
	case record.KindString:
		return a.Str() == b.Str(), true
	case record.KindBool:
		return a.Bool() == b.Bool(), true
	case record.KindDate:
		return a.Date() == b.Date(), true
	}
	return false, false
}

// constDec returns the decimal of an int or decimal literal.
func constDec(n ast.Node) (record.Decimal, bool) {
	switch c := n.(type) {
	case *ast.IntegerNode:
		return record.DecimalFromInt(int64(c.Value)), true
	case *ast.ConstantNode:
		switch x := c.Value.(type) {
		case record.Decimal:
			return x, true
		case int:
			return record.DecimalFromInt(int64(x)), true
		}
	}
	return record.Decimal{}, false
}
