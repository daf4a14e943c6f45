package runner

import (
	"context"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// hookTransform passes everything on and, at commit, records which
// records the runner says did not reach a sink.
type hookTransform struct {
	seen  []record.Origin
	after map[int64]bool
}

func (h *hookTransform) Process(_ context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		h.seen = append(h.seen, r.Origin)
		out.Records = append(out.Records, r)
	}
	return nil
}

func (h *hookTransform) Close() error { return nil }

func (h *hookTransform) BeforePrepare(_ context.Context, _ state.Run, rejectedAfter func(record.Origin) bool) error {
	h.after = map[int64]bool{}
	for _, o := range h.seen {
		h.after[o.Index] = rejectedAfter(o)
	}
	return nil
}

// A record that a later transform filters out (or rejects, or that no sink
// takes) must not count as exported: a ledger would otherwise hold a key
// whose record never left.
func TestCommitHookSeesLaterDropsRejectsAndUnrouted(t *testing.T) {
	hook := &hookTransform{}
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 6})
	h := step("transforms", 0, "t.hook", sdk.Component{Name: "hook", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return hook, nil }}, nil)
	f := step("transforms", 1, "t.func", funcComp(func(r record.Record) (bool, string) {
		switch r.Value("id").Int() {
		case 2:
			return false, "" // filtered out
		case 3:
			return false, "bad" // rejected
		}
		return true, ""
	}), nil)
	var got []record.Record
	sink := step("sinks", 0, "t.mem", memSinkComp(&got), nil)
	sink.When = expr("id != 5", func(r record.Record) (record.Value, error) {
		return record.Bool(r.Value("id").Int() != 5), nil
	})
	p := &spec.Pipeline{Name: "hook", Dir: t.TempDir(), Source: src, Transforms: []*spec.Step{h, f}, Sinks: []*spec.Step{sink}}
	if _, err := Run(context.Background(), p, Options{Now: clock, Store: state.NewMemory()}); err != nil {
		t.Fatal(err)
	}
	want := map[int64]bool{1: false, 2: true, 3: true, 4: false, 5: true, 6: false}
	for i, w := range want {
		if hook.after[i] != w {
			t.Errorf("record %d: rejectedAfter = %v, want %v", i, hook.after[i], w)
		}
	}
	if len(got) != 3 {
		t.Errorf("sink got %d records, want 3", len(got))
	}
}
