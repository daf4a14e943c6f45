package transform

import (
	"context"
	"fmt"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// ValidateConfig is the config of the validate transform.
type ValidateConfig struct {
	// Rules are checked in order for every record; all failing rules of a
	// record are reported together.
	Rules []Rule `yaml:"rules"`
}

// Rule is one validation rule.
type Rule struct {
	// Field names the field the rule is about (for the reject); optional,
	// must exist in the input when the schema is known.
	Field string `yaml:"field"`
	// Check is a bool expression that must be true for a valid record.
	Check string `yaml:"check"`
	// Message is the reject reason; default "check failed: <check>".
	Message string `yaml:"message"`
}

var validateSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "rules", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1),
		Description: "Validation rules checked in order for every record; a record failing any rule is rejected with the messages of all failing rules.",
		Example:     []any{map[string]any{"field": "iban", "check": "iban_valid(iban)", "message": "invalid IBAN"}},
		Children: []sdk.Field{
			{Name: "field", Type: sdk.TypeString,
				Description: "Field the rule is about, reported with the reject; must exist in the input.", Example: "iban"},
			{Name: "check", Type: sdk.TypeString, Required: true, Expr: sdk.ExprBool,
				Description: "Bool expression that is true for a valid record.", Example: "amount > 0"},
			{Name: "message", Type: sdk.TypeString,
				Description: "Reject reason when the check is false; default \"check failed: <check>\".", Example: "invalid IBAN"},
		}},
}}

// Validate returns the validate component.
func Validate() sdk.Component {
	return sdk.Component{
		Name:    "validate",
		Kind:    sdk.KindTransform,
		Summary: "Rejects records that break validation rules.",
		Description: "Checks every rule for every record. A record failing one or more rules is rejected; the reject's " +
			"field is the first failing rule's field and its reason lists the messages of all failing rules joined by \"; \". " +
			"A rule whose check cannot be evaluated counts as failing, with the evaluation error as its message.",
		Spec:         validateSpec,
		Examples:     []string{"type: validate\nrules:\n  - field: iban\n    check: iban_valid(iban)\n    message: invalid IBAN\n"},
		NewTransform: newValidate,
		OutputSchema: validateOutputSchema,
	}
}

type validateT struct {
	step  string
	rules []Rule
	evals []sdk.Evaluator
	buf   []string
}

func newValidate(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	var c ValidateConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	v := &validateT{step: env.Step, rules: c.Rules}
	var es sdk.FieldErrors
	for i := range c.Rules {
		if c.Rules[i].Message == "" {
			c.Rules[i].Message = "check failed: " + c.Rules[i].Check
		}
		ev, err := compiled(env, fmt.Sprintf("rules[%d].check", i))
		if err != nil {
			es = append(es, err.(sdk.FieldError))
			continue
		}
		v.evals = append(v.evals, ev)
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return v, nil
}

func validateOutputSchema(cfg sdk.Config, in *record.Schema, _ func(string) record.Kind) (*record.Schema, error) {
	if in == nil {
		return nil, nil
	}
	var c ValidateConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	var es sdk.FieldErrors
	for i, r := range c.Rules {
		if r.Field != "" && in.Index(r.Field) < 0 {
			es.Add(fmt.Sprintf("rules[%d].field", i), "field %q is not in the input%s", r.Field, hint(r.Field, in.Names()))
		}
	}
	return in, es.Err()
}

// Process implements sdk.Transform.
func (v *validateT) Process(_ context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		msgs := v.buf[:0]
		field := ""
		for i, ev := range v.evals {
			ok, err := evalBool(ev, r)
			if ok && err == nil {
				continue
			}
			msg := v.rules[i].Message
			if err != nil {
				msg = "check failed: " + err.Error()
			}
			if len(msgs) == 0 {
				field = v.rules[i].Field
			} else if v.rules[i].Field != "" && v.rules[i].Field != field {
				msg = v.rules[i].Field + ": " + msg
			}
			msgs = append(msgs, msg)
		}
		v.buf = msgs
		if len(msgs) > 0 {
			out.Reject(r, v.step, field, strings.Join(msgs, "; "))
			continue
		}
		out.Records = append(out.Records, r)
	}
	return nil
}

// Close implements sdk.Transform.
func (v *validateT) Close() error { return nil }

// InPlace reports true: Process only uses the CPU, appends at most one
// record per input record after reading it and keeps no reference to in,
// so the runner may let out.Records share in.Records' array and run the
// transform in the goroutine of its neighbours.
func (v *validateT) InPlace() bool { return true }
