package transform

import (
	"context"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// FilterConfig is the config of the filter transform.
type FilterConfig struct {
	// Condition is a bool expression; records for which it is false are
	// filtered out (not rejected). Required.
	Condition string `yaml:"condition"`
}

var filterSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "condition", Type: sdk.TypeString, Required: true, Expr: sdk.ExprBool,
		Description: "Bool expression over the record's fields; records for which it is false are dropped from the stream, an evaluation error rejects the record.",
		Example:     `status == "active" && amount > 10`},
}}

// Filter returns the filter component.
func Filter() sdk.Component {
	return sdk.Component{
		Name:    "filter",
		Kind:    sdk.KindTransform,
		Summary: "Keeps only the records for which a condition is true.",
		Description: "Evaluates `condition` for every record. Records for which it is false leave the stream " +
			"(they are not rejects); a record whose condition cannot be evaluated (null operand, overflow) is rejected " +
			"with the reason.",
		Spec:         filterSpec,
		Examples:     []string{"type: filter\ncondition: status == \"active\" && amount > 10\n"},
		NewTransform: newFilter,
	}
}

type filter struct {
	step string
	cond sdk.Evaluator
}

func newFilter(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	var c FilterConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	ev, err := compiled(env, "condition")
	if err != nil {
		return nil, err
	}
	return &filter{step: env.Step, cond: ev}, nil
}

// Process implements sdk.Transform.
func (f *filter) Process(_ context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		ok, err := evalBool(f.cond, r)
		if err != nil {
			out.Reject(r, f.step, "condition", err.Error())
			continue
		}
		if ok {
			out.Records = append(out.Records, r)
		}
	}
	return nil
}

// Close implements sdk.Transform.
func (f *filter) Close() error { return nil }

// InPlace reports true: Process only uses the CPU, appends at most one
// record per input record after reading it and keeps no reference to in,
// so the runner may let out.Records share in.Records' array and run the
// transform in the goroutine of its neighbours.
func (f *filter) InPlace() bool { return true }
