package spec

import (
	"context"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// TestTransformsFromLoadedPipeline wires the core transforms the way the
// runner does (Env.Expressions from Step.Exprs) and runs records through.
func TestTransformsFromLoadedPipeline(t *testing.T) {
	p, ds := Load("p.yaml", []byte(goodPipeline), testReg(), testOpts())
	if ds.HasErrors() {
		t.Fatal(render(ds, ""))
	}
	var trs []sdk.Transform
	for _, s := range p.Transforms {
		env := sdk.Env{Step: s.ID, Expressions: func(path string) sdk.Evaluator {
			if e, ok := s.Exprs[path]; ok {
				ev, _ := e.Program.(sdk.Evaluator)
				return ev
			}
			return nil
		}}
		tr, err := s.Component.NewTransform(context.Background(), s.Config, env)
		if err != nil {
			t.Fatal(s.MapFieldErrors(err))
		}
		trs = append(trs, tr)
	}
	in := p.Source.OutSchema
	mk := func(name, amount, status string) record.Record {
		return record.Record{Schema: in, Values: []record.Value{record.String(name), record.Dec(record.MustDecimal(amount)), record.String(status), record.String("DE00")}}
	}
	b := &record.Batch{Records: []record.Record{mk("anna", "60.5", "active"), mk("bob", "5", "active"), mk("cleo", "70", "paused")}}
	for _, tr := range trs {
		out := &record.Batch{}
		if err := tr.Process(context.Background(), b, out); err != nil {
			t.Fatal(err)
		}
		b = out
	}
	if len(b.Records) != 1 || b.Records[0].String() != "{name: ANNA, amount: 60.5, state: active, total: 121.0}" {
		t.Fatalf("got %v", b.Records)
	}
	if b.Records[0].Schema.String() != p.Transforms[2].OutSchema.String() {
		t.Errorf("runtime schema %v != lint schema %v", b.Records[0].Schema, p.Transforms[2].OutSchema)
	}
	ok, err := p.Sinks[0].When.Program.(interface {
		EvalBool(record.Record) (bool, error)
	}).EvalBool(b.Records[0])
	if err != nil || !ok {
		t.Errorf("when: %v %v", ok, err)
	}
	if !strings.HasPrefix(p.Sinks[1].Exprs["key"].Source, "name +") {
		t.Errorf("key expr %v", p.Sinks[1].Exprs["key"])
	}
}
