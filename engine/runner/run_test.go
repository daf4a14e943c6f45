package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var fixedNow = time.Date(2026, 11, 23, 14, 5, 9, 0, time.UTC)

func clock() time.Time { return fixedNow }

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// listFiles returns all files under dir (relative, sorted), hidden ones too.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
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

// linesPipeline: read in/*.txt -> transforms -> write out/result_{date}.txt.
func linesPipeline(dir string, transforms ...*spec.Step) *spec.Pipeline {
	src := step("source", 0, "t.read", linesReadComp(), nil)
	src.Path = "in/*.txt"
	sink := step("sinks", 0, "t.write", linesWriteComp(), nil)
	sink.Path = "out/result_{date}.txt"
	return &spec.Pipeline{Name: "lines", File: filepath.Join(dir, "lines.yaml"), Dir: dir,
		Source: src, Transforms: transforms, Sinks: []*spec.Step{sink}, OnError: spec.ErrorPolicy{Policy: "reject"}}
}

func TestRunFileToFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/b.txt": "b1\nb2\n", "in/a.txt": "a1\ndrop\na3\n"})
	drop := step("transforms", 0, "t.func", funcComp(func(r record.Record) (bool, string) {
		return r.Value("line").String() != "drop", ""
	}), nil)
	p := linesPipeline(dir, drop)
	rep, err := Run(context.Background(), p, Options{Now: clock, ReportPath: filepath.Join(dir, "report.json")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != "OK" || rep.ExitCode != 0 {
		t.Fatalf("status %s/%d", rep.Status, rep.ExitCode)
	}
	got := readFile(t, filepath.Join(dir, "out/result_20261123.txt"))
	if want := "# header\na1\na3\nb1\nb2\n# 4 records\n"; got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt,in/b.txt,out/result_20261123.txt,report.json" {
		t.Errorf("files: %v", files)
	}
	want := []StepReport{
		{ID: "source", Type: "t.read", Section: "source", In: 5, Out: 5},
		{ID: "transforms[0]", Type: "t.func", Section: "transforms", In: 5, Out: 4, Filtered: 1},
		{ID: "sinks[0]", Type: "t.write", Section: "sinks", In: 4, Out: 4},
	}
	for i := range rep.Steps {
		rep.Steps[i].DurationMS = 0
	}
	if g, w := jsonOf(rep.Steps), jsonOf(want); g != w {
		t.Errorf("steps:\n%s\nwant\n%s", g, w)
	}
	if len(rep.Outputs) != 1 || rep.Outputs[0].Records != 4 || rep.Outputs[0].Bytes != int64(len(got)) || len(rep.Outputs[0].SHA256) != 64 {
		t.Errorf("outputs: %+v", rep.Outputs)
	}
	var onDisk Report
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "report.json"))), &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.Status != "OK" || onDisk.RunID == "" || onDisk.Pipeline != "lines" {
		t.Errorf("report on disk: %+v", onDisk)
	}
}

func jsonOf(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }

func TestRunRejectsWarning(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "ok1\n!bad source\nbad transform\nok2\n"})
	tr := step("transforms", 0, "t.func", funcComp(func(r record.Record) (bool, string) {
		if strings.HasPrefix(r.Value("line").String(), "bad") {
			return false, "no bad lines"
		}
		return true, ""
	}), nil)
	tr.ID = "check"
	p := linesPipeline(dir, tr)
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != "WARNING" || rep.ExitCode != 3 || rep.RejectsTotal != 2 {
		t.Fatalf("status %s/%d rejects %d", rep.Status, rep.ExitCode, rep.RejectsTotal)
	}
	rej := readFile(t, filepath.Join(dir, "out/result_20261123.txt.rejects.csv"))
	want := `origin,step,field,reason,record
in/a.txt:2:1,source,line,line starts with !,"{""line"":""!bad source""}"
in/a.txt:3:1,check,name,no bad lines,"{""line"":""bad transform""}"
`
	if rej != want {
		t.Errorf("rejects:\n%s\nwant:\n%s", rej, want)
	}
	if rep.RejectsFile == "" || len(rep.Rejects) != 2 || rep.Rejects[1].Step != "check" || rep.Rejects[0].Origin != "in/a.txt:2:1" {
		t.Errorf("report rejects: %+v file %q", rep.Rejects, rep.RejectsFile)
	}
}

func TestRunSinkRejectsAndRouting(t *testing.T) {
	var matched, all []record.Record
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 10})
	even := step("sinks", 0, "t.mem", memSinkComp(&matched), nil)
	even.When = expr("id % 2 == 0", func(r record.Record) (record.Value, error) {
		return record.Bool(r.Value("id").Int()%2 == 0), nil
	})
	big := step("sinks", 1, "t.mem", memSinkComp(&all), nil)
	big.When = expr("id > 7", func(r record.Record) (record.Value, error) {
		if r.Value("id").Int() == 9 {
			return record.String("x"), nil
		}
		return record.Bool(r.Value("id").Int() > 7), nil
	})
	p := &spec.Pipeline{Name: "route", Dir: t.TempDir(), Source: src, Sinks: []*spec.Step{even, big}}
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// even: 2,4,6,8,10; big: 8,10 (9 rejected: not bool); unrouted: 1,3,5,7 (9 was rejected by when but is unrouted too)
	if len(matched) != 5 || len(all) != 2 {
		t.Errorf("matched %d all %d", len(matched), len(all))
	}
	if rep.Unrouted != 5 || rep.RejectsTotal != 1 || rep.Status != "WARNING" {
		t.Errorf("unrouted %d rejects %d status %s", rep.Unrouted, rep.RejectsTotal, rep.Status)
	}
	if rep.Rejects[0].Field != "when" || rep.Rejects[0].Step != "sinks[1]" {
		t.Errorf("reject %+v", rep.Rejects[0])
	}
	// No file sink: the reject file sits next to the pipeline.
	if rep.RejectsFile != filepath.Join(p.Dir, "route.rejects.csv") {
		t.Errorf("rejects file %q", rep.RejectsFile)
	}
}

func TestRunPolicyFail(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "ok\n!bad\nok\n"})
	p := linesPipeline(dir)
	p.OnError.Policy = "fail"
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 1 || rep.Status != "ERROR" {
		t.Fatalf("err %v status %s/%d", err, rep.Status, rep.ExitCode)
	}
	if !strings.Contains(err.Error(), "in/a.txt:2:1: source: line: line starts with !") {
		t.Errorf("err = %v", err)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt" {
		t.Errorf("files left: %v", files)
	}
}

func TestRunMaxRejects(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "!1\n!2\n!3\nok\n"})
	p := linesPipeline(dir)
	p.OnError.MaxRejects = 2
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 1 || !strings.Contains(err.Error(), "more than 2 records rejected") {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt" {
		t.Errorf("files left: %v", files)
	}
	p.OnError.MaxRejects = 3
	rep, err = Run(context.Background(), p, Options{Now: clock})
	if err != nil || rep.ExitCode != 3 {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
}

func TestRunNoInput(t *testing.T) {
	dir := t.TempDir()
	p := linesPipeline(dir)
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 1 || !strings.Contains(err.Error(), "no input matches in/*.txt") {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}

	// A directory that matches is named, with the glob that reads it.
	if err := os.MkdirAll(filepath.Join(dir, "in", "batch.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err = Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 1 || !strings.Contains(err.Error(), ": in/batch.txt is a directory (read the files in it with a glob such as in/batch.txt/*)") {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
}

func TestRunSinkFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": strings.Repeat("x\n", 5000), "out/result_20261123.txt": "old\n"})
	p := linesPipeline(dir)
	p.BatchSize = 100
	p.Sinks[0].Config = sdk.Config{"fail_at": 2500}
	st := state.NewMemory()
	rep, err := Run(context.Background(), p, Options{Now: clock, Store: st})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || rep.ExitCode != 1 {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt,out/result_20261123.txt" {
		t.Errorf("files: %v", files)
	}
	if got := readFile(t, filepath.Join(dir, "out/result_20261123.txt")); got != "old\n" {
		t.Errorf("existing output touched: %q", got)
	}
	h, _ := st.History(context.Background(), 0)
	if len(h) != 1 || h[0].Status != state.StatusError || !strings.Contains(h[0].Error, "disk on fire") {
		t.Errorf("history %+v", h)
	}
}

func TestRunCancel(t *testing.T) {
	dir := t.TempDir()
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 100000, "block_at": 5000})
	sink := step("sinks", 0, "t.write", linesWriteComp(), nil)
	sink.Path = "out/x.txt"
	p := &spec.Pipeline{Name: "cancel", Dir: dir, Source: src, Sinks: []*spec.Step{sink}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rep, err := Run(ctx, p, Options{Now: clock})
	if err == nil || rep.ExitCode != 1 || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestRunSourceError(t *testing.T) {
	dir := t.TempDir()
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 5000, "fail_at": 3000})
	sink := step("sinks", 0, "t.write", linesWriteComp(), nil)
	sink.Path = "out/x.txt"
	p := &spec.Pipeline{Name: "srcerr", Dir: dir, Source: src, Sinks: []*spec.Step{sink}}
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 1 || err.Error() != "source t.gen: generator broke" {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestRunDryRun(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "l1\nl2\n!r\nl3\nl4\nl5\nl6\n"})
	p := linesPipeline(dir)
	var out bytes.Buffer
	st := state.NewMemory()
	rep, err := Run(context.Background(), p, Options{Now: clock, DryRun: true, Stdout: &out, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != "WARNING" || !rep.DryRun || len(rep.Outputs) != 2 || rep.Outputs[0].Records != 6 {
		t.Errorf("report %+v", rep)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt" {
		t.Errorf("dry run wrote files: %v", files)
	}
	want := "dry run of lines: nothing written, state unchanged\n" +
		"sinks[0] t.write: would write " + filepath.Join(dir, "out/result_20261123.txt") + ": 6 records, 39 bytes\n" +
		"  {line: l1}\n  {line: l2}\n  {line: l3}\n  {line: l4}\n  {line: l5}\n  ... 1 more\n" +
		"rejects: would write " + filepath.Join(dir, "out/result_20261123.txt.rejects.csv") + ": 1 rejects\n"
	if out.String() != want {
		t.Errorf("preview:\n%s\nwant:\n%s", out.String(), want)
	}
	h, _ := st.History(context.Background(), 0)
	if len(h) != 1 || !h[0].DryRun {
		t.Errorf("history %+v", h)
	}
}

func TestRunInvalidFieldErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "x\n"})
	p := linesPipeline(dir)
	p.Sinks[0].Config = sdk.Config{"bad": "yes"}
	p.Sinks[0].SetPositions(map[string]diag.Pos{"bad": {File: "lines.yaml", Line: 12, Col: 10}})
	rep, err := Run(context.Background(), p, Options{Now: clock})
	var inv *InvalidError
	if !errors.As(err, &inv) || rep.ExitCode != 2 || rep.Status != StatusInvalid || ExitCode(err) != 2 {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
	if got := err.Error(); got != "lines.yaml:12:10: error: sinks[0] t.write: bad: must be empty [config]" {
		t.Errorf("err = %s", got)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt" {
		t.Errorf("files left: %v", files)
	}
}

func TestRunPathTemplate(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "x\n"})
	p := linesPipeline(dir)
	p.Sinks[0].Path = "out/{name}_{date}_{time}_{run}.txt"
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "out/lines_20261123_140509_"+rep.RunID+".txt"); rep.Outputs[0].Path != want {
		t.Errorf("path %s, want %s", rep.Outputs[0].Path, want)
	}
	p.Sinks[0].Path = "out/{dat}.txt"
	rep, err = Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 2 || !strings.Contains(err.Error(), "unknown placeholder {dat}") {
		t.Errorf("err %v exit %d", err, rep.ExitCode)
	}
	// Two sinks writing one file.
	p.Sinks[0].Path = "out/x.txt"
	s2 := step("sinks", 1, "t.write", linesWriteComp(), nil)
	s2.Path = "out/x.txt"
	p.Sinks = append(p.Sinks, s2)
	rep, err = Run(context.Background(), p, Options{Now: clock})
	if err == nil || rep.ExitCode != 2 || !strings.Contains(err.Error(), "which sinks[0] t.write writes too") {
		t.Errorf("err %v exit %d", err, rep.ExitCode)
	}
}

func TestRunEmptySinkWritesHeader(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "drop\n"})
	p := linesPipeline(dir, step("transforms", 0, "t.func", funcComp(func(record.Record) (bool, string) { return false, "" }), nil))
	if _, err := Run(context.Background(), p, Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "out/result_20261123.txt")); got != "# header\n# 0 records\n" {
		t.Errorf("got %q", got)
	}
}

func TestRunLocked(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "x\n"})
	st := state.NewMemory()
	unlock, err := st.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	rep, err := Run(context.Background(), linesPipeline(dir), Options{Now: clock, Store: st})
	if err == nil || rep.ExitCode != 4 || rep.Status != StatusLocked || ExitCode(err) != 4 {
		t.Fatalf("err %v exit %d", err, rep.ExitCode)
	}
}

func TestRunRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"in/a.txt":                                   "x\n",
		"out/.result_20261101.txt.7.tmp":             "partial",
		"out/.result_20261101.txt.7.tmp.123.tmp":     "scratch",
		"out/.result_20261101.txt.rejects.csv.7.tmp": "partial rejects",
		"out/.other.txt.7.tmp":                       "not ours",
		"out/result_20261101.txt":                    "an earlier output",
	})
	if _, err := Run(context.Background(), linesPipeline(dir), Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	want := "in/a.txt,out/.other.txt.7.tmp,out/result_20261101.txt,out/result_20261123.txt"
	if files := listFiles(t, dir); strings.Join(files, ",") != want {
		t.Errorf("files %v, want %s", files, want)
	}
}

func TestRunSecretsRedacted(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "!token s3cr3t-value here\n"})
	p := linesPipeline(dir)
	p.Secrets = []string{"s3cr3t-value"}
	var logs bytes.Buffer
	rep, err := Run(context.Background(), p, Options{Now: clock, ReportPath: filepath.Join(dir, "r.json"),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"rejects": readFile(t, rep.RejectsFile), "report": readFile(t, filepath.Join(dir, "r.json")), "log": logs.String(),
	} {
		if strings.Contains(text, "s3cr3t") {
			t.Errorf("%s leaks the secret:\n%s", name, text)
		}
	}
	if !strings.Contains(readFile(t, rep.RejectsFile), "!token *** here") {
		t.Errorf("rejects: %s", readFile(t, rep.RejectsFile))
	}
	// Errors too.
	p.OnError.Policy = "fail"
	_, err = Run(context.Background(), p, Options{Now: clock})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("err = %v", err)
	}
}

// stateComp is a transform that counts runs in a checkpoint and reserves a
// sequence number per record.
func stateComp(seen *[]string) sdk.Component {
	return sdk.Component{Name: "st", Kind: sdk.KindTransform,
		NewTransform: func(ctx context.Context, _ sdk.Config, env sdk.Env) (sdk.Transform, error) {
			v, _, err := env.State.Get(ctx, "runs")
			if err != nil {
				return nil, err
			}
			*seen = append(*seen, v)
			n := len(v) + 1
			if err := env.State.Put(ctx, "runs", strings.Repeat("x", n)); err != nil {
				return nil, err
			}
			return funcTransform{f: func(record.Record) (bool, string) { return true, "" }}, nil
		}}
}

func TestRunStateCommitted(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "x\n"})
	st := state.NewMemory()
	var seen []string
	p := linesPipeline(dir, step("transforms", 0, "t.st", stateComp(&seen), nil))
	run := func(o Options) {
		o.Now, o.Store = clock, st
		Run(context.Background(), p, o)
	}
	run(Options{})             // commits "x"
	run(Options{DryRun: true}) // sees "x", writes nothing
	p.Sinks[0].Config = sdk.Config{"fail_at": 0, "bad": ""}
	p.OnError.Policy = "fail"
	writeFiles(t, dir, map[string]string{"in/a.txt": "!x\n"})
	run(Options{}) // fails: sees "x", commits nothing
	writeFiles(t, dir, map[string]string{"in/a.txt": "x\n"})
	run(Options{}) // sees "x", commits "xx"
	run(Options{}) // sees "xx"
	if got := strings.Join(seen, ","); got != ",x,x,x,xx" {
		t.Errorf("checkpoints seen: %s", got)
	}
	h, _ := st.History(context.Background(), 0)
	var sts []string
	for i := len(h) - 1; i >= 0; i-- {
		sts = append(sts, string(h[i].Status))
	}
	if got := strings.Join(sts, ","); got != "OK,OK,ERROR,OK,OK" {
		t.Errorf("history: %s", got)
	}
}

func TestRunFlusherAndClose(t *testing.T) {
	var got []record.Record
	closed := 0
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 2500})
	hold := step("transforms", 0, "t.hold", sdk.Component{Name: "hold", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return &holdTransform{}, nil }}, nil)
	count := step("transforms", 1, "t.count", sdk.Component{Name: "count", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) {
			return funcTransform{f: func(record.Record) (bool, string) { return true, "" }, closed: &closed}, nil
		}}, nil)
	sink := step("sinks", 0, "t.mem", memSinkComp(&got), nil)
	p := &spec.Pipeline{Name: "flush", Dir: t.TempDir(), Source: src, Transforms: []*spec.Step{hold, count}, Sinks: []*spec.Step{sink}}
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2500 || got[0].Value("id").Int() != 2500 || got[2499].Value("id").Int() != 1 {
		t.Errorf("got %d records", len(got))
	}
	if closed != 1 {
		t.Errorf("transform closed %d times", closed)
	}
	if rep.Steps[1].In != 2500 || rep.Steps[1].Out != 2500 || rep.Steps[2].In != 2500 {
		t.Errorf("steps %+v", rep.Steps)
	}
}

func TestRunIncrementalSince(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "x\n"})
	var sinces []time.Time
	sp := step("transforms", 0, "t.since", sdk.Component{Name: "since", Kind: sdk.KindTransform,
		NewTransform: func(_ context.Context, _ sdk.Config, env sdk.Env) (sdk.Transform, error) {
			sinces = append(sinces, env.Since)
			return funcTransform{f: func(record.Record) (bool, string) { return true, "" }}, nil
		}}, nil)
	p := linesPipeline(dir, sp)
	p.State = spec.StateOptions{Incremental: true, Overlap: time.Minute}
	st := state.NewMemory()
	t1 := fixedNow
	t2 := fixedNow.Add(time.Hour)
	Run(context.Background(), p, Options{Now: func() time.Time { return t1 }, Store: st})
	rep, _ := Run(context.Background(), p, Options{Now: func() time.Time { return t2 }, Store: st})
	override := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	Run(context.Background(), p, Options{Now: func() time.Time { return t2 }, Store: st, Since: override})
	if len(sinces) != 3 || !sinces[0].IsZero() || !sinces[1].Equal(t1.Add(-time.Minute)) || !sinces[2].Equal(override) {
		t.Errorf("sinces %v", sinces)
	}
	if rep.Since == nil || !rep.Since.Equal(t1.Add(-time.Minute)) {
		t.Errorf("report since %v", rep.Since)
	}
}

func TestRunSinkRejects(t *testing.T) {
	dir := t.TempDir()
	src := step("source", 0, "t.gen", genComp(), sdk.Config{"n": 12})
	sink := step("sinks", 0, "t.write", linesWriteComp(), sdk.Config{"reject": "name1"})
	sink.Path = "out/x.txt"
	p := &spec.Pipeline{Name: "sinkrej", Dir: dir, Source: src, Sinks: []*spec.Step{sink}}
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// name1, name10, name11, name12 refused.
	if rep.RejectsTotal != 4 || rep.Steps[1].In != 12 || rep.Steps[1].Out != 8 || rep.Steps[1].Rejected != 4 || rep.Outputs[0].Records != 8 {
		t.Errorf("report %s", jsonOf(rep))
	}
	want := "origin,step,field,reason,record\n" +
		`gen record 1,sinks[0],name,sink refuses name1,"{""id"":""1"",""name"":""name1"",""amount"":""1.50""}"` + "\n"
	if got := readFile(t, filepath.Join(dir, "out/x.txt.rejects.csv")); !strings.HasPrefix(got, want) {
		t.Errorf("rejects:\n%s", got)
	}
}
