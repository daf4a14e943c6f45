package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMain lets the test binary act as the kontor command (for tests that
// need a real process to kill): KONTOR_TEST_MAIN=1 ./kontor.test run ...
func TestMain(m *testing.M) {
	if os.Getenv("KONTOR_TEST_MAIN") == "1" {
		main()
	}
	cleanup := buildTestPlugins() // plugins_external_test.go
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestPipelines runs the pipeline tests of pipelines/ so `go test ./...`
// catches example pipelines that rot.
func TestPipelines(t *testing.T) {
	code, out, errs := runCLI(t, "test", "../../pipelines")
	if code != 0 {
		t.Fatalf("kontor test pipelines/ exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "lint", "../../pipelines")
	if code != 0 {
		t.Fatalf("kontor lint pipelines/ exit %d\n%s%s", code, out, errs)
	}
}

var (
	timeRE     = regexp.MustCompile(`time=\S+ `)
	durationRE = regexp.MustCompile(`\b\d+\.\d+s\b`)
)

func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir+string(filepath.Separator), "")
	s = strings.ReplaceAll(s, dir, ".")
	s = timeRE.ReplaceAllString(s, "")
	return durationRE.ReplaceAllString(s, "N.NNs")
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			if d.Name() == "want" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// files returns the files under dir (relative, sorted).
func files(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			r, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(r))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// checkGolden compares got with the golden file (or rewrites it with -update).
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// TestE2E runs each testdata/e2e/<case>/pipeline.yaml in a temporary copy
// and compares exit code, stdout, stderr and the files under out/ with
// <case>/want/.
func TestE2E(t *testing.T) {
	cases, err := filepath.Glob("../../testdata/e2e/*/pipeline.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no e2e cases: %v", err)
	}
	for _, pf := range cases {
		caseDir := filepath.Dir(pf)
		t.Run(filepath.Base(caseDir), func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, caseDir, dir)
			report := filepath.Join(dir, "report.json")
			code, stdout, stderr := runCLI(t, "run", filepath.Join(dir, "pipeline.yaml"), "--state-dir", "memory", "--report", report)
			want := filepath.Join(caseDir, "want")
			checkGolden(t, filepath.Join(want, "result.txt"),
				[]byte(fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, normalize(stdout, dir), normalize(stderr, dir))))
			var rep runner.Report
			if err := json.Unmarshal(mustRead(t, report), &rep); err != nil {
				t.Fatalf("report: %v", err)
			}
			if rep.ExitCode != code {
				t.Errorf("report exit code %d, process %d", rep.ExitCode, code)
			}
			got := files(filepath.Join(dir, "out"))
			var wantFiles []string
			if !*update {
				wantFiles = files(filepath.Join(want, "out"))
			}
			for _, f := range got {
				checkGolden(t, filepath.Join(want, "out", f), mustRead(t, filepath.Join(dir, "out", f)))
			}
			if !*update && strings.Join(got, ",") != strings.Join(wantFiles, ",") {
				t.Errorf("out/ has %v, want %v", got, wantFiles)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCLI checks usage, exit codes and messages of the subcommands.
func TestCLI(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no_args", nil, 2},
		{"help", []string{"help"}, 0},
		{"unknown_command", []string{"frobnicate"}, 2},
		{"unknown_command_suggest", []string{"lnit"}, 2},
		// Regression: "help frobnicate" printed the general help, exit 0.
		{"help_unknown", []string{"help", "frobnicate"}, 2},
		{"help_run", []string{"help", "run"}, 0},
		// Regression: a duration without a unit said only "parse error".
		{"run_bad_wait", []string{"run", "x.yaml", "--wait", "10"}, 2},
		{"schedule_bad_stop_timeout", []string{"schedule", "--stop-timeout", "soon"}, 2},
		{"run_no_pipeline", []string{"run"}, 2},
		{"run_bad_since", []string{"run", "x.yaml", "--since", "yesterday"}, 2},
		{"run_missing_file", []string{"run", "does-not-exist.yaml", "--state-dir", "memory"}, 2},
		{"run_invalid", []string{"run", "../../testdata/e2e/invalid/pipeline.yaml", "--state-dir", "memory"}, 2},
		{"lint_invalid", []string{"lint", "../../testdata/e2e/invalid/pipeline.yaml"}, 2},
		{"lint_invalid_json", []string{"lint", "--format", "json", "../../testdata/e2e/invalid/pipeline.yaml"}, 2},
		{"lint_ok", []string{"lint", "../../testdata/e2e/ok/pipeline.yaml", "../../testdata/e2e/routing"}, 0},
		{"plugins_describe_unknown", []string{"plugins", "describe", "csv.raed"}, 2},
		{"plugins_bad_sub", []string{"plugins", "show"}, 2},
		{"test_no_tests", []string{"test", "../../testdata/e2e/ok"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			checkGolden(t, filepath.Join("testdata", "cli", tc.name+".txt"),
				[]byte(fmt.Sprintf("$ kontor %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tc.args, " "), code, stdout, stderr)))
		})
	}
}

func TestPluginsAndSchema(t *testing.T) {
	code, out, _ := runCLI(t, "plugins", "list")
	for _, typ := range []string{"csv.read", "csv.write", "filter", "map", "validate", "dedup"} {
		if code != 0 || !strings.Contains(out, typ) {
			t.Errorf("plugins list (exit %d) lacks %s:\n%s", code, typ, out)
		}
	}
	code, out, _ = runCLI(t, "plugins", "describe", "csv.read")
	if code != 0 || !strings.Contains(out, "# csv.read") || !strings.Contains(out, "**path** (string), required") {
		t.Errorf("describe csv.read (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, "schema")
	var s struct {
		Defs map[string]any `json:"$defs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Defs["component:csv.read"] == nil || s.Defs["component:filter"] == nil {
		t.Errorf("schema (exit %d): %.300s", code, out)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "kontor ") {
		t.Errorf("version (exit %d): %s", code, out)
	}
}

// TestStateHistoryAndLock runs a pipeline twice with the DuckDB state,
// lists the history and rejects, and checks exit 4 while the lock is held.
func TestStateHistoryAndLock(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../testdata/e2e/warning", dir)
	stateDir := filepath.Join(dir, ".kontor")
	pf := filepath.Join(dir, "pipeline.yaml")
	for i := 0; i < 2; i++ {
		if code, out, errs := runCLI(t, "run", pf, "--state-dir", stateDir, "-q"); code != 3 {
			t.Fatalf("run %d: exit %d\n%s%s", i, code, out, errs)
		}
	}
	code, out, errs := runCLI(t, "history", pf, "--state-dir", stateDir, "--json")
	var runs []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Rejected int64  `json:"rejected"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 2 || runs[0].Status != "WARNING" || runs[0].Rejected != 2 {
		t.Fatalf("history exit %d: %s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "rejects", "e2e-warning", runs[0].ID, "--state-dir", stateDir)
	if code != 0 || !strings.Contains(out, "in/accounts.csv:3:1: check_iban: iban: invalid IBAN") {
		t.Errorf("rejects exit %d: %s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "history", "e2e-warning", "--state-dir", stateDir)
	if code != 0 || !strings.Contains(out, "WARNING") {
		t.Errorf("history text exit %d: %s", code, out)
	}

	st, err := duckstate.Open(stateDir, "e2e-warning")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	unlock, err := st.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Regression: the message named the pipeline three times ("kontor run:
	// e2e-warning: pipeline e2e-warning: pipeline is already running");
	// now it is one sentence with the holder and what to do.
	code, out, errs = runCLI(t, "run", pf, "--state-dir", stateDir, "-q")
	want := regexp.MustCompile(`^kontor run: pipeline e2e-warning is already running \(lock held by pid ` + strconv.Itoa(os.Getpid()) +
		` on \S+ since \S+; state in ` + regexp.QuoteMeta(stateDir) + `\); not started \(use --wait 5m to wait for it\)\n$`)
	if code != 4 || !want.MatchString(errs) {
		t.Errorf("locked run: exit %d\n%s%s\nwant stderr matching %s", code, out, errs, want)
	}
	code, out, errs = runCLI(t, "run", pf, "--state-dir", stateDir, "-q", "--wait", "100ms")
	unlock()
	if code != 4 || !strings.HasPrefix(errs, "kontor run: pipeline e2e-warning is still running after waiting 100ms (lock held by pid ") {
		t.Errorf("locked run with --wait: exit %d\n%s%s", code, out, errs)
	}
}

// bigInput writes a pipeline reading n generated rows and writing them to
// out/big.csv.
func bigInput(t *testing.T, dir string, n int) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "in", "big.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,name,iban,amount,date\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "%d,Name %d,DE89370400440532013000,%d.%02d,2026-11-%02d\n", i, i, i%500, i%100, 1+i%28)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pf := filepath.Join(dir, "big.yaml")
	os.WriteFile(pf, []byte(`version: 1
name: big
source:
  type: csv.read
  path: in/big.csv
  columns:
    - {name: id, type: int}
    - {name: name}
    - {name: iban}
    - {name: amount, type: decimal}
    - {name: date, type: date}
transforms:
  - type: map
    set:
      name: upper(name)
sinks:
  - type: csv.write
    path: out/big.csv
`), 0o644)
	return pf
}

// startKontor starts the test binary as the kontor command.
func startKontor(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KONTOR_TEST_MAIN=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// waitForTemp waits until the run's temporary output exists and has data.
func waitForTemp(t *testing.T, outDir string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ms, _ := filepath.Glob(filepath.Join(outDir, ".big.csv.*.tmp"))
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil && fi.Size() > 1<<20 {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the run never started writing")
}

func TestSIGKILLLeavesNoOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large input")
	}
	dir := t.TempDir()
	pf := bigInput(t, dir, 1_500_000)
	stateDir := filepath.Join(dir, ".kontor")
	cmd := startKontor(t, "run", pf, "--state-dir", stateDir, "-q")
	outDir := filepath.Join(dir, "out")
	waitForTemp(t, outDir, cmd)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("process ended with %v before it was killed; make the input larger", err)
	}
	// No visible output, only the hidden temporary file of the killed run.
	for _, f := range files(outDir) {
		if !strings.HasPrefix(f, ".big.csv.") || !strings.HasSuffix(f, ".tmp") {
			t.Errorf("visible file after SIGKILL: %s", f)
		}
	}
	// The next run recovers (marks the killed run ERROR), removes the stale
	// temporary file and writes the complete output.
	report := filepath.Join(dir, "report.json")
	code, out, errs := runCLI(t, "run", pf, "--state-dir", stateDir, "-q", "--report", report)
	if code != 0 {
		t.Fatalf("re-run exit %d\n%s%s", code, out, errs)
	}
	if got := files(outDir); strings.Join(got, ",") != "big.csv" {
		t.Errorf("after re-run: %v", got)
	}
	var rep runner.Report
	json.Unmarshal(mustRead(t, report), &rep)
	if rep.Recovery == "" || len(rep.Outputs) != 1 || rep.Outputs[0].Records != 1_500_000 {
		t.Errorf("report: recovery %q outputs %+v", rep.Recovery, rep.Outputs)
	}
	if n := bytes.Count(mustRead(t, filepath.Join(outDir, "big.csv")), []byte("\n")); n != 1_500_001 {
		t.Errorf("output has %d lines", n)
	}
}

func TestSIGINTCancels(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large input")
	}
	dir := t.TempDir()
	pf := bigInput(t, dir, 1_500_000)
	cmd := startKontor(t, "run", pf, "--state-dir", "memory", "-q")
	outDir := filepath.Join(dir, "out")
	waitForTemp(t, outDir, cmd)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want exit status 1", err)
	}
	if got := files(outDir); len(got) != 0 {
		t.Errorf("files left after SIGINT: %v", got)
	}
}
