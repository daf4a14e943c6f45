package pluginrpc

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// counter reserves numbers from the host's State and evaluates the host's
// expression "label" per record.
type counter struct {
	env sdk.Env
	ev  sdk.Evaluator
}

func (c *counter) Process(ctx context.Context, in, out *record.Batch) error {
	first, err := c.env.State.Reserve(ctx, "seq", int64(len(in.Records)))
	if err != nil {
		return err
	}
	for i, r := range in.Records {
		v, err := c.ev.Eval(r)
		if err != nil {
			return err
		}
		r = r.Clone()
		r.Values[0] = record.String(strconv.FormatInt(first+int64(i), 10) + ":" + v.String())
		out.Records = append(out.Records, r)
	}
	return c.env.State.Put(ctx, "last", strconv.FormatInt(first+int64(len(in.Records))-1, 10))
}

func (c *counter) Close() error { return nil }

type upper struct{}

func (upper) Eval(r record.Record) (record.Value, error) {
	if r.Values[0].Str() == "boom" {
		return record.Null, errors.New("boom is not allowed")
	}
	return record.String("<" + r.Values[0].Str() + ">"), nil
}
func (upper) Source() string { return "\"<\" + name + \">\"" }

func TestStateAndExpressionsThroughTheHost(t *testing.T) {
	p := sdk.Plugin{Name: "cnt", Version: "0.1.0", Components: []sdk.Component{{
		Name: "number", Kind: sdk.KindTransform, Summary: "Numbers records.",
		Spec: sdk.Spec{Fields: []sdk.Field{{Name: "label", Type: sdk.TypeString, Expr: sdk.ExprValue, Description: "Label."}}},
		NewTransform: func(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
			ev := env.Expressions("label")
			if ev == nil || ev.Source() != "\"<\" + name + \">\"" {
				return nil, sdk.FieldError{Path: "label", Message: "no expression"}
			}
			if env.Expressions("nope") != nil {
				return nil, errors.New("unexpected expression")
			}
			return &counter{env: env, ev: ev}, nil
		},
	}}}
	remote, _ := Loopback(t, p)
	state := &sdk.MemState{}
	state.Reserve(context.Background(), "seq", 41)
	env := sdk.Env{Step: "t", Logger: slog.New(slog.DiscardHandler), State: state,
		Expressions: func(path string) sdk.Evaluator {
			if path == "label" {
				return upper{}
			}
			return nil
		}}
	c, _ := remote.Component("number")
	tr, err := c.NewTransform(context.Background(), sdk.Config{"label": "x"}, env)
	if err != nil {
		t.Fatal(err)
	}
	s := record.MustSchema(record.Field{Name: "name"})
	in := &record.Batch{Records: []record.Record{{Schema: s, Values: []record.Value{record.String("a")}}, {Schema: s, Values: []record.Value{record.String("b")}}}}
	var out record.Batch
	if err := tr.Process(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.Records[0].Values[0].Str() + " " + out.Records[1].Values[0].Str(); got != "42:<a> 43:<b>" {
		t.Errorf("got %q", got)
	}
	if v, ok, _ := state.Get(context.Background(), "last"); !ok || v != "43" {
		t.Errorf("state last = %q %v", v, ok)
	}
	// an expression error comes back as the component's error
	in.Records[0].Values[0] = record.String("boom")
	err = tr.Process(context.Background(), in, &record.Batch{})
	if err == nil || err.Error() != "boom is not allowed" {
		t.Errorf("err = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Error(err)
	}
}
