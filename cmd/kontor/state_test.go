package main

// Run state with the DuckDB store, end to end through the CLI (issue 3):
// a repeated run exports nothing, SIGKILL at random points never loses or
// doubles a record, different pipelines run side by side while the same
// pipeline is locked.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

func readReport(t *testing.T, path string) runner.Report {
	t.Helper()
	var rep runner.Report
	if err := json.Unmarshal(mustRead(t, path), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// aboMonthlyTree copies pipelines/abo-monthly.yaml into dir/pipelines with
// a clean input (every subscription valid) in dir/testdata/abo.
func aboMonthlyTree(t *testing.T, dir string) string {
	t.Helper()
	for _, d := range []string{"pipelines", "testdata/abo"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pf := filepath.Join(dir, "pipelines", "abo-monthly.yaml")
	if err := os.WriteFile(pf, mustRead(t, "../../pipelines/abo-monthly.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := "Abo-Nr;Name;IBAN;Betrag;Beginn;Status\r\n" +
		"10001;M\xfcller, J\xfcrgen;DE89370400440532013000;29,90;01.09.2024;aktiv\r\n" +
		"10002;Sch\xe4fer;DE89 3704 0044 0532 0130 00;49,00;01.01.2025;aktiv\r\n" +
		"10003;Weber;DE89370400440532013000;19,50;01.01.2025;gekuendigt\r\n" +
		"10004;Krause;DE89370400440532013000;12,00;01.03.2025;aktiv\r\n"
	if err := os.WriteFile(filepath.Join(dir, "testdata", "abo", "abos_2026-11.csv"), []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	return pf
}

// TestRunTwiceExportsOnce: the second run of abo-monthly over the same
// input ends OK, writes 0 records and its report says why (the dedup step
// filtered everything as already exported); the first export is intact.
func TestRunTwiceExportsOnce(t *testing.T) {
	dir := t.TempDir()
	pf := aboMonthlyTree(t, dir)
	stateDir := filepath.Join(dir, ".kontor")
	var reps []runner.Report
	var outs []string
	for i := 1; i <= 2; i++ {
		rp := filepath.Join(dir, fmt.Sprintf("report%d.json", i))
		code, out, errs := runCLI(t, "run", pf, "--state-dir", stateDir, "-q", "--report", rp)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", i, code, out, errs)
		}
		reps = append(reps, readReport(t, rp))
		outs = append(outs, out)
	}
	first, second := reps[0], reps[1]
	if len(first.Outputs) != 1 || first.Outputs[0].Records != 3 {
		t.Fatalf("first run outputs %+v", first.Outputs)
	}
	if second.Status != "OK" || second.ExitCode != 0 || len(second.Outputs) != 1 || second.Outputs[0].Records != 0 {
		t.Fatalf("second run: status %s exit %d outputs %+v", second.Status, second.ExitCode, second.Outputs)
	}
	if !strings.Contains(outs[1], "wrote 0 records to") {
		t.Errorf("second run summary %q does not say 0 records were written", outs[1])
	}
	var dedup *runner.StepReport
	for i, s := range second.Steps {
		if s.Type == "dedup" {
			dedup = &second.Steps[i]
		}
	}
	if dedup == nil || dedup.In != 3 || dedup.Out != 0 || dedup.Filtered != 3 || dedup.Rejected != 0 {
		t.Errorf("second run dedup step %+v, want in 3, out 0, filtered 3", dedup)
	}
	if second.Since == nil || !second.Since.Equal(first.Start.Truncate(time.Microsecond).Add(-time.Hour)) {
		t.Errorf("second run since %v, want the first run's start %v minus the 1h overlap", second.Since, first.Start)
	}
	b := mustRead(t, first.Outputs[0].Path)
	if n := bytes.Count(b, []byte("\n")); n != 4 || !bytes.Contains(b, []byte("10004;2026-")) {
		t.Errorf("first export changed:\n%s", b)
	}
}

// TestConcurrentPipelines: while one pipeline runs, a different pipeline
// with the same state directory runs to completion, and a second start of
// the running pipeline exits 4 at once.
func TestConcurrentPipelines(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large input")
	}
	dir := t.TempDir()
	big := bigInput(t, dir, 1_500_000)
	stateDir := filepath.Join(dir, ".kontor")
	cmd := startKontor(t, "run", big, "--state-dir", stateDir, "-q")
	waitForTemp(t, filepath.Join(dir, "out"), cmd)
	again := func() {
		t.Helper()
		t0 := time.Now()
		code, out, errs := runCLI(t, "run", big, "--state-dir", stateDir, "-q")
		if code != 4 || !strings.Contains(errs, "already running") {
			t.Fatalf("second start of the running pipeline: exit %d\n%s%s", code, out, errs)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("exit 4 took %v", d)
		}
	}
	again()
	other := aboMonthlyTree(t, filepath.Join(dir, "other"))
	t0 := time.Now()
	if code, out, errs := runCLI(t, "run", other, "--state-dir", stateDir, "-q"); code != 0 {
		t.Fatalf("other pipeline: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("other pipeline finished in %v while big was running", time.Since(t0))
	again() // big still holds its lock: the other pipeline did not wait for it
	cmd.Process.Kill()
	cmd.Wait()
}

// killPipeline is a pipeline whose every run exports the ids not yet in
// the ledger to out/export_<run>.csv.
const killPipeline = `version: 1
name: killme
state: {incremental: true}
source:
  type: csv.read
  path: in/data.csv
  columns:
    - {name: id, type: int}
    - {name: period}
    - {name: amount, type: decimal}
transforms:
  - type: dedup
    key: [id, period]
    scope: ledger
sinks:
  - type: csv.write
    path: out/export_{run}.csv
`

// TestKillAtRandomPoints kills `kontor run` with SIGKILL at random points
// (20 times; 5 with -short), each time after adding new records to the
// input. After every kill:
//   - every visible output file is complete and recorded by a run that
//     ended OK or is COMMITTING (rolled forward by the next run); no
//     record is in two files; no temporary file is visible;
//   - the next run completes, and its output is exactly the records not
//     yet in a visible file (nothing lost, nothing twice);
//   - then the visible files together hold every input record once, the
//     ledger holds exactly those keys, and the watermark is the start of
//     the last successful run.
//
// KONTOR_KILL_SEED=n repeats a sequence of kill points.
func TestKillAtRandomPoints(t *testing.T) {
	iterations, perIter := 20, 4000
	if testing.Short() {
		iterations = 5
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KONTOR_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("KONTOR_KILL_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	dir := t.TempDir()
	pf := filepath.Join(dir, "killme.yaml")
	if err := os.WriteFile(pf, []byte(killPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "in"), 0o755)
	stateDir := filepath.Join(dir, ".kontor")
	outDir := filepath.Join(dir, "out")
	input := filepath.Join(dir, "in", "data.csv")
	if err := os.WriteFile(input, []byte("id,period,amount\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	total := 0
	addInput := func(n int) {
		f, err := os.OpenFile(input, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := total + 1; i <= total+n; i++ {
			fmt.Fprintf(&b, "%d,2026-11,%d.%02d\n", i, i%500, i%100)
		}
		f.WriteString(b.String())
		f.Close()
		total += n
	}

	// A full run first, to know how long a run takes.
	addInput(perIter)
	t0 := time.Now()
	cmd := startKontor(t, "run", pf, "--state-dir", stateDir, "-q")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	full := time.Since(t0)
	t.Logf("an uninterrupted run takes %v (process start included)", full)

	// Kills come at a uniform random time within 1.3 times the last
	// uninterrupted run T (the re-runs; the input grows), so they land in
	// process start, reading, writing, committing or after the end; every
	// other kill falls between 0.75 T and 1.1 T, where the commit is.
	runTime := full
	var whileRunning, whileCommitting, finished int
	for it := 0; it < iterations; it++ {
		addInput(perIter)
		delay := time.Duration(rng.Int64N(int64(runTime * 13 / 10)))
		if it%2 == 1 {
			delay = runTime*3/4 + time.Duration(rng.Int64N(int64(runTime*35/100)))
		}
		cmd := startKontor(t, "run", pf, "--state-dir", stateDir, "-q")
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		wasKilled := false
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			wasKilled = true
		} else if err != nil {
			t.Fatalf("iteration %d: run failed before the kill: %v", it, err)
		}
		visible := checkVisible(t, stateDir, outDir, false)

		rp := filepath.Join(dir, "report.json")
		t0 := time.Now()
		re := startKontor(t, "run", pf, "--state-dir", stateDir, "-q", "--report", rp)
		if err := re.Wait(); err != nil {
			t.Fatalf("iteration %d (kill after %v): re-run: %v\n%s", it, delay, err, re.Stderr.(*bytes.Buffer))
		}
		runTime = time.Since(t0)
		rep := readReport(t, rp)
		switch {
		case !wasKilled:
			finished++
		case strings.Contains(rep.Recovery, "while committing"):
			whileCommitting++
		default:
			whileRunning++
		}
		if len(rep.Outputs) != 1 {
			t.Fatalf("iteration %d: re-run outputs %+v", it, rep.Outputs)
		}
		got := idsOf(t, rep.Outputs[0].Path)
		all := checkVisible(t, stateDir, outDir, true)
		// A run killed while committing is rolled forward by the re-run:
		// its file, not yet renamed into place at the kill, is published
		// by the recovery, so its records are no longer missing.
		own := filepath.Base(rep.Outputs[0].Path)
		var want []int
		var rolled int
		for i := 1; i <= total; i++ {
			if _, ok := visible[i]; ok {
				continue
			}
			if f, ok := all[i]; ok && f != own {
				rolled++
				continue
			}
			want = append(want, i)
		}
		if rolled > 0 && !strings.Contains(rep.Recovery, "while committing") {
			t.Fatalf("iteration %d (kill after %v): %d records appeared in files of other runs without a roll-forward (recovery %q)", it, delay, rolled, rep.Recovery)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("iteration %d (kill after %v, recovery %q): re-run wrote %d records, want the %d missing ones (%s)",
				it, delay, rep.Recovery, len(got), len(want), firstDiff(got, want))
		}
		if len(all) != total {
			t.Fatalf("iteration %d: %d of %d records in the output files", it, len(all), total)
		}
		checkLedgerAndWatermark(t, stateDir, total)
	}
	t.Logf("kills: %d while running (before the commit), %d while committing (rolled forward), %d runs had finished",
		whileRunning, whileCommitting, finished)
}

// checkVisible checks the output directory against the run history and
// returns the ids in the visible files (each id must be in one file only).
// With settled, COMMITTING runs are not accepted (a run since recovered).
func checkVisible(t *testing.T, stateDir, outDir string, settled bool) map[int]string {
	t.Helper()
	st, err := duckstate.Open(stateDir, "killme")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hist, err := st.History(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]state.Output{}
	for _, r := range hist {
		ok := r.Status == state.StatusOK || r.Status == state.StatusWarning
		if !ok && !(r.Status == state.StatusCommitting && !settled) {
			continue
		}
		for _, o := range r.Outputs {
			recorded[filepath.Base(o.Path)] = o
			if ok {
				b, err := os.ReadFile(filepath.Join(outDir, filepath.Base(o.Path)))
				if err != nil {
					t.Fatalf("output of run %s (%s): %v", r.ID, r.Status, err)
				}
				if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != o.SHA256 {
					t.Fatalf("output %s of run %s does not match its recorded sha256", o.Path, r.ID)
				}
			}
		}
	}
	seen := map[int]string{}
	for _, f := range files(outDir) {
		if strings.HasPrefix(f, ".") {
			if settled {
				t.Fatalf("temporary file %s left after a completed run", f)
			}
			continue
		}
		o, ok := recorded[f]
		if !ok {
			t.Fatalf("visible file %s belongs to no successful or committing run", f)
		}
		ids := idsOf(t, filepath.Join(outDir, f))
		if int64(len(ids)) != o.Rows {
			t.Fatalf("%s has %d records, its run recorded %d", f, len(ids), o.Rows)
		}
		for _, id := range ids {
			if prev, dup := seen[id]; dup {
				t.Fatalf("record %d exported twice: %s and %s", id, prev, f)
			}
			seen[id] = f
		}
	}
	return seen
}

// checkLedgerAndWatermark: the ledger holds ids 1..total (and no more),
// the watermark is the start of the last successful run.
func checkLedgerAndWatermark(t *testing.T, stateDir string, total int) {
	t.Helper()
	ctx := context.Background()
	st, err := duckstate.Open(stateDir, "killme")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hist, err := st.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, r := range hist {
		if (r.Status == state.StatusOK || r.Status == state.StatusWarning) && !r.DryRun && r.Start.After(last) {
			last = r.Start
		}
	}
	r, err := st.Begin(ctx, state.RunInfo{Pipeline: "killme", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort(ctx, state.Result{Error: "consistency check"})
	if r.Recovery() != "" {
		t.Fatalf("a completed run left something to recover: %s", r.Recovery())
	}
	wm, ok, err := r.Watermark(ctx)
	if err != nil || !ok || !wm.Equal(last) {
		t.Fatalf("watermark %v (%v, %v), want the last successful start %v", wm, ok, err, last)
	}
	keys := make([]string, total+1)
	for i := range keys {
		keys[i] = strconv.Itoa(i+1) + "|2026-11"
	}
	hashes, err := r.LedgerLookup(ctx, "killme", keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes[:total] {
		if h == "" {
			t.Fatalf("id %d was exported but is not in the ledger", i+1)
		}
	}
	if hashes[total] != "" {
		t.Fatalf("id %d is in the ledger but was never in the input", total+1)
	}
	if sc, ok := r.(state.LedgerScanner); ok {
		if n, err := sc.LedgerCount(ctx, "killme"); err != nil || n != int64(total) {
			t.Fatalf("ledger has %d entries (%v), want %d", n, err, total)
		}
	}
}

// idsOf returns the ids (first column) of a complete export file, sorted.
func idsOf(t *testing.T, path string) []int {
	t.Helper()
	b := mustRead(t, path)
	if len(b) == 0 {
		return nil // no records: csv.write without columns writes no header either
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline (partial file)", path)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) == 0 || strings.TrimRight(lines[0], "\r") != "id,period,amount" {
		t.Fatalf("%s: bad header %q", path, lines[0])
	}
	ids := make([]int, 0, len(lines)-1)
	for _, l := range lines[1:] {
		f, _, _ := strings.Cut(l, ",")
		id, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: bad line %q", path, l)
		}
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

func firstDiff(got, want []int) string {
	for i := 0; i < min(len(got), len(want)); i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d: got id %d, want %d", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d", len(got), len(want))
}
