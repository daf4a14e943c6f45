package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

// seedHistory writes the state of pipeline "orders" under dir: an OK run
// with an output, a WARNING run with a reject, an OK run of an empty
// inbox (with its message), an ERROR run and an OK dry run. It returns
// the start times of the runs, oldest first.
func seedHistory(t *testing.T, dir string) []time.Time {
	t.Helper()
	ctx := context.Background()
	st, err := duckstate.Open(dir, "orders")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	unlock, err := st.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	schema := record.MustSchema(record.Field{Name: "id", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindString})
	rej := record.New(schema, record.Origin{File: "in/orders_2.csv", Line: 3, Col: 5, Index: 1})
	rej.Values[0], rej.Values[1] = record.String("O-7"), record.String("12,5x")
	counts := []state.StepCount{{Step: "source", Out: 2}, {Step: "sinks[0]", In: 2, Out: 2}}
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	runs := []struct {
		dry bool
		res state.Result
	}{
		{false, state.Result{Counts: counts, Outputs: []state.Output{{Step: "sinks[0]", Path: "out/orders-1.csv", SHA256: "cd", Bytes: 80, Rows: 2}}}},
		{false, state.Result{Counts: counts, Rejects: []record.Reject{{Record: rej, Step: "source", Field: "amount", Reason: `not a decimal: "12,5x"`}},
			Outputs: []state.Output{{Step: "sinks[0]", Path: "out/orders-2.csv", SHA256: "ef", Bytes: 60, Rows: 1}}}},
		{false, state.Result{Status: state.StatusOK, Counts: []state.StepCount{{Step: "source"}, {Step: "sinks[0]"}},
			Message: "inbox in: no complete files matching orders_*.csv (1 waiting for its .ok marker: orders_3.csv)"}},
		{false, state.Result{Status: state.StatusError, Error: "sinks[0]: writing out/orders-4.csv: no space left on device"}},
		{true, state.Result{Status: state.StatusOK, Counts: []state.StepCount{{Step: "source"}, {Step: "sinks[0]"}},
			Message: "inbox in: no files matching orders_*.csv"}},
	}
	var starts []time.Time
	for i, r := range runs {
		start := t0.Add(time.Duration(i) * 5 * time.Minute)
		starts = append(starts, start)
		run, err := st.Begin(ctx, state.RunInfo{Pipeline: "orders", SHA256: "bb21", Start: start, DryRun: r.dry})
		if err != nil {
			t.Fatal(err)
		}
		r.res.End = start.Add(time.Duration(i+1) * 1500 * time.Millisecond)
		if r.res.Status == state.StatusError {
			err = run.Abort(ctx, r.res)
		} else {
			err = run.Commit(ctx, r.res)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return starts
}

// TestHistoryGolden pins `kontor history` (table and --json) and `kontor
// rejects` over a seeded state: the NOTE column shows an ERROR run's error
// and a committed run's message (why it read nothing), --json has them as
// "error" and "message". Start times are shown in local time, so the test
// replaces them with their UTC text (same layout) before comparing.
func TestHistoryGolden(t *testing.T) {
	dir := t.TempDir()
	starts := seedHistory(t, dir)
	localTimes := func(s string) string {
		for _, st := range starts {
			s = strings.ReplaceAll(s, st.Local().Format("2006-01-02 15:04:05"), st.UTC().Format("2006-01-02 15:04:05"))
		}
		return s
	}
	code, out, errs := runCLI(t, "history", "orders", "--state-dir", dir)
	if code != 0 {
		t.Fatalf("history exit %d: %s%s", code, out, errs)
	}
	checkGolden(t, "testdata/cli/history.txt", []byte(localTimes(out)))

	code, out, errs = runCLI(t, "history", "orders", "--state-dir", dir, "--json", "--limit", "0")
	if code != 0 {
		t.Fatalf("history --json exit %d: %s%s", code, out, errs)
	}
	checkGolden(t, "testdata/cli/history_json.txt", []byte(out))
	var runs []state.RunRecord
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 5 {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	if runs[2].Message != "inbox in: no complete files matching orders_*.csv (1 waiting for its .ok marker: orders_3.csv)" || runs[1].Error == "" || runs[1].Message != "" {
		t.Errorf("history --json: %+v", runs)
	}

	code, out, errs = runCLI(t, "rejects", "orders", "2", "--state-dir", dir)
	if code != 0 {
		t.Fatalf("rejects exit %d: %s%s", code, out, errs)
	}
	checkGolden(t, "testdata/cli/rejects.txt", []byte(out))
}

// TestHistoryEmptyInboxMessage: a run of an empty drop-folder inbox
// (exchange.on_empty: warning) shows in `kontor history` why it read
// nothing, in the table and in --json.
func TestHistoryEmptyInboxMessage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "inbox.yaml")
	src := "version: 1\nname: inbox\nsource:\n  type: csv.read\n  path: in/orders_*.csv\n  exchange:\n    on_empty: warning" +
		"\n  columns:\n    - {name: id, type: int}\nsinks:\n  - type: csv.write\n    path: out/orders.csv\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	if code, out, errs := runCLI(t, "run", p, "--state-dir", stateDir, "-q"); code != 3 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	const msg = "inbox in: no files matching orders_*.csv"
	code, out, errs := runCLI(t, "history", p, "--state-dir", stateDir)
	if code != 0 || !regexp.MustCompile(`(?m)^1\s+WARNING\s.*\s`+regexp.QuoteMeta(msg)+`$`).MatchString(out) {
		t.Errorf("history exit %d:\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "history", p, "--state-dir", stateDir, "--json")
	var runs []state.RunRecord
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 1 || runs[0].Message != msg || runs[0].Error != "" {
		t.Errorf("history --json exit %d:\n%s%s", code, out, errs)
	}
}
