// Package pipetest runs pipeline tests: for a pipeline file <name>.yaml, a
// sibling <name>_test.yaml lists cases. Each case runs the pipeline in a
// fresh temporary directory (a copy of the pipeline plus the case's
// inputs) with a fixed clock, an in-memory state store and only the
// environment variables the case sets, then checks the status, the reject
// count and the outputs. Nothing in the repository changes (except the
// want files with Options.Update).
//
// Test file format:
//
//	cases:
//	  - name: monthly export              # required, unique
//	    now: 2026-11-23T10:00:00+01:00    # run clock (default 2026-01-01T12:00:00Z)
//	    env: {API_TOKEN: test}            # ${env:...} values (nothing else is visible)
//	    dry_run: false
//	    inputs:                           # files put in place, paths relative to the pipeline
//	      - ../testdata/abo/abos.csv      # copied from the same path relative to the test file
//	      - path: in/extra.csv
//	        from: fixtures/extra.csv      # copied from here (relative to the test file)
//	      - path: in/inline.csv
//	        content: "a;b\n1;2\n"         # or given inline
//	    status: WARNING                   # OK (default), WARNING or ERROR
//	    rejects: 3                        # total rejects (checked when given)
//	    error: "no input matches"         # substring of the run error (ERROR cases)
//	    outputs:                          # paths relative to the pipeline, after {date} etc.
//	      out/abos_20261123.csv:
//	        want: abo-export_test/abos.csv   # byte-exact compare (relative to the test file)
//	      out/abos_20261123.csv.rejects.csv:
//	        records: 3                       # records written (from the run report)
//	        contains: ["DE00 1234"]          # substrings of the file
//	    absent: [out/partial.csv]         # files that must not exist after the run
//	    http:                             # HTTP stubs on 127.0.0.1 (see Stub)
//	      - {env: API_URL, path: /import, requests: 1, want: x_test/push.json}
package pipetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
)

// DefaultNow is the clock of a case without `now:`.
var DefaultNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// File is a parsed test file.
type File struct {
	Cases []Case `yaml:"cases"`
}

// Case is one test case (see the package doc).
type Case struct {
	Name    string            `yaml:"name"`
	Now     string            `yaml:"now"`
	Env     map[string]string `yaml:"env"`
	DryRun  bool              `yaml:"dry_run"`
	Inputs  []Input           `yaml:"inputs"`
	Status  string            `yaml:"status"`
	Rejects *int64            `yaml:"rejects"`
	Error   string            `yaml:"error"`
	Outputs map[string]Expect `yaml:"outputs"`
	Absent  []string          `yaml:"absent"`
	HTTP    []Stub            `yaml:"http"` // HTTP stubs (see Stub)
}

// Input is a file put in place before the run.
type Input struct {
	Path    string  `yaml:"path"`
	From    string  `yaml:"from"`
	Content *string `yaml:"content"`
}

// UnmarshalYAML accepts a plain path as well as a mapping.
func (in *Input) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		in.Path = n.Value
		return nil
	}
	type plain Input
	return n.Decode((*plain)(in))
}

// Expect is what an output must look like.
type Expect struct {
	Want     string   `yaml:"want"`
	Records  *int64   `yaml:"records"`
	Contains []string `yaml:"contains"`
}

// Options configure a test run.
type Options struct {
	Registry spec.Registry
	// LoadOptions returns the loader options for a case with clock now
	// (e.g. the expression function library); Env and Now are set by the
	// case. nil: spec.LoadOptions{}.
	LoadOptions func(now func() time.Time) spec.LoadOptions
	// Update rewrites the `want` files from the actual outputs.
	Update bool
	// Out receives one line per case ("ok ..." or "FAIL ..." plus details).
	Out io.Writer
	// Verbose also prints the run error of cases that passed.
	Verbose bool
}

// Result of one case.
type Result struct {
	Pipeline string
	Case     string
	Failures []string
	Duration time.Duration
}

// OK reports whether the case passed.
func (r Result) OK() bool { return len(r.Failures) == 0 }

// Find returns the pipeline files under paths (files or directories,
// walked recursively) that have a sibling _test.yaml, sorted. A named
// pipeline file without a test file is an error.
func Find(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if _, err := os.Stat(TestFileOf(p)); err != nil {
				return nil, fmt.Errorf("%s has no test file %s", p, TestFileOf(p))
			}
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, "_test.yaml") || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return nil
			}
			if _, err := os.Stat(TestFileOf(path)); err == nil {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// TestFileOf returns the test file of a pipeline file: x.yaml -> x_test.yaml.
func TestFileOf(pipeline string) string {
	ext := filepath.Ext(pipeline)
	return strings.TrimSuffix(pipeline, ext) + "_test" + ext
}

// Run runs the tests of every pipeline found under paths, prints one line
// per case to opts.Out and returns the results. err is for problems that
// stop everything (unreadable paths); failing cases are in the results.
func Run(ctx context.Context, paths []string, opts Options) ([]Result, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	files, err := Find(paths...)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no pipeline with a _test.yaml found in %s", strings.Join(paths, " "))
	}
	var all []Result
	for _, f := range files {
		rs := RunPipeline(ctx, f, opts)
		for _, r := range rs {
			if r.OK() {
				fmt.Fprintf(opts.Out, "ok   %s: %s (%.2fs)\n", r.Pipeline, r.Case, r.Duration.Seconds())
			} else {
				fmt.Fprintf(opts.Out, "FAIL %s: %s (%.2fs)\n", r.Pipeline, r.Case, r.Duration.Seconds())
				for _, m := range r.Failures {
					fmt.Fprintf(opts.Out, "    %s\n", strings.ReplaceAll(m, "\n", "\n    "))
				}
			}
		}
		all = append(all, rs...)
		if ctx.Err() != nil {
			return all, ctx.Err()
		}
	}
	return all, nil
}

// RunPipeline runs the cases of one pipeline file.
func RunPipeline(ctx context.Context, pipeline string, opts Options) []Result {
	testFile := TestFileOf(pipeline)
	src, err := os.ReadFile(testFile)
	if err != nil {
		return []Result{{Pipeline: pipeline, Case: "(test file)", Failures: []string{err.Error()}}}
	}
	var tf File
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return []Result{{Pipeline: pipeline, Case: "(test file)", Failures: []string{testFile + ": " + err.Error()}}}
	}
	if len(tf.Cases) == 0 {
		return []Result{{Pipeline: pipeline, Case: "(test file)", Failures: []string{testFile + ": no cases"}}}
	}
	seen := map[string]bool{}
	var out []Result
	for i, c := range tf.Cases {
		if c.Name == "" {
			c.Name = fmt.Sprintf("case %d", i+1)
		}
		t0 := time.Now()
		var fails []string
		if seen[c.Name] {
			fails = append(fails, fmt.Sprintf("duplicate case name %q", c.Name))
		} else {
			seen[c.Name] = true
			fails = runCase(ctx, pipeline, testFile, c, opts)
		}
		out = append(out, Result{Pipeline: pipeline, Case: c.Name, Failures: fails, Duration: time.Since(t0)})
	}
	return out
}

func runCase(ctx context.Context, pipeline, testFile string, c Case, opts Options) (fails []string) {
	now := DefaultNow
	if c.Now != "" {
		t, err := parseTime(c.Now)
		if err != nil {
			return []string{"now: " + err.Error()}
		}
		now = t
	}
	testDir := filepath.Dir(testFile)
	// Nest the pipeline deep enough that "../x" inputs stay inside the root.
	depth := 0
	rels := make([]string, 0, len(c.Inputs)+len(c.Outputs)+len(c.Absent))
	for _, in := range c.Inputs {
		rels = append(rels, in.Path)
	}
	for p := range c.Outputs {
		rels = append(rels, p)
	}
	rels = append(rels, c.Absent...)
	for _, r := range rels {
		if filepath.IsAbs(r) {
			return []string{fmt.Sprintf("path %s: must be relative to the pipeline", r)}
		}
		depth = max(depth, upLevels(r))
	}
	root, err := os.MkdirTemp("", "kontor-test-*")
	if err != nil {
		return []string{err.Error()}
	}
	defer os.RemoveAll(root)
	dir := root
	for i := 0; i < depth; i++ {
		dir = filepath.Join(dir, fmt.Sprintf("d%d", i))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return []string{err.Error()}
	}
	pdata, err := os.ReadFile(pipeline)
	if err != nil {
		return []string{err.Error()}
	}
	pfile := filepath.Join(dir, filepath.Base(pipeline))
	if err := os.WriteFile(pfile, pdata, 0o644); err != nil {
		return []string{err.Error()}
	}
	for _, in := range c.Inputs {
		if in.Path == "" {
			return []string{"input without path"}
		}
		var data []byte
		switch {
		case in.Content != nil:
			data = []byte(*in.Content)
		default:
			from := in.From
			if from == "" {
				from = in.Path
			}
			data, err = os.ReadFile(filepath.Join(testDir, from))
			if err != nil {
				return []string{"input: " + err.Error()}
			}
		}
		dst := filepath.Join(dir, in.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return []string{err.Error()}
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return []string{err.Error()}
		}
	}

	clock := func() time.Time { return now }
	envs := map[string]string{}
	for k, v := range c.Env {
		envs[k] = v
	}
	stubs, err := startStubs(c.HTTP, envs)
	if err != nil {
		return []string{err.Error()}
	}
	defer closeStubs(stubs)
	env := func(name string) (string, bool) { v, ok := envs[name]; return v, ok }
	var lo spec.LoadOptions
	if opts.LoadOptions != nil {
		lo = opts.LoadOptions(clock)
	}
	lo.Env, lo.Now = env, clock
	p, ds := spec.LoadFile(pfile, opts.Registry, lo)
	if ds.HasErrors() {
		var b strings.Builder
		ds.Sort()
		for _, d := range ds.Errors() {
			d.Pos.File = relTo(d.Pos.File, dir, pipeline)
			b.WriteString(d.String() + "\n")
		}
		return []string{"pipeline does not load:\n" + strings.TrimRight(b.String(), "\n")}
	}
	rep, runErr := runner.Run(ctx, p, runner.Options{Now: clock, Store: state.NewMemory(), DryRun: c.DryRun})

	want := strings.ToUpper(c.Status)
	if want == "" {
		want = "OK"
	}
	if rep.Status != want {
		msg := fmt.Sprintf("status %s, want %s", rep.Status, want)
		if runErr != nil {
			msg += ": " + strings.ReplaceAll(runErr.Error(), dir+string(filepath.Separator), "")
		}
		fails = append(fails, msg)
	}
	if c.Error != "" && (runErr == nil || !strings.Contains(runErr.Error(), c.Error)) {
		fails = append(fails, fmt.Sprintf("error %v, want it to contain %q", runErr, c.Error))
	}
	if c.Rejects != nil && rep.RejectsTotal != *c.Rejects {
		msg := fmt.Sprintf("%d rejects, want %d", rep.RejectsTotal, *c.Rejects)
		for i, r := range rep.Rejects {
			if i == 5 {
				msg += "\n  ..."
				break
			}
			msg += fmt.Sprintf("\n  %s: %s: %s: %s", r.Origin, r.Step, r.Field, r.Reason)
		}
		fails = append(fails, msg)
	}
	records := map[string]int64{}
	for _, o := range rep.Outputs {
		records[filepath.Clean(o.Path)] = o.Records
	}
	for _, path := range sortedKeys(c.Outputs) {
		exp := c.Outputs[path]
		actual := filepath.Join(dir, path)
		got, err := os.ReadFile(actual)
		if err != nil {
			fails = append(fails, fmt.Sprintf("output %s: not written", path))
			continue
		}
		if exp.Want != "" {
			wantFile := filepath.Join(testDir, exp.Want)
			if opts.Update {
				if err := os.MkdirAll(filepath.Dir(wantFile), 0o755); err == nil {
					err = os.WriteFile(wantFile, got, 0o644)
				}
				if err != nil {
					fails = append(fails, "updating "+wantFile+": "+err.Error())
				}
			} else if wb, err := os.ReadFile(wantFile); err != nil {
				fails = append(fails, fmt.Sprintf("output %s: %v (run with -update to create it)", path, err))
			} else if d := Diff(got, wb); d != "" {
				fails = append(fails, fmt.Sprintf("output %s differs from %s:\n%s", path, exp.Want, d))
			}
		}
		if exp.Records != nil {
			if n, ok := records[filepath.Clean(actual)]; !ok {
				fails = append(fails, fmt.Sprintf("output %s: not in the run report", path))
			} else if n != *exp.Records {
				fails = append(fails, fmt.Sprintf("output %s: %d records, want %d", path, n, *exp.Records))
			}
		}
		for _, s := range exp.Contains {
			if !bytes.Contains(got, []byte(s)) {
				fails = append(fails, fmt.Sprintf("output %s does not contain %q", path, s))
			}
		}
	}
	for _, path := range c.Absent {
		if _, err := os.Stat(filepath.Join(dir, path)); !errors.Is(err, os.ErrNotExist) {
			fails = append(fails, fmt.Sprintf("%s exists, want it absent", path))
		}
	}
	fails = append(fails, checkStubs(stubs, testDir, opts.Update)...)
	return fails
}

func relTo(file, dir, pipeline string) string {
	if strings.HasPrefix(file, dir+string(filepath.Separator)) {
		return filepath.Join(filepath.Dir(pipeline), strings.TrimPrefix(file, dir+string(filepath.Separator)))
	}
	return file
}

// upLevels is how far a relative path climbs above its base ("../../x": 2).
func upLevels(p string) int {
	depth, maxUp := 0, 0
	for _, part := range strings.Split(filepath.ToSlash(filepath.Clean(p)), "/") {
		switch part {
		case "..":
			depth--
		case ".", "":
		default:
			depth++
		}
		maxUp = max(maxUp, -depth)
	}
	return maxUp
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q (want RFC 3339, e.g. 2026-11-23T10:00:00+01:00, or YYYY-MM-DD)", s)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Diff returns "" when got and want are equal, else an excerpt around the
// first differing line (line endings and non-printable bytes made visible).
func Diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	gl, wl := splitLines(got), splitLines(want)
	i := 0
	for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d (got %d lines, want %d):", i+1, len(gl), len(wl))
	for j := max(0, i-1); j < i+3; j++ {
		g, w := "(none)", "(none)"
		if j < len(gl) {
			g = fmt.Sprintf("%q", gl[j])
		}
		if j < len(wl) {
			w = fmt.Sprintf("%q", wl[j])
		}
		if j >= len(gl) && j >= len(wl) {
			break
		}
		mark := " "
		if g != w {
			mark = "!"
		}
		fmt.Fprintf(&b, "\n%s %4d got:  %s\n%s      want: %s", mark, j+1, g, mark, w)
	}
	return b.String()
}

// splitLines splits after each "\n", keeping the line endings.
func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}
