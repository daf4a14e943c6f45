package runner

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// TestExchangeOnEmpty: an inbox without a complete file ends the run as
// exchange.on_empty says; with ok and warning the run reads and writes
// nothing (no output, no outbox marker, no rejects file), reports zero
// records and the reason, and is committed with that status.
func TestExchangeOnEmpty(t *testing.T) {
	for _, tc := range []struct {
		onEmpty, status string
		exit            int
	}{
		{"", "OK", ExitOK}, // default
		{"ok", "OK", ExitOK},
		{"warning", "WARNING", ExitWarning},
		{"error", "ERROR", ExitError},
	} {
		t.Run("on_empty="+tc.onEmpty, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"in/notes.md": "other pattern"})
			store := state.NewMemory()
			p := exchangePipeline(dir, spec.Exchange{OnError: "requeue", OnEmpty: tc.onEmpty})
			rep, err := Run(context.Background(), p, Options{Now: time.Now, Store: store})
			if rep.Status != tc.status || rep.ExitCode != tc.exit || (err != nil) != (tc.status == "ERROR") {
				t.Fatalf("status %s exit %d err %v, want %s %d", rep.Status, rep.ExitCode, err, tc.status, tc.exit)
			}
			const msg = "inbox in: no files matching *.txt"
			if tc.status == "ERROR" {
				if rep.Message != "" || !strings.Contains(rep.Error, "no input ready: "+msg) {
					t.Errorf("error %q, message %q", rep.Error, rep.Message)
				}
			} else if rep.Message != msg || rep.Error != "" {
				t.Errorf("message %q, error %q", rep.Message, rep.Error)
			}
			if len(rep.Outputs) != 0 || rep.RejectsFile != "" || tc.status != "ERROR" && len(rep.Steps) != 2 {
				t.Errorf("outputs %+v, rejects file %q, steps %+v", rep.Outputs, rep.RejectsFile, rep.Steps)
			}
			for _, s := range rep.Steps {
				if s.In != 0 || s.Out != 0 {
					t.Errorf("step %+v", s)
				}
			}
			files := listFiles(t, dir)
			if strings.Join(files, ",") != "in/notes.md" {
				t.Errorf("files: %v", files)
			}
			h, err := store.History(context.Background(), 1)
			if err != nil || len(h) != 1 || string(h[0].Status) != tc.status || len(h[0].Outputs) != 0 {
				t.Fatalf("history %+v %v", h, err)
			}
			// The state keeps why the run read nothing (kontor history, the navigator).
			wantMsg := msg
			if tc.status == "ERROR" {
				wantMsg = ""
			}
			if h[0].Message != wantMsg {
				t.Errorf("stored message %q, want %q", h[0].Message, wantMsg)
			}
		})
	}
}

// TestExchangeOnEmptyMessages: files still being written or waiting for
// their marker are named; a before hook that refuses every file fails the
// run whatever on_empty says; a dry run prints the reason.
func TestExchangeOnEmptyMessages(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "a1\n", "in/b.txt": "b1\n"})
	p := exchangePipeline(dir, spec.Exchange{OnError: "requeue", OnEmpty: "warning", Marker: ".ok"})
	rep, err := Run(context.Background(), p, Options{Now: time.Now})
	if err != nil || rep.Status != "WARNING" || rep.Message != "inbox in: no complete files matching *.txt (2 waiting for their .ok markers: a.txt, b.txt)" {
		t.Fatalf("%v %s %q", err, rep.Status, rep.Message)
	}

	var out bytes.Buffer
	p = exchangePipeline(dir, spec.Exchange{OnError: "requeue", Marker: ".ok"})
	rep, err = Run(context.Background(), p, Options{Now: time.Now, DryRun: true, Stdout: &out})
	if err != nil || rep.Status != "OK" || !strings.Contains(out.String(), "inbox in: no complete files matching *.txt (2 waiting") {
		t.Fatalf("dry run: %v %s %q", err, rep.Status, out.String())
	}

	// A veto of every ready file is not "empty".
	script := filepath.Join(dir, "veto.sh")
	writeFiles(t, dir, map[string]string{"in/a.txt.ok": "", "veto.sh": "#!/bin/sh\nexit 1\n"})
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	p = exchangePipeline(dir, spec.Exchange{OnError: "requeue", OnEmpty: "ok", Marker: ".ok",
		Before: &spec.ExchangeHook{Command: []string{script}, Timeout: 30 * time.Second}})
	rep, err = Run(context.Background(), p, Options{Now: time.Now})
	if err == nil || rep.Status != "ERROR" || !strings.Contains(err.Error(), "the before hook refused every complete file matching *.txt (a.txt)") {
		t.Fatalf("veto: %v %s", err, rep.Status)
	}
	if !exists(filepath.Join(dir, "in/a.txt")) {
		t.Errorf("vetoed file moved: %v", listFiles(t, dir))
	}
}

// TestExchangeOnEmptyHoldsWatermark: runs that found the inbox empty are
// committed OK but do not move an incremental pipeline's watermark: the
// next run that reads files gets Env.Since of the last run that read
// files (minus the overlap), and after it the watermark moves again.
func TestExchangeOnEmptyHoldsWatermark(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	store := state.NewMemory()
	t0 := time.Date(2099, 3, 2, 8, 0, 0, 0, time.UTC) // after the files' mtimes: they count as settled
	var sinces []time.Time
	run := func(i int, file string) *Report {
		t.Helper()
		if file != "" {
			writeFiles(t, dir, map[string]string{"in/" + file: "x\n"})
			makeOld(t, filepath.Join(in, file))
		}
		p := exchangePipeline(dir, spec.Exchange{OnError: "requeue"})
		p.State = spec.StateOptions{Incremental: true, Overlap: time.Minute}
		p.Source.Component.NewDecoder = func(_ context.Context, _ sdk.Config, env sdk.Env) (sdk.Decoder, error) {
			sinces = append(sinces, env.Since)
			return linesDecoder{batch: env.BatchSize}, nil
		}
		start := t0.Add(time.Duration(i) * 5 * time.Minute)
		rep, err := Run(context.Background(), p, Options{Now: func() time.Time { return start }, Store: store})
		if err != nil || rep.Status != "OK" {
			t.Fatalf("run %d: %v %s", i, err, rep.Status)
		}
		return rep
	}
	// An empty inbox before any run that read files: still no watermark.
	if rep := run(0, ""); rep.Since != nil || rep.Message == "" {
		t.Fatalf("run 0: since %v, message %q", rep.Since, rep.Message)
	}
	run(1, "a.txt") // full run: Since zero
	run(2, "")
	if rep := run(3, ""); rep.Since == nil || !rep.Since.Equal(t0.Add(5*time.Minute-time.Minute)) {
		t.Fatalf("run 3 (empty): since %v, want run 1's start minus the overlap", rep.Since)
	}
	run(4, "b.txt")
	run(5, "c.txt")
	want := []time.Time{{}, t0.Add(5*time.Minute - time.Minute), t0.Add(20*time.Minute - time.Minute)}
	if len(sinces) != 3 {
		t.Fatalf("decoder built %d times, want 3", len(sinces))
	}
	for i, w := range want {
		if !sinces[i].Equal(w) {
			t.Errorf("run with files %d: since %v, want %v", i+1, sinces[i], w)
		}
	}
	if h, _ := store.History(context.Background(), 0); len(h) != 6 {
		t.Errorf("history has %d runs, want 6", len(h))
	}
}

// TestExchangeOnEmptyMessageRedacted: the empty-inbox message names files
// (here one waiting for its marker); a secret in a name is redacted in the
// report, the report file, the stored history and the log.
func TestExchangeOnEmptyMessageRedacted(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/s3cr3t-value.txt": "a1\n"})
	p := exchangePipeline(dir, spec.Exchange{OnError: "requeue", OnEmpty: "warning", Marker: ".ok"})
	p.Secrets = []string{"s3cr3t-value"}
	store := state.NewMemory()
	var logs bytes.Buffer
	reportPath := filepath.Join(dir, "r.json")
	rep, err := Run(context.Background(), p, Options{Now: time.Now, Store: store, ReportPath: reportPath,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil || rep.Status != "WARNING" {
		t.Fatalf("%v %s", err, rep.Status)
	}
	if want := "inbox in: no complete files matching *.txt (1 waiting for its .ok marker: ***.txt)"; rep.Message != want {
		t.Errorf("message %q, want %q", rep.Message, want)
	}
	h, err := store.History(context.Background(), 1)
	if err != nil || len(h) != 1 {
		t.Fatalf("history %+v %v", h, err)
	}
	report, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"report file": string(report), "history": h[0].Message, "log": logs.String()} {
		if strings.Contains(text, "s3cr3t") {
			t.Errorf("%s leaks the secret:\n%s", name, text)
		}
	}
}
