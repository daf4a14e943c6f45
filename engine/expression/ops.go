package expression

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/kontor-etl/kontor/engine/record"
)

var (
	decType  = reflect.TypeOf(record.Decimal{})
	dateType = reflect.TypeOf(record.Date(0))
	timeType = reflect.TypeOf(time.Time{})
	intType  = reflect.TypeOf(0)
	boolType = reflect.TypeOf(true)
	anyType  = reflect.TypeOf((*any)(nil)).Elem()
)

// class is the operand class the operator rewriter distinguishes.
type class int

const (
	clsOther class = iota
	clsUnknown
	clsInt
	clsDec
	clsDate
)

func classOf(t reflect.Type) class {
	switch {
	case t == nil || t.Kind() == reflect.Interface:
		return clsUnknown
	case t == decType:
		return clsDec
	case t == dateType:
		return clsDate
	case t.Kind() == reflect.Int:
		return clsInt
	}
	return clsOther
}

// opNames maps expr operators to the suffix of the internal functions.
var opNames = map[string]string{
	"+": "add", "-": "sub", "*": "mul", "/": "div",
	"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne",
}

func isCmp(op string) bool {
	switch op {
	case "<", "<=", ">", ">=", "==", "!=":
		return true
	}
	return false
}

// internal function name: "$" + op + "_" + variant, e.g. "$add_dd".
func internalName(op, variant string) string { return "$" + opNames[op] + "_" + variant }

// rewriter patches the parsed tree before type checking is final:
// float literals become exact Decimal constants, decimal/date/unknown
// arithmetic and comparisons become calls of the internal operator
// functions, int / int becomes an exact decimal division.
type rewriter struct {
	err     *file.Error
	patched []ast.Node
}

// Visit of the rewriter's second pass: the checker does not look into
// calls whose type is set, so the types set while rewriting (needed by
// parent nodes during the walk) are cleared again for the final check,
// which then checks the arguments and derives the type from the
// function's signature.
type typeReset struct{ rw *rewriter }

func (t typeReset) Visit(*ast.Node) {
	for _, n := range t.rw.patched {
		n.SetNature(nature.Nature{})
	}
}

// Reset and ShouldRepeat make typeReset a "repeatable" visitor, which expr
// runs after the others, right before the final check (it must be the
// last visitor).
func (t typeReset) Reset() {}

// ShouldRepeat reports false: one pass is enough.
func (t typeReset) ShouldRepeat() bool { return false }

func (w *rewriter) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.FloatNode:
		d, err := record.ParseDecimal(strconv.FormatFloat(n.Value, 'f', -1, 64), '.')
		if err != nil {
			w.fail(n, "number %v is too large for a decimal", n.Value)
			return
		}
		c := &ast.ConstantNode{Value: d}
		ast.Patch(node, c)
		c.SetType(decType)
	case *ast.UnaryNode:
		if n.Operator != "-" {
			return
		}
		if c, ok := n.Node.(*ast.ConstantNode); ok {
			if d, ok := c.Value.(record.Decimal); ok {
				nc := &ast.ConstantNode{Value: d.Neg()}
				ast.Patch(node, nc)
				nc.SetType(decType)
				return
			}
		}
		switch classOf(n.Node.Type()) {
		case clsDec:
			w.call(node, "$neg_d", decType, n.Node)
		case clsUnknown:
			w.call(node, "$neg_x", anyType, n.Node)
		}
	case *ast.BinaryNode:
		if _, ok := opNames[n.Operator]; !ok {
			return
		}
		l, r := classOf(n.Left.Type()), classOf(n.Right.Type())
		op := n.Operator
		cmp := isCmp(op)
		ret := func(t reflect.Type) reflect.Type {
			if cmp {
				return boolType
			}
			return t
		}
		switch {
		case l == clsUnknown || r == clsUnknown:
			w.call(node, internalName(op, "xx"), ret(anyType), n.Left, n.Right)
		case l == clsDec && (r == clsDec || r == clsInt) || l == clsInt && r == clsDec:
			w.call(node, internalName(op, "dd"), ret(decType), n.Left, n.Right)
		case l == clsInt && r == clsInt && op == "/":
			w.call(node, internalName(op, "dd"), decType, n.Left, n.Right)
		case l == clsDate && r == clsDate && (cmp || op == "-"):
			w.call(node, internalName(op, "tt"), ret(intType), n.Left, n.Right)
		case l == clsDate && r == clsInt && (op == "+" || op == "-"):
			w.call(node, internalName(op, "ti"), dateType, n.Left, n.Right)
		case l == clsDate || r == clsDate:
			w.fail(n, "invalid operation: %s (mismatched types %s and %s)", op, typeName(n.Left.Type()), typeName(n.Right.Type()))
		}
	}
}

func (w *rewriter) call(node *ast.Node, name string, t reflect.Type, args ...ast.Node) {
	c := &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: args}
	ast.Patch(node, c)
	c.SetType(t)
	w.patched = append(w.patched, c)
}

func (w *rewriter) fail(n ast.Node, format string, args ...any) {
	if w.err == nil {
		w.err = &file.Error{Location: n.Location(), Message: fmt.Sprintf(format, args...)}
	}
}

// typeName renders a Go type the way pipeline authors know it.
func typeName(t reflect.Type) string {
	switch classOf(t) {
	case clsUnknown:
		return "any"
	case clsDec:
		return "decimal"
	case clsDate:
		return "date"
	case clsInt:
		return "int"
	}
	if t == timeType {
		return "datetime"
	}
	return t.String()
}

// errNull is returned by arithmetic and ordering on null.
var errNull = errors.New("operation on null value")

// toDec converts an int, Decimal or (defensively) float64 operand.
func toDec(a any) (record.Decimal, bool) {
	switch x := a.(type) {
	case record.Decimal:
		return x, true
	case int:
		return record.DecimalFromInt(int64(x)), true
	case int64:
		return record.DecimalFromInt(x), true
	case float64:
		d, err := record.ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64), '.')
		return d, err == nil
	}
	return record.Decimal{}, false
}

func decArgs(op string, args []any) (record.Decimal, record.Decimal, error) {
	a, ok1 := toDec(args[0])
	b, ok2 := toDec(args[1])
	if !ok1 || !ok2 {
		if args[0] == nil || args[1] == nil {
			return a, b, fmt.Errorf("%s: %w", op, errNull)
		}
		return a, b, fmt.Errorf("invalid operation: %s (mismatched types %T and %T)", op, args[0], args[1])
	}
	return a, b, nil
}

func decArith(op string, a, b record.Decimal) (record.Decimal, error) {
	switch op {
	case "+":
		return a.Add(b)
	case "-":
		return a.Sub(b)
	case "*":
		return a.Mul(b)
	default:
		return a.Quo(b)
	}
}

func cmpResult(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "==":
		return c == 0
	}
	return c != 0
}

// decFunc is the decimal×decimal / decimal×int / int×decimal operator (and int/int division).
func decFunc(op string) func(args ...any) (any, error) {
	if isCmp(op) {
		return func(args ...any) (any, error) {
			a, b, err := decArgs(op, args)
			if err != nil {
				if op == "==" || op == "!=" {
					return dynEqual(op, args[0], args[1]), nil
				}
				return nil, err
			}
			return cmpResult(op, a.Cmp(b)), nil
		}
	}
	return func(args ...any) (any, error) {
		a, b, err := decArgs(op, args)
		if err != nil {
			return nil, err
		}
		return decArith(op, a, b)
	}
}

func dynEqual(op string, a, b any) bool {
	eq := false
	da, ok1 := toDec(a)
	db, ok2 := toDec(b)
	if ok1 && ok2 {
		eq = da.Cmp(db) == 0
	} else {
		eq = runtime.Equal(a, b)
	}
	if op == "!=" {
		return !eq
	}
	return eq
}

// dynFunc handles operands whose type is known only at run time.
func dynFunc(op string) func(args ...any) (any, error) {
	return func(args ...any) (out any, err error) {
		a, b := args[0], args[1]
		if op == "==" || op == "!=" {
			return dynEqual(op, a, b), nil
		}
		if a == nil || b == nil {
			return nil, fmt.Errorf("%s: %w", op, errNull)
		}
		_, aDec := a.(record.Decimal)
		_, bDec := b.(record.Decimal)
		_, aInt := a.(int)
		_, bInt := b.(int)
		if aDec || bDec || (aInt && bInt && op == "/") {
			return decFunc(op)(a, b)
		}
		ad, aDate := a.(record.Date)
		bd, bDate := b.(record.Date)
		if aDate && bDate {
			if isCmp(op) {
				return cmpResult(op, cmpInt(int64(ad), int64(bd))), nil
			}
			if op == "-" {
				return int(ad - bd), nil
			}
		}
		if aDate && bInt && (op == "+" || op == "-") {
			return dateAdd(op, ad, b.(int)), nil
		}
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("%v", r)
			}
		}()
		switch op {
		case "+":
			return runtime.Add(a, b), nil
		case "-":
			return runtime.Subtract(a, b), nil
		case "*":
			return runtime.Multiply(a, b), nil
		case "/":
			return runtime.Divide(a, b), nil
		case "<":
			return runtime.Less(a, b), nil
		case "<=":
			return runtime.LessOrEqual(a, b), nil
		case ">":
			return runtime.More(a, b), nil
		case ">=":
			return runtime.MoreOrEqual(a, b), nil
		}
		return nil, fmt.Errorf("unsupported operator %s", op)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func dateAdd(op string, d record.Date, n int) record.Date {
	if op == "-" {
		n = -n
	}
	return d.AddDays(n)
}

// operatorOptions registers the internal operator functions.
func operatorOptions() []expr.Option {
	var opts []expr.Option
	for op := range opNames {
		cmp := isCmp(op)
		// dd: decimal or int operands; the declared types are only used by
		// the checker, which accepts the patched call as is.
		if cmp {
			opts = append(opts,
				expr.Function(internalName(op, "dd"), decFunc(op), new(func(any, any) bool)),
				expr.Function(internalName(op, "xx"), dynFunc(op), new(func(any, any) bool)))
		} else {
			opts = append(opts,
				expr.Function(internalName(op, "dd"), decFunc(op), new(func(any, any) record.Decimal)),
				expr.Function(internalName(op, "xx"), dynFunc(op), new(func(any, any) any)))
		}
		switch {
		case cmp:
			o := op
			opts = append(opts, expr.Function(internalName(op, "tt"), func(args ...any) (any, error) {
				a, ok1 := args[0].(record.Date)
				b, ok2 := args[1].(record.Date)
				if !ok1 || !ok2 {
					if o == "==" || o == "!=" {
						return dynEqual(o, args[0], args[1]), nil
					}
					return nil, fmt.Errorf("%s: %w", o, errNull)
				}
				return cmpResult(o, cmpInt(int64(a), int64(b))), nil
			}, new(func(record.Date, record.Date) bool)))
		case op == "-":
			opts = append(opts, expr.Function(internalName(op, "tt"), func(args ...any) (any, error) {
				a, ok1 := args[0].(record.Date)
				b, ok2 := args[1].(record.Date)
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("-: %w", errNull)
				}
				return int(a - b), nil
			}, new(func(record.Date, record.Date) int)))
		}
		if op == "+" || op == "-" {
			o := op
			opts = append(opts, expr.Function(internalName(op, "ti"), func(args ...any) (any, error) {
				a, ok1 := args[0].(record.Date)
				n, ok2 := args[1].(int)
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("%s: %w", o, errNull)
				}
				return dateAdd(o, a, n), nil
			}, new(func(record.Date, int) record.Date)))
		}
	}
	opts = append(opts,
		expr.Function("$neg_d", negFunc, new(func(record.Decimal) record.Decimal)),
		expr.Function("$neg_x", negFunc, new(func(any) any)))
	return opts
}

func negFunc(args ...any) (out any, err error) {
	switch x := args[0].(type) {
	case record.Decimal:
		return x.Neg(), nil
	case nil:
		return nil, fmt.Errorf("-: %w", errNull)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return runtime.Negate(args[0]), nil
}
