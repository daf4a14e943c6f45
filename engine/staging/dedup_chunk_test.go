package staging

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

// withChunk sets DedupChunk for one test.
func withChunk(t *testing.T, n int) {
	old := DedupChunk
	DedupChunk = n
	t.Cleanup(func() { DedupChunk = old })
}

func names(recs []record.Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.Value("abo_nr").String())
	}
	return strings.Join(s, ",")
}

// TestDedupLedgerChunks: with a chunk of 3 records, duplicates are found
// within a chunk and across chunks, records keep their order, only the
// records no later step rejected reach the ledger, and a second run over
// the same input passes nothing.
func TestDedupLedgerChunks(t *testing.T) {
	withChunk(t, 3)
	for _, backend := range []string{"memory", "duckdb"} {
		t.Run(backend, func(t *testing.T) {
			var st state.Store = state.NewMemory()
			if backend == "duckdb" {
				var err error
				if st, err = duckstate.Open(t.TempDir(), "abo"); err != nil {
					t.Fatal(err)
				}
			}
			defer st.Close()
			input := []record.Record{
				rec(1, "A-1", "p", "1"), rec(2, "A-2", "p", "2"), rec(3, "A-1", "p", "3"), // dup within chunk 1
				rec(4, "A-3", "p", "4"), rec(5, "A-4", "p", "5"), rec(6, "A-2", "p", "6"), // dup across chunks
				rec(7, "A-5", "p", "7"), rec(8, "A-6", "p", "8"), // last, partial chunk: left for Flush
			}
			r1, err := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
			if err != nil {
				t.Fatal(err)
			}
			e := env("", r1)
			tr := build(t, "dedup", "key: [abo_nr]\nscope: ledger\n", e)
			out, rej := run(t, tr, input...)
			if got := names(out); got != "A-1,A-2,A-3,A-4,A-5,A-6" {
				t.Fatalf("run 1 passed %s", got)
			}
			if len(rej) != 2 || rej[0].Reason != "duplicate of in/abos.csv:2" || rej[1].Reason != "duplicate of in/abos.csv:3" {
				t.Fatalf("run 1 rejects %v", rej)
			}
			// A-4 (record 5) is rejected by a later step: it must not be in the ledger.
			err = tr.(state.CommitHook).BeforePrepare(ctx, r1, func(o record.Origin) bool { return o.Index == 5 })
			if err != nil {
				t.Fatal(err)
			}
			tr.Close()
			if err := r1.Commit(ctx, state.Result{}); err != nil {
				t.Fatal(err)
			}
			r2, err := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r2.LedgerLookup(ctx, "abo", []string{"A-1", "A-2", "A-3", "A-4", "A-5", "A-6"})
			if err != nil {
				t.Fatal(err)
			}
			var stored []string
			for i, h := range got {
				if h != "" {
					stored = append(stored, fmt.Sprintf("A-%d", i+1))
				}
			}
			if s := strings.Join(stored, ","); s != "A-1,A-2,A-3,A-5,A-6" {
				t.Fatalf("ledger holds %s", s)
			}
			// Run 2 over the same input: only A-4 (never committed) passes.
			tr = build(t, "dedup", "key: [abo_nr]\nscope: ledger\n", env("", r2))
			out, rej = run(t, tr, input...)
			if got := names(out); got != "A-4" || len(rej) != 2 {
				t.Fatalf("run 2 passed %s, rejects %v", got, rej)
			}
			if un, _ := tr.(*dedup).Stats(); un != 5 {
				t.Fatalf("unchanged = %d, want 5", un)
			}
			tr.Close()
			r2.Abort(ctx, state.Result{Error: "test"})
		})
	}
}

// TestDedupLedgerFlushBatches: records held back until the end leave in
// batches of the run's batch size, in input order.
func TestDedupLedgerFlushBatches(t *testing.T) {
	st := state.NewMemory()
	r, _ := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
	defer r.Abort(ctx, state.Result{Error: "test"})
	tr := build(t, "dedup", "key: [abo_nr]\nscope: ledger\n", env("", r))
	defer tr.Close()
	var o record.Batch
	in := &record.Batch{Records: []record.Record{rec(1, "A-1", "p", "1"), rec(2, "A-2", "p", "1"), rec(3, "A-3", "p", "1"), rec(4, "A-4", "p", "1"), rec(5, "A-5", "p", "1")}}
	if err := tr.Process(ctx, in, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Records) != 0 {
		t.Fatalf("passed %d records before the chunk was full", len(o.Records))
	}
	var sizes []int
	var all []record.Record
	err := tr.(interface {
		Flush(ctx2 context.Context, emit func(*record.Batch) error) error
	}).Flush(ctx, func(b *record.Batch) error {
		sizes = append(sizes, len(b.Records))
		all = append(all, b.Records...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[2 2 1]" || names(all) != "A-1,A-2,A-3,A-4,A-5" {
		t.Fatalf("batches %v: %s", sizes, names(all))
	}
}
