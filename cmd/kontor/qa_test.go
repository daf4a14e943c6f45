package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTestCommandTakesTestFile: `kontor test p_test.yaml` tests p.yaml (the
// test file names its pipeline), and -v is accepted as `kontor help` says.
func TestTestCommandTakesTestFile(t *testing.T) {
	code, out, errs := runCLI(t, "test", "-v", "../../pipelines/abo-export_test.yaml")
	if code != 0 || !strings.Contains(out, "passed, 0 failed") || !strings.Contains(out, "abo-export.yaml") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

// TestLintFourErrors is issue 2's acceptance case with the real built-ins:
// an unknown key, a wrong type, a typo in an expression field and a
// misspelled plugin give exactly four errors at exact positions, exit 2.
func TestLintFourErrors(t *testing.T) {
	code, out, errs := runCLI(t, "lint", "testdata/qa/four_errors.yaml")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	want := []string{
		`testdata/qa/four_errors.yaml:9:3: error: unknown key "delimter" for csv.read (did you mean "delimiter"?) [unknown-key]`,
		`testdata/qa/four_errors.yaml:10:14: error: skip_rows: expected int, got string [type]`,
		`testdata/qa/four_errors.yaml:17:37: error: undefined field "amuont" (did you mean "amount"?) [expr]`,
		`testdata/qa/four_errors.yaml:19:11: error: unknown component type "csv.wirte" (did you mean "csv.write"?) [unknown-type]`,
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "testdata/") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(errs, "4 errors") {
		t.Errorf("summary: %s", errs)
	}
}

// TestEveryPipelineHasTestAndIndexEntry: every example pipeline has a
// pipeline test next to it and a row in pipelines/README.md.
func TestEveryPipelineHasTestAndIndexEntry(t *testing.T) {
	files, err := filepath.Glob("../../pipelines/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pipelines: %v", err)
	}
	index, err := os.ReadFile("../../pipelines/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yaml") {
			continue
		}
		base := filepath.Base(f)
		if _, err := os.Stat(strings.TrimSuffix(f, ".yaml") + "_test.yaml"); err != nil {
			t.Errorf("%s has no _test.yaml", base)
		}
		if !strings.Contains(string(index), "]("+base+")") {
			t.Errorf("%s is not listed in pipelines/README.md", base)
		}
	}
}

// TestLintDirWithMissingPlugin: a pipeline whose external plugin is not
// found does not hide the problems of the other pipelines in the
// directory (each file is then linted with its own plugins).
func TestLintDirWithMissingPlugin(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "version: 1\nplugins:\n  - name: nosuchplugin\nsource:\n  type: csv.read\n  path: in/*.csv\nsinks:\n  - type: csv.write\n    path: out/a.csv\n")
	write("b.yaml", "version: 1\nsource:\n  type: csv.read\n  path: in/*.csv\n  delimter: \";\"\nsinks:\n  - type: csv.write\n    path: out/b.csv\n")
	code, out, errs := runCLI(t, "lint", "--plugin-dir", filepath.Join(dir, "none"), dir)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(errs, `plugin "nosuchplugin" not found`) || !strings.Contains(out, `b.yaml:5:3: error: unknown key "delimter"`) || !strings.Contains(errs, "2 files checked: 2 errors") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errs)
	}
}

// TestTestDirWithMissingPlugin: `kontor test DIR` still tests the other
// pipelines when one pipeline's plugin is not found, and exits 2.
// Regression: the pipeline that could not load counts as failed in the
// summary line (it said "1 passed, 0 failed") and its FAIL line carries the
// error; the same holds when it is the only pipeline given.
func TestTestDirWithMissingPlugin(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pipeline := "version: 1\n%ssource:\n  type: csv.read\n  path: in/*.csv\nsinks:\n  - type: csv.write\n    path: out/x.csv\n"
	tests := "cases:\n  - name: one record\n    inputs:\n      - path: in/a.csv\n        content: \"a\\n1\\n\"\n    status: OK\n"
	write("a.yaml", strings.Replace(pipeline, "%s", "plugins:\n  - name: nosuchplugin\n", 1))
	write("a_test.yaml", tests)
	write("b.yaml", strings.Replace(pipeline, "%s", "", 1))
	write("b_test.yaml", tests)
	failLine := regexp.MustCompile(`(?m)^FAIL \S*a\.yaml: not run: its plugins could not be loaded\n    \S*a\.yaml:3:5: error: plugin "nosuchplugin" not found`)
	for _, tc := range []struct {
		arg, summary string
	}{
		{dir, "1 passed, 1 failed\n"},
		{filepath.Join(dir, "a.yaml"), "0 passed, 1 failed\n"},
	} {
		code, out, errs := runCLI(t, "test", "--plugin-dir", filepath.Join(dir, "none"), tc.arg)
		if code != 2 || !failLine.MatchString(out) || !strings.HasSuffix(out, tc.summary) {
			t.Errorf("kontor test %s: exit %d, want 2 and %q\nstdout:\n%s\nstderr:\n%s", tc.arg, code, tc.summary, out, errs)
		}
		if tc.arg == dir && !strings.Contains(out, "ok   "+filepath.Join(dir, "b.yaml")+": one record") {
			t.Errorf("b.yaml was not tested:\n%s", out)
		}
	}
}
