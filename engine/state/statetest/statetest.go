// Package statetest is a conformance suite for state.Store
// implementations: every backend (memory, DuckDB, a future PostgreSQL)
// must pass it, so the runner can rely on one set of semantics.
package statetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
)

// Harness creates stores for the suite.
type Harness struct {
	// New returns a fresh, empty store.
	New func(t *testing.T) state.Store
	// Reopen simulates a process restart after a crash: it returns a store
	// over the same data without finishing unfinished runs (the memory
	// store returns s itself; a file store closes and opens again).
	Reopen func(t *testing.T, s state.Store) state.Store
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("Lock", func(t *testing.T) { testLock(t, h) })
	t.Run("History", func(t *testing.T) { testHistory(t, h) })
	t.Run("Watermark", func(t *testing.T) { testWatermark(t, h) })
	t.Run("SequencesGapFree", func(t *testing.T) { testSequences(t, h) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, h) })
	t.Run("Ledger", func(t *testing.T) { testLedger(t, h) })
	t.Run("RecoverRunning", func(t *testing.T) { testRecoverRunning(t, h) })
	t.Run("RecoverCommitting", func(t *testing.T) { testRecoverCommitting(t, h) })
	t.Run("AbortAfterPrepare", func(t *testing.T) { testAbortAfterPrepare(t, h) })
	t.Run("DryRun", func(t *testing.T) { testDryRun(t, h) })
	t.Run("Message", func(t *testing.T) { testMessage(t, h) })
}

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func begin(t *testing.T, s state.Store, start time.Time, dry bool) state.Run {
	t.Helper()
	r, err := s.Begin(ctx, state.RunInfo{Pipeline: "p", SHA256: "abc", Start: start, DryRun: dry})
	must(t, err)
	return r
}

var t0 = time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)

func rejectOf(field, reason string) record.Reject {
	s := record.MustSchema(record.Field{Name: "abo_nr", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindDecimal})
	rec := record.Record{Schema: s, Values: []record.Value{record.String("A-1"), record.Dec(record.MustDecimal("12.50"))},
		Origin: record.Origin{File: "in/abos.csv", Line: 3, Col: 7, Index: 2}}
	return record.Reject{Record: rec, Step: "validate", Field: field, Reason: reason}
}

func testLock(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	unlock, err := s.Lock(ctx, 0)
	must(t, err)
	if _, err := s.Lock(ctx, 0); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second Lock: got %v, want ErrLocked", err)
	}
	start := time.Now()
	if _, err := s.Lock(ctx, 150*time.Millisecond); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Lock with wait: got %v, want ErrLocked", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("Lock with wait returned after %v, want it to wait", d)
	}
	go func() { time.Sleep(100 * time.Millisecond); unlock() }()
	u2, err := s.Lock(ctx, 5*time.Second)
	if err != nil {
		t.Fatalf("Lock waiting for release: %v", err)
	}
	must(t, u2())
}

func testHistory(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	r1 := begin(t, s, t0, false)
	counts := []state.StepCount{{Step: "source", In: 0, Out: 3}, {Step: "validate", In: 3, Out: 2, Rejected: 1}}
	outs := []state.Output{{Step: "sinks[0]", Path: "/nonexistent/out.xml", SHA256: "00", Bytes: 10, Rows: 2}}
	must(t, r1.Commit(ctx, state.Result{End: t0.Add(time.Second), Counts: counts, Outputs: outs, Rejects: []record.Reject{rejectOf("amount", "too large")}}))
	r2 := begin(t, s, t0.Add(time.Hour), false)
	must(t, r2.Abort(ctx, state.Result{Status: state.StatusError, Error: "boom", End: t0.Add(time.Hour + time.Second)}))
	hist, err := s.History(ctx, 0)
	must(t, err)
	if len(hist) != 2 || hist[0].ID != r2.ID() || hist[1].ID != r1.ID() {
		t.Fatalf("history = %+v, want r2, r1", hist)
	}
	if r1.ID() == r2.ID() {
		t.Fatal("run ids not unique")
	}
	got := hist[1]
	if got.Status != state.StatusWarning || got.Rejected != 1 || !got.Start.Equal(t0) || !got.End.Equal(t0.Add(time.Second)) ||
		got.Pipeline != "p" || got.SHA256 != "abc" || len(got.Counts) != 2 || got.Counts[1] != counts[1] || len(got.Outputs) != 1 || got.Outputs[0] != outs[0] {
		t.Fatalf("run 1 = %+v", got)
	}
	if hist[0].Status != state.StatusError || hist[0].Error != "boom" {
		t.Fatalf("run 2 = %+v", hist[0])
	}
	lim, err := s.History(ctx, 1)
	must(t, err)
	if len(lim) != 1 || lim[0].ID != r2.ID() {
		t.Fatalf("History(1) = %+v", lim)
	}
	g, err := s.GetRun(ctx, r1.ID())
	must(t, err)
	if g.ID != r1.ID() || g.Status != state.StatusWarning {
		t.Fatalf("GetRun = %+v", g)
	}
	if _, err := s.GetRun(ctx, "nope"); err == nil {
		t.Fatal("GetRun of unknown id: no error")
	}
	rej, err := s.Rejects(ctx, r1.ID())
	must(t, err)
	want := state.RejectRecord{RunID: r1.ID(), Origin: "in/abos.csv:3:7", Step: "validate", Field: "amount", Reason: "too large",
		Record: map[string]string{"abo_nr": "A-1", "amount": "12.50"}}
	if len(rej) != 1 || rej[0].RunID != want.RunID || rej[0].Origin != want.Origin || rej[0].Step != want.Step ||
		rej[0].Field != want.Field || rej[0].Reason != want.Reason || len(rej[0].Record) != 2 || rej[0].Record["amount"] != "12.50" || rej[0].Record["abo_nr"] != "A-1" {
		t.Fatalf("rejects = %+v", rej)
	}
	if err := r1.Commit(ctx, state.Result{}); !errors.Is(err, state.ErrFinished) {
		t.Fatalf("Commit after Commit: %v, want ErrFinished", err)
	}
}

func testWatermark(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	r := begin(t, s, t0, false)
	if _, ok, err := r.Watermark(ctx); err != nil || ok {
		t.Fatalf("first watermark: ok=%v err=%v", ok, err)
	}
	must(t, r.Commit(ctx, state.Result{Status: state.StatusOK}))
	// A run starting in the repeated DST hour, given in local time.
	berlin, err := time.LoadLocation("Europe/Berlin")
	must(t, err)
	start2 := time.Date(2026, 10, 25, 2, 30, 0, 0, berlin)
	r = begin(t, s, start2, false)
	wm, ok, err := r.Watermark(ctx)
	must(t, err)
	if !ok || !wm.Equal(t0) || wm.Location() != time.UTC {
		t.Fatalf("watermark = %v %v, want %v UTC", wm, ok, t0)
	}
	must(t, r.Commit(ctx, state.Result{Status: state.StatusWarning}))
	r = begin(t, s, start2.Add(time.Hour), false)
	must(t, r.Abort(ctx, state.Result{Status: state.StatusError, Error: "x"}))
	r = begin(t, s, start2.Add(2*time.Hour), true)
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, start2.Add(3*time.Hour), false)
	wm, ok, err = r.Watermark(ctx)
	must(t, err)
	if !ok || !wm.Equal(start2) {
		t.Fatalf("watermark = %v, want %v (last OK/WARNING non-dry run)", wm, start2.UTC())
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

func testSequences(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	reserve := func(r state.Run, n int64, want int64) {
		t.Helper()
		got, err := r.Reserve(ctx, "kassenzeichen", n)
		must(t, err)
		if got != want {
			t.Fatalf("Reserve(%d) = %d, want %d", n, got, want)
		}
	}
	r := begin(t, s, t0, false)
	reserve(r, 3, 1)
	reserve(r, 2, 4)
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(time.Minute), false)
	reserve(r, 10, 6)
	must(t, r.Abort(ctx, state.Result{Error: "sink failed"}))
	r = begin(t, s, t0.Add(2*time.Minute), false)
	reserve(r, 1, 6) // the failed run consumed nothing
	if got, err := r.Reserve(ctx, "datev_batch", 0); err != nil || got != 1 {
		t.Fatalf("Reserve(other, 0) = %d, %v", got, err)
	}
	if _, err := r.Reserve(ctx, "x", -1); err == nil {
		t.Fatal("Reserve(-1): no error")
	}
	// crash while running: nothing consumed either
	s = h.Reopen(t, s)
	r = begin(t, s, t0.Add(3*time.Minute), false)
	reserve(r, 2, 6)
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(4*time.Minute), false)
	reserve(r, 1, 8)
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

func testCheckpoints(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	r := begin(t, s, t0, false)
	if _, ok, err := r.Get(ctx, "src/page"); err != nil || ok {
		t.Fatalf("Get before Put: ok=%v err=%v", ok, err)
	}
	must(t, r.Put(ctx, "src/page", "3"))
	if v, ok, err := r.Get(ctx, "src/page"); err != nil || !ok || v != "3" {
		t.Fatalf("Get after Put in same run = %q %v %v", v, ok, err)
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
	r = begin(t, s, t0.Add(time.Minute), false)
	if _, ok, _ := r.Get(ctx, "src/page"); ok {
		t.Fatal("checkpoint of an aborted run is visible")
	}
	must(t, r.Put(ctx, "src/page", "4"))
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(2*time.Minute), false)
	if v, ok, _ := r.Get(ctx, "src/page"); !ok || v != "4" {
		t.Fatalf("committed checkpoint = %q %v", v, ok)
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

func lookup(t *testing.T, r state.Run, scope string, keys ...string) string {
	t.Helper()
	got, err := r.LedgerLookup(ctx, scope, keys)
	must(t, err)
	if len(got) != len(keys) {
		t.Fatalf("LedgerLookup returned %d hashes for %d keys", len(got), len(keys))
	}
	return strings.Join(got, ",")
}

func testLedger(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	r := begin(t, s, t0, false)
	if got := lookup(t, r, "abo", "a", "b"); got != "," {
		t.Fatalf("empty ledger lookup = %q", got)
	}
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "h1"}, {Key: "b", Hash: "h2"}}))
	must(t, r.LedgerAdd(ctx, "other", []state.LedgerEntry{{Key: "a", Hash: "o1"}}))
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(time.Minute), false)
	if got := lookup(t, r, "abo", "b", "c", "a"); got != "h2,,h1" {
		t.Fatalf("lookup = %q", got)
	}
	if got := lookup(t, r, "other", "a", "b"); got != "o1," {
		t.Fatalf("lookup other scope = %q", got)
	}
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "c", Hash: "h3"}}))
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
	r = begin(t, s, t0.Add(2*time.Minute), false)
	if got := lookup(t, r, "abo", "c"); got != "" {
		t.Fatalf("ledger entry of aborted run visible: %q", got)
	}
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "h1b"}, {Key: "c", Hash: "h3"}}))
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(3*time.Minute), false)
	if got := lookup(t, r, "abo", "a", "b", "c"); got != "h1b,h2,h3" {
		t.Fatalf("lookup after update = %q", got)
	}
	if sc, ok := r.(state.LedgerScanner); ok {
		n, err := sc.LedgerCount(ctx, "abo")
		must(t, err)
		var seen []string
		must(t, sc.LedgerScan(ctx, "abo", func(k, h string) error { seen = append(seen, k+"="+h); return nil }))
		if n != 3 || len(seen) != 3 {
			t.Fatalf("LedgerCount = %d, LedgerScan = %v", n, seen)
		}
	}
	// The same key added twice in one run: the last entry wins.
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "x1"}, {Key: "d", Hash: "d1"}}))
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "x2"}, {Key: "d", Hash: "d2"}}))
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(4*time.Minute), false)
	if got := lookup(t, r, "abo", "a", "b", "c", "d"); got != "x2,h2,h3,d2" {
		t.Fatalf("lookup after repeated adds = %q", got)
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

func testRecoverRunning(t *testing.T, h Harness) {
	s := h.New(t)
	r := begin(t, s, t0, false)
	id := r.ID()
	_, err := r.Reserve(ctx, "n", 5)
	must(t, err)
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "h"}}))
	s = h.Reopen(t, s) // the process died
	defer s.Close()
	r = begin(t, s, t0.Add(time.Minute), false)
	if !strings.Contains(r.Recovery(), "interrupted") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	old, err := s.GetRun(ctx, id)
	must(t, err)
	if old.Status != state.StatusError || !strings.Contains(old.Error, "interrupted") {
		t.Fatalf("interrupted run = %+v", old)
	}
	if n, _ := r.Reserve(ctx, "n", 1); n != 1 {
		t.Fatalf("Reserve after interrupted run = %d, want 1", n)
	}
	if got := lookup(t, r, "abo", "a"); got != "" {
		t.Fatalf("ledger of interrupted run applied: %q", got)
	}
	if _, ok, _ := r.Watermark(ctx); ok {
		t.Fatal("interrupted run set the watermark")
	}
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(2*time.Minute), false)
	if r.Recovery() != "" {
		t.Fatalf("Recovery after clean run = %q", r.Recovery())
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

func writeTemp(t *testing.T, dir, name, content string) state.Output {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	must(t, os.WriteFile(tmp, []byte(content), 0o644))
	sum := sha256.Sum256([]byte(content))
	return state.Output{Step: "sinks[0]", Path: filepath.Join(dir, name), Temp: tmp, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(content)), Rows: 1}
}

func testRecoverCommitting(t *testing.T, h Harness) {
	dir := t.TempDir()
	s := h.New(t)
	r := begin(t, s, t0, false)
	id := r.ID()
	_, err := r.Reserve(ctx, "n", 2)
	must(t, err)
	must(t, r.Put(ctx, "k", "v"))
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "h"}}))
	o1 := writeTemp(t, dir, "one.xml", "<one/>")
	o2 := writeTemp(t, dir, "two.xml", "<two/>")
	must(t, os.WriteFile(o2.Path, []byte("old file of an earlier run"), 0o644))
	must(t, r.Prepare(ctx, state.Result{Outputs: []state.Output{o1, o2}, Rejects: []record.Reject{rejectOf("", "bad")}}))
	must(t, os.Rename(o1.Temp, o1.Path)) // the runner published one file, then died
	s = h.Reopen(t, s)
	defer s.Close()
	r = begin(t, s, t0.Add(time.Minute), false)
	if !strings.Contains(r.Recovery(), "finished") || !strings.Contains(r.Recovery(), "two.xml") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	for _, o := range []state.Output{o1, o2} {
		b, err := os.ReadFile(o.Path)
		must(t, err)
		if want := "<" + strings.TrimSuffix(filepath.Base(o.Path), ".xml") + "/>"; string(b) != want {
			t.Fatalf("%s = %q, want %q", o.Path, b, want)
		}
		if _, err := os.Stat(o.Temp); !os.IsNotExist(err) {
			t.Fatalf("temp %s still exists", o.Temp)
		}
	}
	old, err := s.GetRun(ctx, id)
	must(t, err)
	if old.Status != state.StatusWarning || old.Rejected != 1 {
		t.Fatalf("recovered run = %+v, want WARNING with 1 reject", old)
	}
	if n, _ := r.Reserve(ctx, "n", 1); n != 3 {
		t.Fatalf("Reserve after recovered run = %d, want 3", n)
	}
	if v, ok, _ := r.Get(ctx, "k"); !ok || v != "v" {
		t.Fatal("checkpoint of recovered run not applied")
	}
	if got := lookup(t, r, "abo", "a"); got != "h" {
		t.Fatalf("ledger of recovered run = %q", got)
	}
	if wm, ok, _ := r.Watermark(ctx); !ok || !wm.Equal(t0) {
		t.Fatalf("watermark after recovery = %v %v", wm, ok)
	}
	rej, err := s.Rejects(ctx, id)
	must(t, err)
	if len(rej) != 1 {
		t.Fatalf("rejects of recovered run = %v", rej)
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))

	// A COMMITTING run whose temporary file vanished is not applied.
	r = begin(t, s, t0.Add(2*time.Minute), false)
	id = r.ID()
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "lost", Hash: "h"}}))
	o3 := writeTemp(t, dir, "three.xml", "<three/>")
	must(t, r.Prepare(ctx, state.Result{Outputs: []state.Output{o3}}))
	must(t, os.Remove(o3.Temp))
	s = h.Reopen(t, s)
	r = begin(t, s, t0.Add(3*time.Minute), false)
	if !strings.Contains(r.Recovery(), "could not be finished") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	old, err = s.GetRun(ctx, id)
	must(t, err)
	if old.Status != state.StatusError || !strings.Contains(old.Error, "three.xml") {
		t.Fatalf("run with lost output = %+v", old)
	}
	if got := lookup(t, r, "abo", "lost"); got != "" {
		t.Fatal("ledger of a run with a lost output applied")
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

func testAbortAfterPrepare(t *testing.T, h Harness) {
	dir := t.TempDir()
	s := h.New(t)
	defer s.Close()
	r := begin(t, s, t0, false)
	o := writeTemp(t, dir, "out.csv", "a;b\r\n")
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "k", Hash: "h"}}))
	must(t, r.Prepare(ctx, state.Result{Outputs: []state.Output{o}}))
	if err := r.Abort(ctx, state.Result{Status: state.StatusError, Error: "rename failed"}); !errors.Is(err, state.ErrCommitPending) {
		t.Fatalf("Abort after Prepare = %v, want ErrCommitPending", err)
	}
	r2 := begin(t, s, t0.Add(time.Minute), false)
	if r2.Recovery() == "" {
		t.Fatal("no recovery of the prepared run")
	}
	if got := lookup(t, r2, "abo", "k"); got != "h" {
		t.Fatalf("ledger = %q", got)
	}
	if _, err := os.Stat(o.Path); err != nil {
		t.Fatal(err)
	}
	must(t, r2.Abort(ctx, state.Result{Error: "x"}))
}

func testDryRun(t *testing.T, h Harness) {
	s := h.New(t)
	defer s.Close()
	r := begin(t, s, t0, true)
	if n, _ := r.Reserve(ctx, "n", 3); n != 1 {
		t.Fatalf("dry Reserve = %d", n)
	}
	must(t, r.Put(ctx, "k", "v"))
	must(t, r.LedgerAdd(ctx, "abo", []state.LedgerEntry{{Key: "a", Hash: "h"}}))
	must(t, r.Commit(ctx, state.Result{}))
	r = begin(t, s, t0.Add(time.Minute), false)
	if n, _ := r.Reserve(ctx, "n", 1); n != 1 {
		t.Fatalf("Reserve after dry run = %d, want 1", n)
	}
	if _, ok, _ := r.Get(ctx, "k"); ok {
		t.Fatal("dry run wrote a checkpoint")
	}
	if got := lookup(t, r, "abo", "a"); got != "" {
		t.Fatal("dry run wrote the ledger")
	}
	if _, ok, _ := r.Watermark(ctx); ok {
		t.Fatal("dry run set the watermark")
	}
	hist, _ := s.History(ctx, 2)
	if len(hist) != 2 || !hist[1].DryRun || hist[1].Status != state.StatusOK || hist[0].Status != state.StatusRunning {
		t.Fatalf("dry run history = %+v", hist)
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))
}

// testMessage: Result.Message is stored with a committed run (Commit
// alone, Prepare then Commit, a dry run, a run rolled forward after a
// crash between Prepare and Commit) and with an aborted one; History and
// GetRun return it, and a run without one has "".
func testMessage(t *testing.T, h Harness) {
	const msg = "inbox in: no files matching *.txt"
	s := h.New(t)
	counts := []state.StepCount{{Step: "source"}, {Step: "sinks[0]"}}

	r := begin(t, s, t0, false) // Commit without Prepare (an empty inbox)
	ids := []string{r.ID()}
	must(t, r.Commit(ctx, state.Result{Status: state.StatusWarning, End: t0.Add(time.Second), Counts: counts, Message: msg}))
	r = begin(t, s, t0.Add(time.Minute), false) // Prepare, then Commit with the same result
	ids = append(ids, r.ID())
	res := state.Result{End: t0.Add(time.Minute + time.Second), Counts: counts, Message: msg + " (2)"}
	must(t, r.Prepare(ctx, res))
	must(t, r.Commit(ctx, res))
	r = begin(t, s, t0.Add(2*time.Minute), false) // no message
	ids = append(ids, r.ID())
	must(t, r.Commit(ctx, state.Result{Counts: counts}))
	r = begin(t, s, t0.Add(3*time.Minute), true) // dry run
	ids = append(ids, r.ID())
	must(t, r.Commit(ctx, state.Result{Counts: counts, Message: msg + " (dry)"}))
	r = begin(t, s, t0.Add(4*time.Minute), false) // aborted
	ids = append(ids, r.ID())
	must(t, r.Abort(ctx, state.Result{Error: "boom", Message: "partly read"}))
	r = begin(t, s, t0.Add(5*time.Minute), false) // prepared, then the process dies
	ids = append(ids, r.ID())
	must(t, r.Prepare(ctx, state.Result{Counts: counts, Message: msg + " (crash)"}))
	s = h.Reopen(t, s)
	defer s.Close()
	r = begin(t, s, t0.Add(6*time.Minute), false)
	if !strings.Contains(r.Recovery(), "finished") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	must(t, r.Abort(ctx, state.Result{Error: "x"}))

	want := []struct {
		status state.Status
		msg    string
	}{
		{state.StatusWarning, msg}, {state.StatusOK, msg + " (2)"}, {state.StatusOK, ""}, {state.StatusOK, msg + " (dry)"},
		{state.StatusError, "partly read"}, {state.StatusOK, msg + " (crash)"},
	}
	hist, err := s.History(ctx, 0)
	must(t, err)
	if len(hist) != len(want)+1 {
		t.Fatalf("history has %d runs, want %d", len(hist), len(want)+1)
	}
	for i, w := range want {
		h := hist[len(hist)-1-i]
		if h.ID != ids[i] || h.Status != w.status || h.Message != w.msg {
			t.Errorf("history run %s: %s %q, want %s %s %q", h.ID, h.Status, h.Message, ids[i], w.status, w.msg)
		}
		g, err := s.GetRun(ctx, ids[i])
		must(t, err)
		if g.Message != w.msg {
			t.Errorf("GetRun(%s).Message = %q, want %q", ids[i], g.Message, w.msg)
		}
	}
	if hist[0].Message != "" {
		t.Errorf("run without a message: %q", hist[0].Message)
	}
}
