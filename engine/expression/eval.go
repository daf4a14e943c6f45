package expression

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr/file"

	"github.com/kontor-etl/kontor/engine/record"
)

// toAny converts a record value to the Go value expressions see.
func toAny(v record.Value) any {
	switch v.Kind() {
	case record.KindString:
		return v.Str()
	case record.KindInt:
		return int(v.Int())
	case record.KindDecimal:
		return v.Decimal()
	case record.KindBool:
		return v.Bool()
	case record.KindDate:
		return v.Date()
	case record.KindDateTime:
		return v.Time()
	case record.KindList, record.KindMap:
		return v.Any()
	}
	return nil
}

// same reports whether a and b convert to identical Go values (same
// representation, so 1.0 and 1.00 differ).
func same(a, b record.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case record.KindNull:
		return true
	case record.KindString:
		return a.Str() == b.Str()
	case record.KindInt:
		return a.Int() == b.Int()
	case record.KindBool:
		return a.Bool() == b.Bool()
	case record.KindDate:
		return a.Date() == b.Date()
	}
	// Decimals, datetimes, lists and maps: comparing costs about as much as
	// converting.
	return false
}

// run evaluates against r and returns the raw Go result.
func (p *Program) run(r record.Record) (any, error) {
	b := p.bind(r.Schema)
	if b.err != nil {
		return nil, b.err
	}
	if b.prev == nil {
		b.prev = make([]record.Value, len(b.names))
		b.valid = make([]bool, len(b.names))
	}
	for i, name := range b.names {
		j := b.idx[i]
		var v record.Value
		if j >= 0 && j < len(r.Values) {
			v = r.Values[j]
		}
		// Skip the conversion (and its allocation) when the value is the
		// same as for the previous record: status codes, dates, currencies.
		if b.valid[i] && same(v, b.prev[i]) {
			continue
		}
		if v.IsNull() && j >= 0 && r.Schema.Field(j).Kind == record.KindString {
			// A string field that is null (an optional XML element, a
			// missing JSON key) reads as empty text: `f != ""` means "has
			// a value" whatever the source, and string operators never
			// fail on it.
			b.env[name] = ""
		} else {
			b.env[name] = toAny(v)
		}
		b.prev[i], b.valid[i] = v, true
	}
	out, err := p.vm.Run(b.prog, b.env)
	if err != nil {
		return nil, p.evalError(err)
	}
	return out, nil
}

func (p *Program) evalError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &EvalError{Expr: p.src, Msg: typeNames.Replace(fe.Message), Err: fe.Unwrap()}
	}
	return &EvalError{Expr: p.src, Msg: err.Error(), Err: err}
}

// Eval evaluates the expression for r. A run-time problem (overflow,
// division by zero, null operand, a function error) is an *EvalError.
func (p *Program) Eval(r record.Record) (record.Value, error) {
	if b := p.bind(r.Schema); b.fast != nil && !p.noFast {
		if v, ok := b.fast(r.Values); ok {
			return v, nil
		}
	}
	out, err := p.run(r)
	if err != nil {
		return record.Null, err
	}
	v, err := record.FromAny(out)
	if err != nil {
		return record.Null, &EvalError{Expr: p.src, Msg: err.Error(), Err: err}
	}
	return v, nil
}

// EvalBool evaluates a condition; a result that is not a bool (including
// null) is an *EvalError.
func (p *Program) EvalBool(r record.Record) (bool, error) {
	if b := p.bind(r.Schema); b.fast != nil && !p.noFast {
		if v, ok := b.fast(r.Values); ok && v.Kind() == record.KindBool {
			return v.Bool(), nil
		}
	}
	out, err := p.run(r)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		if out == nil {
			return false, &EvalError{Expr: p.src, Msg: "condition is null, not bool"}
		}
		return false, &EvalError{Expr: p.src, Msg: fmt.Sprintf("condition is %T, not bool", out)}
	}
	return b, nil
}
