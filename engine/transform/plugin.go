// Package transform holds the engine's core transforms — filter, map and
// validate — as ordinary sdk components. Their plugin has the empty name,
// so YAML names them without a prefix (type: filter).
//
// Expression fields (condition, set.*, rules[i].check) are compiled by the
// host at load time; constructors take the compiled programs from
// Env.Expressions. Records are never dropped silently: filter drops records
// whose condition is false (that is its purpose), but an evaluation error
// rejects the record with the expression's config path and the reason.
package transform

import (
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Plugin returns the core transforms (filter, map, validate).
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "",
		Version:     "1.0.0",
		Description: "Core transforms of the engine: filter, map and validate.",
		Components:  []sdk.Component{Filter(), Map(), Validate()},
	}
}

// boolEvaluator is implemented by *expression.Program; it avoids the
// conversion to record.Value for conditions.
type boolEvaluator interface {
	EvalBool(r record.Record) (bool, error)
}

// evalBool evaluates a condition with any sdk.Evaluator.
func evalBool(ev sdk.Evaluator, r record.Record) (bool, error) {
	if b, ok := ev.(boolEvaluator); ok {
		return b.EvalBool(r)
	}
	v, err := ev.Eval(r)
	if err != nil {
		return false, err
	}
	if v.Kind() != record.KindBool {
		return false, &notBoolError{kind: v.Kind()}
	}
	return v.Bool(), nil
}

type notBoolError struct{ kind record.Kind }

func (e *notBoolError) Error() string { return "condition is " + e.kind.String() + ", not bool" }

// compiled returns the evaluator for path or a FieldError when the host did
// not compile it.
func compiled(env sdk.Env, path string) (sdk.Evaluator, error) {
	var ev sdk.Evaluator
	if env.Expressions != nil {
		ev = env.Expressions(path)
	}
	if ev == nil {
		return nil, sdk.FieldError{Path: path, Message: "expression was not compiled by the host"}
	}
	return ev, nil
}
