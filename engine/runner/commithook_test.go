package runner

import (
	"context"
	"strings"
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

// lagging passes each batch on one call later (as a pipelined plugin
// transform does) and the last one at Flush; it filters out id 4.
type lagging struct{ held []record.Record }

func (l *lagging) Process(_ context.Context, in, out *record.Batch) error {
	out.Records = append(out.Records, l.held...)
	l.held = l.held[:0]
	for _, r := range in.Records {
		if r.Value("id").Int() != 4 {
			l.held = append(l.held, r)
		}
	}
	return nil
}

func (l *lagging) Flush(_ context.Context, emit func(*record.Batch) error) error {
	b := &record.Batch{Records: l.held}
	l.held = nil
	return emit(b)
}

func (l *lagging) Close() error { return nil }

// A Flusher after a CommitHook that emits records one call later (or at
// Flush) has not dropped them: only what never came out counts as
// filtered out.
func TestCommitHookBeforeLaggingFlusher(t *testing.T) {
	hook := &hookTransform{}
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 7})
	h := step("transforms", 0, "t.hook", sdk.Component{Name: "hook", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return hook, nil }}, nil)
	l := step("transforms", 1, "t.lag", sdk.Component{Name: "lag", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return &lagging{}, nil }}, nil)
	var got []record.Record
	sink := step("sinks", 0, "t.mem", memSinkComp(&got), nil)
	p := &spec.Pipeline{Name: "lag", Dir: t.TempDir(), Source: src, Transforms: []*spec.Step{h, l}, Sinks: []*spec.Step{sink}, BatchSize: 2}
	if _, err := Run(context.Background(), p, Options{Now: clock, Store: state.NewMemory()}); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 7; i++ {
		if want := i == 4; hook.after[i] != want {
			t.Errorf("record %d: rejectedAfter = %v, want %v", i, hook.after[i], want)
		}
	}
	if len(got) != 6 {
		t.Errorf("sink got %d records, want 6", len(got))
	}
}

// rebuild holds everything and emits new records with origins of its own
// at Flush, as sql does.
type rebuild struct{ n int }

func (r *rebuild) Process(_ context.Context, in, _ *record.Batch) error {
	r.n += len(in.Records)
	return nil
}

func (r *rebuild) Flush(_ context.Context, emit func(*record.Batch) error) error {
	b := &record.Batch{}
	for i := 0; i < r.n; i++ {
		rec := record.New(genSchema, record.Origin{File: "sql:rebuild", Index: int64(i + 1)})
		rec.Values[0] = record.Int(int64(i + 1))
		b.Records = append(b.Records, rec)
	}
	return emit(b)
}

func (r *rebuild) Close() error { return nil }

// After a step that builds new records the runner cannot tell which of the
// hook's records reached a sink; guessing either way would lose a record or
// export it twice, so the run fails and commits nothing.
func TestCommitHookBeforeRebuildingFlusherFails(t *testing.T) {
	hook := &hookTransform{}
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 3})
	h := step("transforms", 0, "t.hook", sdk.Component{Name: "hook", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return hook, nil }}, nil)
	rb := step("transforms", 1, "t.rebuild", sdk.Component{Name: "rebuild", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return &rebuild{}, nil }}, nil)
	var got []record.Record
	sink := step("sinks", 0, "t.mem", memSinkComp(&got), nil)
	st := state.NewMemory()
	p := &spec.Pipeline{Name: "rebuild", Dir: t.TempDir(), Source: src, Transforms: []*spec.Step{h, rb}, Sinks: []*spec.Step{sink}}
	rep, err := Run(context.Background(), p, Options{Now: clock, Store: st})
	if err == nil || !strings.Contains(err.Error(), "put the ledger dedup after it") {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || rep.Status != "ERROR" || hook.after != nil {
		t.Fatalf("status %v, hook called: %v", rep, hook.after != nil)
	}
	h2, _ := st.History(context.Background(), 0)
	if len(h2) != 1 || h2[0].Status != state.StatusError {
		t.Fatalf("history: %+v", h2)
	}
}
