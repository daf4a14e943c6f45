package navigator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/statepool"
)

const pipelineYAML = `version: 1
name: abo-export
description: Abo customers to the SEPA export list.
schedule: "0 6 * * 1-5"
source:
  type: csv.read
  path: in/abos-*.csv
transforms:
  - name: valid
    type: validate
  - type: map
sinks:
  - name: export
    type: csv.write
    path: out/abos-{date}.csv.age
    encrypt: {recipients: [age1x]}
  - name: unmatched
    type: csv.write
    path: out/unmatched.csv
    when: 'status != "ok"'
`

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

// emptyInboxMessage is the message of kassenzeichen's run 2 (markup in
// it must stay text).
const emptyInboxMessage = "inbox in/<kasse>: no files matching *.txt"

// seed writes a pipelines dir and a state dir with an OK, a WARNING (with
// rejects, one reason containing markup) and an ERROR run of abo-export,
// plus an OK run and a WARNING run of an empty inbox (with a message) of
// a second pipeline.
func seed(t *testing.T) (pipelines, stateDir string) {
	t.Helper()
	root := t.TempDir()
	pipelines, stateDir = filepath.Join(root, "pipelines"), filepath.Join(root, "state")
	os.MkdirAll(pipelines, 0o755)
	if err := os.WriteFile(filepath.Join(pipelines, "abo-export.yaml"), []byte(pipelineYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(pipelines, "abo-export_test.yaml"), []byte("cases: []\n"), 0o644)
	sum := sha256.Sum256([]byte(pipelineYAML))
	sha := hex.EncodeToString(sum[:])

	pool := statepool.New(stateDir)
	defer pool.Close()
	ctx := context.Background()
	st, err := pool.Store("abo-export")
	if err != nil {
		t.Fatal(err)
	}
	schema := record.MustSchema(record.Field{Name: "kunde", Kind: record.KindString}, record.Field{Name: "iban", Kind: record.KindString})
	rec := func(line int, kunde, iban string) record.Record {
		r := record.New(schema, record.Origin{File: "in/abos-2026-11.csv", Line: line, Col: 1, Index: int64(line - 1)})
		r.Values[0], r.Values[1] = record.String(kunde), record.String(iban)
		return r
	}
	counts := func(in, rej int64) []state.StepCount {
		return []state.StepCount{{Step: "source", Out: in}, {Step: "valid", In: in, Out: in - rej, Rejected: rej},
			{Step: "transforms[1]", In: in - rej, Out: in - rej}, {Step: "export", In: in - rej, Out: in - rej}, {Step: "unmatched"}}
	}
	runs := []struct {
		status  state.Status
		counts  []state.StepCount
		rejects []record.Reject
		err     string
	}{
		{state.StatusOK, counts(120, 0), nil, ""},
		{state.StatusWarning, counts(118, 3), []record.Reject{
			{Record: rec(17, "Müller", "DE00 1234"), Step: "valid", Field: "iban", Reason: "iban_valid(iban) is false: check digits do not match"},
			{Record: rec(42, "Evil <b>Corp</b>", "DE02120300000000202051"), Step: "valid", Field: "kunde", Reason: `name contains <script>alert("x")</script>`},
			{Record: rec(99, "Schmidt", ""), Step: "valid", Field: "iban", Reason: "iban is required"},
		}, ""},
		{state.StatusError, counts(0, 0), nil, "source csv.read: no input matches in/abos-*.csv"},
	}
	for i, r := range runs {
		unlock, err := st.Lock(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		start := t0.Add(time.Duration(i) * 24 * time.Hour)
		run, err := st.Begin(ctx, state.RunInfo{Pipeline: "abo-export", SHA256: sha, Start: start})
		if err != nil {
			t.Fatal(err)
		}
		res := state.Result{Status: r.status, End: start.Add(2500 * time.Millisecond), Counts: r.counts, Rejects: r.rejects, Error: r.err}
		if r.status == state.StatusError {
			err = run.Abort(ctx, res)
		} else {
			res.Outputs = []state.Output{{Step: "export", Path: "out/abos-2026112" + string(rune('3'+i)) + ".csv.age",
				SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Bytes: 4096, Rows: r.counts[3].Out}}
			if err = run.Prepare(ctx, res); err == nil {
				err = run.Commit(ctx, res)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := pool.Store("kassenzeichen")
	unlock, _ := other.Lock(ctx, 0)
	run, _ := other.Begin(ctx, state.RunInfo{Pipeline: "kassenzeichen", SHA256: "abc", Start: t0})
	res := state.Result{Status: state.StatusOK, End: t0.Add(time.Second), Counts: []state.StepCount{{Step: "source", Out: 1}}}
	run.Prepare(ctx, res)
	run.Commit(ctx, res)
	// run 2: an empty drop-folder inbox (exchange.on_empty: warning) says why it read nothing
	run, _ = other.Begin(ctx, state.RunInfo{Pipeline: "kassenzeichen", SHA256: "abc", Start: t0.Add(time.Hour)})
	res = state.Result{Status: state.StatusWarning, End: t0.Add(time.Hour + time.Second), Counts: []state.StepCount{{Step: "source"}},
		Message: emptyInboxMessage}
	if err := run.Commit(ctx, res); err != nil {
		t.Fatal(err)
	}
	unlock()
	return pipelines, stateDir
}

// newTestServer serves the navigator over a seeded state dir.
func newTestServer(t *testing.T, opts Options) (*httptest.Server, *statepool.Pool) {
	t.Helper()
	pipelines, stateDir := seed(t)
	pool := statepool.New(stateDir)
	t.Cleanup(func() { pool.Close() })
	opts.Pool = pool
	opts.PipelinesDir = pipelines
	opts.Location = time.UTC
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, pool
}
