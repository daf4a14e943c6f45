package pluginrpc

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
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
	// an expression error comes back as the component's error, as in
	// process; the second batch is pipelined, so it comes at the latest
	// with Flush
	in.Records[0].Values[0] = record.String("boom")
	err = tr.Process(context.Background(), in, &record.Batch{})
	if err == nil {
		err = tr.(sdk.Flusher).Flush(context.Background(), func(*record.Batch) error { return nil })
	}
	if err == nil || err.Error() != "boom is not allowed" {
		t.Errorf("err = %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Error(err)
	}
}

// batchUpper is a host-side evaluator that can evaluate a whole batch; it
// counts its calls.
type batchUpper struct {
	upper
	batches, singles int
}

func (b *batchUpper) Eval(r record.Record) (record.Value, error) {
	b.singles++
	return b.upper.Eval(r)
}

func (b *batchUpper) EvalBatch(rs []record.Record, vals []record.Value, errs []error) error {
	b.batches++
	for i, r := range rs {
		vals[i], errs[i] = b.upper.Eval(r)
	}
	return nil
}

// logCapture is a slog handler that keeps the records it gets.
type logCapture struct {
	level slog.Level
	attrs []slog.Attr
	recs  *[]string
}

func (c *logCapture) Enabled(_ context.Context, l slog.Level) bool { return l >= c.level }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	for _, a := range c.attrs {
		s += " " + a.String()
	}
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	*c.recs = append(*c.recs, s)
	return nil
}
func (c *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	n := *c
	n.attrs = append(append([]slog.Attr(nil), c.attrs...), as...)
	return &n
}
func (c *logCapture) WithGroup(string) slog.Handler { return c }

// TestEvalBatchLogsAndKinds: a plugin component evaluates host
// expressions over a batch in one round trip (sdk.EvalBatch), logs through
// the host's step logger (filtered by its level), and its OutputSchema
// sees the kinds of the host's compiled expressions.
func TestEvalBatchLogsAndKinds(t *testing.T) {
	spec := sdk.Spec{Fields: []sdk.Field{
		{Name: "label", Type: sdk.TypeString, Expr: sdk.ExprValue, Description: "Label."},
		{Name: "segments", Type: sdk.TypeList, Description: "Segments.", Children: []sdk.Field{
			{Name: "expr", Type: sdk.TypeString, Expr: sdk.ExprValue, Description: "Expression."}}},
		{Name: "set", Type: sdk.TypeMap, Elem: sdk.TypeString, Expr: sdk.ExprValue, Description: "Assignments."},
	}}
	p := sdk.Plugin{Name: "lbl", Version: "0.1.0", Components: []sdk.Component{{
		Name: "label", Kind: sdk.KindTransform, Summary: "Labels records.", Spec: spec,
		NewTransform: func(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
			env.Logger.Info("opened", "token", "s3cret", slog.Group("g", slog.Int("n", 7)))
			env.Logger.Debug("not sent: the host logs info and up")
			return &labeller{env: env, ev: env.Expressions("label")}, nil
		},
		OutputSchema: func(cfg sdk.Config, in *record.Schema, kind func(string) record.Kind) (*record.Schema, error) {
			return record.NewSchema(record.Field{Name: "label", Kind: kind("label")}, record.Field{Name: "seg", Kind: kind("segments[1].expr")},
				record.Field{Name: "total", Kind: kind("set.total")}, record.Field{Name: "none", Kind: kind("nope")})
		},
	}}}
	remote, _ := Loopback(t, p)
	c, _ := remote.Component("label")
	cfg := sdk.Config{"label": "x", "segments": []any{map[string]any{"expr": "a"}, map[string]any{"expr": "b"}}, "set": map[string]any{"total": "c"}}
	kinds := map[string]record.Kind{"label": record.KindString, "segments[1].expr": record.KindDecimal, "set.total": record.KindInt}
	sch, err := c.OutputSchema(cfg, nil, func(path string) record.Kind { return kinds[path] })
	if err != nil {
		t.Fatal(err)
	}
	if got := sch.String(); got != "label:string, seg:decimal, total:int, none:null" {
		t.Errorf("output schema %s", got)
	}

	var logs []string
	ev := &batchUpper{}
	env := sdk.Env{Step: "t", Logger: slog.New(&logCapture{level: slog.LevelInfo, recs: &logs}), State: &sdk.MemState{},
		Expressions: func(path string) sdk.Evaluator {
			if path == "label" {
				return ev
			}
			return nil
		}}
	tr, err := c.NewTransform(context.Background(), cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	s := record.MustSchema(record.Field{Name: "name"})
	in := &record.Batch{}
	for _, n := range []string{"a", "boom", "c"} {
		in.Records = append(in.Records, record.Record{Schema: s, Values: []record.Value{record.String(n)}})
	}
	var out record.Batch
	if err := tr.Process(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 2 || out.Records[0].Values[0].Str() != "<a>" || out.Records[1].Values[0].Str() != "<c>" {
		t.Errorf("records %v", out.Records)
	}
	if len(out.Rejects) != 1 || out.Rejects[0].Reason != "boom is not allowed" {
		t.Errorf("rejects %v", out.Rejects)
	}
	if ev.batches != 1 || ev.singles != 0 {
		t.Errorf("host evaluator: %d batch calls, %d single calls; want one batch call", ev.batches, ev.singles)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"INFO opened plugin=lbl token=s3cret g.n=7", "WARN labelled plugin=lbl n=3"}
	if strings.Join(logs, "\n") != strings.Join(want, "\n") {
		t.Errorf("host log:\n%s\nwant:\n%s", strings.Join(logs, "\n"), strings.Join(want, "\n"))
	}
}

// labeller sets the first field to the host's expression "label",
// evaluated over the whole batch at once.
type labeller struct {
	env sdk.Env
	ev  sdk.Evaluator
}

func (l *labeller) Process(ctx context.Context, in, out *record.Batch) error {
	vals := make([]record.Value, len(in.Records))
	errs := make([]error, len(in.Records))
	if err := sdk.EvalBatch(l.ev, in.Records, vals, errs); err != nil {
		return err
	}
	for i, r := range in.Records {
		if errs[i] != nil {
			out.Reject(r, l.env.Step, "label", errs[i].Error())
			continue
		}
		r = r.Clone()
		r.Values[0] = vals[i]
		out.Records = append(out.Records, r)
	}
	l.env.Logger.Warn("labelled", "n", len(in.Records))
	return nil
}

func (l *labeller) Close() error { return nil }
