package runner

import (
	"context"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// BenchmarkRunOverhead measures the runner's own per-record cost: a
// generator source, a pass-through transform and an in-memory sink, so
// parsing and encoding are not part of it.
func BenchmarkRunOverhead(b *testing.B) {
	const n = 200_000
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": n})
	pass := step("transforms", 0, "t.func", funcComp(func(record.Record) (bool, string) { return true, "" }), nil)
	count := 0
	sink := step("sinks", 0, "t.count", sdk.Component{Name: "count", Kind: sdk.KindSink,
		NewSink: func(context.Context, sdk.Config, sdk.Env) (sdk.Sink, error) { return countSink{&count}, nil }}, nil)
	p := &spec.Pipeline{Name: "bench", Dir: b.TempDir(), Source: src, Transforms: []*spec.Step{pass}, Sinks: []*spec.Step{sink}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type countSink struct{ n *int }

func (s countSink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	*s.n += len(b.Records)
	return nil, nil
}
func (s countSink) Close(context.Context) error { return nil }
