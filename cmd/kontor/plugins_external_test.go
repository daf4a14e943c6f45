package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testPluginDir holds the plugins built for this test binary:
// kontor-plugin-example (plugins/example) and the misbehaving test plugins
// from testdata/plugins (crash, hang, garbage).
var testPluginDir string

// buildTestPlugins builds the plugins once (TestMain), points
// KONTOR_PLUGIN_DIR at the example plugin (so TestPipelines finds it, as
// `make test` does with bin/plugins) and keeps the describe cache out of
// the user's home. It returns the cleanup.
func buildTestPlugins() func() {
	dir, err := os.MkdirTemp("", "kontor-test-plugins-")
	if err != nil {
		panic(err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	testPluginDir = dir
	for name, pkg := range map[string]string{
		"example/kontor-plugin-example": "../../plugins/example",
		"bad/kontor-plugin-crash":       "./testdata/plugins/crash",
		"bad/kontor-plugin-hang":        "./testdata/plugins/hang",
		"bad/kontor-plugin-garbage":     "./testdata/plugins/garbage",
		"chatty/kontor-plugin-chatty":   "../../engine/pluginhost/testdata/plugins/chatty",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			panic(fmt.Sprintf("building %s: %v\n%s", pkg, err, out))
		}
	}
	os.Setenv("KONTOR_PLUGIN_DIR", filepath.Join(dir, "example"))
	os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	return cleanup
}

// pluginCase writes a pipeline using component typ over n input records
// into a temporary directory and returns the pipeline path.
func pluginCase(t *testing.T, typ string, n int, extra string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id;amount\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d;%d.19\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "    gross: amount\n"
	if typ == "garbage.mangle" {
		cfg = ""
	}
	p := fmt.Sprintf(`version: 1
name: plugin-case
%s
source:
  type: csv.read
  path: in.csv
  delimiter: ";"
  columns:
    - {name: id, source: id, type: int}
    - {name: amount, source: amount, type: decimal}
transforms:
  - type: %s
%ssinks:
  - type: csv.write
    path: out/result.csv
`, extra, typ, cfg)
	pf := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(pf, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	return pf
}

func assertNoOutput(t *testing.T, pf string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(filepath.Dir(pf), "out"))
	for _, e := range ents {
		t.Errorf("output left behind: out/%s", e.Name())
	}
}

func TestExternalPluginRun(t *testing.T) {
	pf := pluginCase(t, "example.vat_split", 2500, "plugins: [{name: example}]")
	code, out, errs := runCLI(t, "run", pf, "--state-dir", "memory", "-q")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(pf), "out", "result.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2501 || lines[0] != "id,amount,net,vat" || lines[1] != "1,1.19,1.00,0.19" || lines[2500] != "2500,2500.19,2101.00,399.19" {
		t.Errorf("output: %d lines, %q ... %q", len(lines), lines[:2], lines[len(lines)-1])
	}
	// lint and describe see the external component like a built-in
	if code, out, errs := runCLI(t, "lint", pf); code != 0 {
		t.Errorf("lint exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "plugins", "describe", "example.vat_split")
	if code != 0 || !strings.Contains(out, "# example.vat_split") || !strings.Contains(out, "**gross**") {
		t.Errorf("describe (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, "plugins", "list")
	if code != 0 || !strings.Contains(out, "example.vat_split") || !strings.Contains(out, "example 1.0.0") {
		t.Errorf("list (exit %d):\n%s", code, out)
	}
}

func TestExternalPluginFailures(t *testing.T) {
	bad := filepath.Join(testPluginDir, "bad")
	for _, tc := range []struct {
		name, typ string
		args      []string
		want      []string
	}{
		{"crash", "crash.vat_split", nil, []string{"plugin crash", "exited", "batch 2"}},
		{"hang", "hang.vat_split", []string{"--plugin-timeout", "1s"}, []string{"plugin hang", "did not answer", "batch 2", "1s"}},
		{"garbage", "garbage.mangle", nil, []string{"plugin garbage", "malformed batch", "batch 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pf := pluginCase(t, tc.typ, 2500, "")
			start := time.Now()
			args := append([]string{"run", pf, "--state-dir", "memory", "-q", "--plugin-dir", bad}, tc.args...)
			code, out, errs := runCLI(t, args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if !strings.Contains(out, "ERROR") {
				t.Errorf("stdout: %s", out)
			}
			// Regression: go-plugin's "plugin process exited" line carried
			// plugin=<name> plugin=<path>; the path is path=.
			for _, l := range strings.Split(errs, "\n") {
				if strings.Count(l, " plugin=") > 1 {
					t.Errorf("key plugin twice: %s", l)
				}
			}
			if tc.name == "crash" && !regexp.MustCompile(`msg="plugin process exited" plugin=crash path=\S*kontor-plugin-crash `).MatchString(errs) {
				t.Errorf("no plugin process exited line with path=:\n%s", errs)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
			assertNoOutput(t, pf)
		})
	}
}

func TestExternalPluginPin(t *testing.T) {
	bin := filepath.Join(testPluginDir, "example", "kontor-plugin-example")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	good := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("0", 64)

	pf := pluginCase(t, "example.vat_split", 10, fmt.Sprintf("plugins: [{name: example, path: %s, sha256: %s}]", bin, wrong))
	code, out, errs := runCLI(t, "run", pf, "--state-dir", "memory", "-q")
	if code != 2 || !strings.Contains(errs, "does not match the pinned") || !strings.Contains(errs, wrong) {
		t.Errorf("wrong pin: exit %d\n%s%s", code, out, errs)
	}
	assertNoOutput(t, pf)
	// Regression: the pin error started with "kontor: " instead of the
	// command, as every other error of the command does.
	wantPin := fmt.Sprintf("plugin example (%s): sha256 ", bin)
	if !strings.HasPrefix(errs, "kontor run: "+wantPin) {
		t.Errorf("wrong pin, run: stderr does not start with %q:\n%s", "kontor run: "+wantPin, errs)
	}
	code, _, errs = runCLI(t, "lint", pf)
	if code != 2 || !strings.HasPrefix(errs, "kontor lint: "+wantPin) {
		t.Errorf("wrong pin, lint: exit %d\n%s", code, errs)
	}
	os.WriteFile(strings.TrimSuffix(pf, ".yaml")+"_test.yaml", []byte("cases:\n  - name: one\n    inputs: [{path: in.csv, content: \"id;amount\\n1;1.19\\n\"}]\n"), 0o644)
	code, out, _ = runCLI(t, "test", pf)
	if code != 2 || !strings.Contains(out, "FAIL "+pf+": not run: its plugins could not be loaded\n    kontor test: "+wantPin) || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
		t.Errorf("wrong pin, test: exit %d\n%s", code, out)
	}

	pf = pluginCase(t, "example.vat_split", 10, fmt.Sprintf("plugins: [{name: example, path: %s, sha256: %s}]", bin, good))
	if code, out, errs := runCLI(t, "run", pf, "--state-dir", "memory", "-q"); code != 0 {
		t.Errorf("right pin: exit %d\n%s%s", code, out, errs)
	}

	pf = pluginCase(t, "example.vat_split", 10, "plugins: [{name: nosuch, sha256: xyz}]")
	code, _, errs = runCLI(t, "lint", pf)
	if code != 2 || !strings.Contains(errs, "sha256 must be 64 hex digits") {
		t.Errorf("bad plugins entry: exit %d\n%s", code, errs)
	}
}

// chattyCase writes a pipeline running chatty.pass (which logs its token)
// with the token from ${env:CHATTY_TOKEN}, plus a test file with cases.
func chattyCase(t *testing.T, tests string) string {
	t.Helper()
	dir := t.TempDir()
	p := `version: 1
name: chatty
source:
  type: csv.read
  path: in.csv
  delimiter: ";"
  columns:
    - {name: v, source: v}
transforms:
  - type: chatty.pass
    token: ${env:CHATTY_TOKEN}
sinks:
  - type: csv.write
    path: out/result.csv
`
	pf := filepath.Join(dir, "chatty.yaml")
	if err := os.WriteFile(pf, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("v\nok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tests != "" {
		if err := os.WriteFile(filepath.Join(dir, "chatty_test.yaml"), []byte(tests), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return pf
}

// TestExternalPluginSecretRedacted: a plugin that logs its secret config
// value (through its logger and raw on stderr) never gets it into kontor's
// log: the lines go through the run's redacting logger.
func TestExternalPluginSecretRedacted(t *testing.T) {
	const secret = "tok-51e0c7d2"
	t.Setenv("CHATTY_TOKEN", secret)
	pf := chattyCase(t, "")
	code, out, errs := runCLI(t, "run", pf, "--state-dir", "memory", "--plugin-dir", filepath.Join(testPluginDir, "chatty"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, secret) {
		t.Errorf("secret in the output:\n%s%s", out, errs)
	}
	for _, want := range []string{"connecting with token ***", "plugin=chatty", "token=***"} {
		if !strings.Contains(errs, want) {
			t.Errorf("log lacks %q:\n%s", want, errs)
		}
	}
}

// TestExternalPluginRestartBetweenTestCases: a plugin process that dies in
// one case of `kontor test` does not fail the later cases.
func TestExternalPluginRestartBetweenTestCases(t *testing.T) {
	pf := chattyCase(t, `cases:
  - name: crashes
    env: {CHATTY_TOKEN: a}
    inputs:
      - {path: in.csv, content: "v\ncrash\n"}
    status: ERROR
    error: "exited"
  - name: runs after the crash
    env: {CHATTY_TOKEN: b}
    inputs:
      - {path: in.csv, content: "v\nfine\n"}
    outputs:
      out/result.csv: {contains: ["fine"]}
`)
	code, out, errs := runCLI(t, "test", "--plugin-dir", filepath.Join(testPluginDir, "chatty"), filepath.Dir(pf))
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
}
