package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// exchangePipeline: drop-folder inbox in/*.txt -> out/result.txt delivered
// with marker .ok.
func exchangePipeline(dir string, ex spec.Exchange) *spec.Pipeline {
	p := linesPipeline(dir)
	p.Source.Exchange = &ex
	p.Sinks[0].Path = "out/result.txt"
	p.Sinks[0].Exchange = &spec.Exchange{Marker: ".ok"}
	return p
}

func makeOld(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestExchangeInbox(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeFiles(t, dir, map[string]string{"in/a.txt": "a1\na2\n", "in/b.txt": "b1\n"})
	makeOld(t, filepath.Join(in, "a.txt"))

	// b.txt is still being written while the first run looks at the inbox.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				f, _ := os.OpenFile(filepath.Join(in, "b.txt"), os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString("b1\n")
				f.Close()
			}
		}
	}()
	store := state.NewMemory()
	ex := spec.Exchange{Settle: 300 * time.Millisecond, OnError: "requeue"}
	run := func(p *spec.Pipeline) (*Report, error) {
		return Run(context.Background(), p, Options{Now: time.Now, Store: store})
	}

	// Run 1: a.txt is complete, b.txt is not.
	rep, err := run(exchangePipeline(dir, ex))
	close(stop)
	wg.Wait()
	if err != nil || rep.Status != "OK" {
		t.Fatalf("run 1: %v %s", err, rep.Status)
	}
	if got := readFile(t, filepath.Join(dir, "out/result.txt")); got != "# header\na1\na2\n# 2 records\n" {
		t.Fatalf("run 1 output %q", got)
	}
	if !exists(filepath.Join(dir, "out/result.txt.ok")) {
		t.Error("run 1: no outbox marker")
	}
	if ok := readFile(t, filepath.Join(in, "done/a.txt.ok")); !strings.Contains(ok, "status: ok") {
		t.Errorf("done marker %q", ok)
	}
	if !exists(filepath.Join(in, "done/a.txt")) || exists(filepath.Join(in, "a.txt")) || !exists(filepath.Join(in, "b.txt")) {
		t.Fatalf("run 1 files: %v", listFiles(t, dir))
	}

	// Run 2 fails in the sink: b.txt goes back into the inbox with the reason.
	makeOld(t, filepath.Join(in, "b.txt"))
	p := exchangePipeline(dir, ex)
	p.Sinks[0].Config = sdk.Config{"fail_at": 1}
	rep, err = run(p)
	if err == nil || rep.ExitCode != 1 {
		t.Fatalf("run 2: %v %s", err, rep.Status)
	}
	note := readFile(t, filepath.Join(in, "b.txt.err"))
	if !strings.Contains(note, "attempts: 1\n") || !strings.Contains(note, "disk on fire") {
		t.Errorf("requeue note %q", note)
	}
	if !exists(filepath.Join(in, "b.txt")) || exists(filepath.Join(in, "processing/b.txt")) || exists(filepath.Join(in, "done/b.txt")) {
		t.Fatalf("run 2 files: %v", listFiles(t, dir))
	}

	// Run 3 delivers b.txt; the note is gone.
	rep, err = run(exchangePipeline(dir, ex))
	if err != nil || rep.Status != "OK" {
		t.Fatalf("run 3: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "out/result.txt")); !strings.HasPrefix(got, "# header\nb1\n") {
		t.Fatalf("run 3 output %q", got)
	}
	if !exists(filepath.Join(in, "done/b.txt.ok")) || exists(filepath.Join(in, "b.txt.err")) || exists(filepath.Join(in, "b.txt")) {
		t.Fatalf("run 3 files: %v", listFiles(t, dir))
	}
	if len(rep.Rejects) > 0 {
		t.Fatalf("rejects %+v", rep.Rejects)
	}

	// Run 4: nothing left: OK (on_empty defaults to ok), and run 3's
	// delivery is left alone.
	rep, err = run(exchangePipeline(dir, ex))
	if err != nil || rep.Status != "OK" || rep.Message != "inbox in: no files matching *.txt" {
		t.Fatalf("run 4: %v %s %q", err, rep.Status, rep.Message)
	}
	if got := readFile(t, filepath.Join(dir, "out/result.txt")); !strings.HasPrefix(got, "# header\nb1\n") {
		t.Fatalf("run 4 replaced the delivered output: %q", got)
	}

	// Run 5: with on_empty: error an empty inbox fails the run.
	ex.OnEmpty = "error"
	if rep, err = run(exchangePipeline(dir, ex)); err == nil || rep.ExitCode != 1 || !strings.Contains(err.Error(), "no input ready: inbox in: no files matching *.txt") {
		t.Fatalf("run 5: %v %s", err, rep.Status)
	}
}

func TestExchangeMaxAttemptsAndErrorDir(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeFiles(t, dir, map[string]string{"in/a.txt": "a1\na2\n"})
	makeOld(t, filepath.Join(in, "a.txt"))
	store := state.NewMemory()
	p := exchangePipeline(dir, spec.Exchange{OnError: "requeue", MaxAttempts: 2, Error: "failed"})
	p.Sinks[0].Config = sdk.Config{"fail_at": 1}
	for i := 1; i <= 2; i++ {
		if _, err := Run(context.Background(), p, Options{Now: time.Now, Store: store}); err == nil {
			t.Fatalf("run %d did not fail", i)
		}
	}
	// The second failure reached max_attempts: the file is in error/ with the reason.
	if exists(filepath.Join(in, "a.txt")) || !exists(filepath.Join(dir, "failed/a.txt")) {
		t.Fatalf("files: %v", listFiles(t, dir))
	}
	if e := readFile(t, filepath.Join(dir, "failed/a.txt.err")); !strings.Contains(e, "status: error") || !strings.Contains(e, "disk on fire") {
		t.Errorf("err marker %q", e)
	}
	if exists(filepath.Join(dir, "out/result.txt")) || exists(filepath.Join(dir, "out/result.txt.ok")) {
		t.Error("a failed run delivered output")
	}
}

func TestExchangeDryRunMovesNothing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "a1\n"})
	makeOld(t, filepath.Join(dir, "in/a.txt"))
	rep, err := Run(context.Background(), exchangePipeline(dir, spec.Exchange{OnError: "requeue"}), Options{Now: time.Now, DryRun: true})
	if err != nil || rep.Status != "OK" {
		t.Fatalf("%v %s", err, rep.Status)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt" {
		t.Fatalf("files: %v", files)
	}
}

// A run that crashed after its commit left its file in processing/: the
// next run moves it to done/ without reading it again; a file of a run
// that never committed goes back into the inbox and is processed.
func TestExchangeLeftovers(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeFiles(t, dir, map[string]string{"in/a.txt": "a1\n"})
	makeOld(t, filepath.Join(in, "a.txt"))
	store := state.NewMemory()
	ex := spec.Exchange{OnError: "requeue", Settle: 100 * time.Millisecond}
	if _, err := Run(context.Background(), exchangePipeline(dir, ex), Options{Now: time.Now, Store: store}); err != nil {
		t.Fatal(err)
	}
	// Simulate the crash window: a.txt back in processing/ without its done marker.
	if err := os.Rename(filepath.Join(in, "done/a.txt"), filepath.Join(in, "processing/a.txt")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(in, "done/a.txt.ok"))
	writeFiles(t, dir, map[string]string{"in/processing/c.txt": "c1\n"})
	rep, err := Run(context.Background(), exchangePipeline(dir, ex), Options{Now: time.Now, Store: store})
	if err != nil || rep.Status != "OK" {
		t.Fatalf("%v", err)
	}
	if got := readFile(t, filepath.Join(dir, "out/result.txt")); got != "# header\nc1\n# 1 records\n" {
		t.Fatalf("output %q (a.txt must not be processed twice)", got)
	}
	for _, f := range []string{"done/a.txt", "done/a.txt.ok", "done/c.txt", "done/c.txt.ok"} {
		if !exists(filepath.Join(in, f)) {
			t.Errorf("missing %s: %v", f, listFiles(t, dir))
		}
	}
}
