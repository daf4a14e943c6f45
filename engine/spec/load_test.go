package spec

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/expression"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var update = flag.Bool("update", false, "rewrite testdata/diag/*.want")

const diagDir = "../../testdata/diag"

func testOpts() LoadOptions {
	env := map[string]string{"API_TOKEN": "s3cr3t-token", "HOST": "example.org"}
	return LoadOptions{
		Env:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:  func() time.Time { return time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC) },
		Expr: []expression.Option{expression.WithFunctions(ibanValid)},
	}
}

var ibanValid = expression.Function{Name: "iban_valid", Fn: func(a ...any) (any, error) { return strings.HasPrefix(a[0].(string), "DE"), nil },
	Types: []any{new(func(string) bool)}}

func render(ds diag.List, dir string) string {
	var b strings.Builder
	for _, d := range ds {
		d.Snippet = ""
		d.Pos.File = strings.TrimPrefix(filepath.ToSlash(d.Pos.File), filepath.ToSlash(dir)+"/")
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestDiagGolden loads every testdata/diag/<case>.yaml and compares the
// diagnostics with <case>.want (go test -update rewrites them).
func TestDiagGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(diagDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, ds := LoadFile(f, testReg(), testOpts())
			got := render(ds, diagDir)
			wantFile := strings.TrimSuffix(f, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// TestAcceptance pins THE acceptance case independently of the golden
// file: an unknown key, a misspelled plugin, a wrong type and a typo in an
// expression give exactly four positioned errors.
func TestAcceptance(t *testing.T) {
	_, ds := LoadFile(filepath.Join(diagDir, "acceptance.yaml"), testReg(), testOpts())
	want := []string{
		`acceptance.yaml:7:3: error: unknown key "delimter" for csv.read (did you mean "delimiter"?) [unknown-key]`,
		`acceptance.yaml:8:15: error: skip_lines: expected int, got string [type]`,
		`acceptance.yaml:15:38: error: undefined field "amuont" (did you mean "amount"?) [expr]`,
		`acceptance.yaml:17:11: error: unknown component type "csv.wirte" (did you mean "csv.write"?) [unknown-type]`,
	}
	got := strings.Split(strings.TrimSpace(render(ds, diagDir)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const goodPipeline = `version: 1
description: Export active subscriptions.
batch_size: 500
source:
  type: csv.read
  path: in/abos-*.csv
  encoding: windows-1252
  password: ${env:API_TOKEN}
  columns:
    - {name: name, type: string}
    - {name: amount, type: decimal}
    - {name: status}
    - {name: iban}
transforms:
  - type: filter
    name: active-only
    condition: status == "active" && amount > 10
  - type: map
    set: {name: upper(name), total: amount * 2}
    rename: {status: state}
    drop: [iban]
  - type: validate
    rules:
      - field: total
        check: total > 0
        message: total must be positive
sinks:
  - type: csv.write
    name: clean
    path: out/abos-clean.csv
    when: total > 100
  - type: http.post
    url: https://${env:HOST}/api
    token: "${env:API_TOKEN}"
    key: name + "-" + state
on_error: {policy: fail, max_rejects: 100}
state: {incremental: true, overlap: 10m}
schedule: "*/5 * * * *"
`

func TestLoadGood(t *testing.T) {
	p, ds := Load("pipelines/abo-export.yaml", []byte(goodPipeline), testReg(), testOpts())
	if len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", render(ds, ""))
	}
	if p.Name != "abo-export" || p.Version != 1 || p.BatchSize != 500 || p.Dir != "pipelines" || len(p.SHA256) != 64 {
		t.Errorf("pipeline header: %+v", p)
	}
	if p.OnError.Policy != "fail" || p.OnError.MaxRejects != 100 || !p.State.Incremental || p.State.Overlap != 10*time.Minute || p.Schedule != "*/5 * * * *" {
		t.Errorf("options: %+v %+v %q", p.OnError, p.State, p.Schedule)
	}
	if p.Rejects.Path != "out/abos-clean.csv.rejects.csv" {
		t.Errorf("rejects path %q", p.Rejects.Path)
	}
	src := p.Source
	if src.Path != "in/abos-*.csv" || src.Config["encoding"] != "windows-1252" || src.Config["delimiter"] != "," || src.Config["header"] != true {
		t.Errorf("source config: %v", src.Config)
	}
	if got := src.OutSchema.String(); got != "name:string, amount:decimal, status:string, iban:string" {
		t.Errorf("source schema %s", got)
	}
	f := p.Transforms[0]
	if f.ID != "active-only" || f.Exprs["condition"] == nil || f.Exprs["condition"].Pos != (diag.Pos{File: "pipelines/abo-export.yaml", Line: 17, Col: 16}) {
		t.Errorf("filter: %+v %+v", f, f.Exprs["condition"])
	}
	m := p.Transforms[1]
	if got := m.OutSchema.String(); got != "name:string, amount:decimal, state:string, total:decimal" {
		t.Errorf("map schema %s", got)
	}
	if m.ID != "transforms[1]" || m.Exprs["set.total"] == nil || m.Exprs["set.name"] == nil {
		t.Errorf("map exprs %v", m.Exprs)
	}
	if m.PosOf("set.total") != (diag.Pos{File: "pipelines/abo-export.yaml", Line: 19, Col: 37}) {
		t.Errorf("PosOf(set.total) = %v", m.PosOf("set.total"))
	}
	v := p.Transforms[2]
	if v.Exprs["rules[0].check"] == nil || v.InSchema != m.OutSchema {
		t.Errorf("validate %v", v.Exprs)
	}
	s0 := p.Sinks[0]
	if s0.ID != "clean" || s0.When == nil || s0.When.Mode != sdk.ExprBool {
		t.Errorf("sink when %+v", s0.When)
	}
	prog := s0.When.Program.(*expression.Program)
	rec := record.Record{Schema: s0.InSchema, Values: []record.Value{record.String("A"), record.Dec(record.MustDecimal("60")), record.String("active"), record.Dec(record.MustDecimal("120"))}}
	if ok, err := prog.EvalBool(rec); err != nil || !ok {
		t.Errorf("when: %v %v", ok, err)
	}
	s1 := p.Sinks[1]
	if s1.Config["url"] != "https://example.org/api" || s1.Config["token"] != "s3cr3t-token" || s1.Path != "" {
		t.Errorf("http config %v", s1.Config)
	}
	if got := p.Redact("token s3cr3t-token at example.org"); got != "token *** at ***" {
		t.Errorf("Redact = %q", got)
	}
}

func TestExprPositionsByStyle(t *testing.T) {
	head := "version: 1\nsource:\n  type: csv.read\n  path: x.csv\n  columns: [{name: amount, type: decimal}, {name: name}]\ntransforms:\n  - type: filter\n"
	tail := "sinks:\n  - {type: csv.write, path: y.csv}\n"
	tests := []struct {
		name, cond string
		line, col  int
	}{
		{"plain", "    condition: amount > 1 && nmae == \"x\"\n", 8, 30},
		{"double", "    condition: \"amount > 1 && nmae == \\\"x\\\"\"\n", 8, 31},
		{"double-escape", "    condition: \"name == \\\"\\u00e4\\\" && nmae == 1\"\n", 8, 39},
		{"single", "    condition: 'name == ''x'' && nmae == 1'\n", 8, 34},
		{"literal", "    condition: |\n      amount > 1\n        && nmae == \"x\"\n", 10, 12},
		{"folded", "    condition: >-\n      amount > 1 &&\n      nmae == \"x\"\n", 10, 7},
		{"literal-first", "    condition: |-\n      nmae == \"x\"\n", 9, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := Load("p.yaml", []byte(head+tc.cond+tail), testReg(), testOpts())
			if len(ds) != 1 {
				t.Fatalf("want 1 diagnostic, got:\n%s", render(ds, ""))
			}
			d := ds[0]
			if d.Pos.Line != tc.line || d.Pos.Col != tc.col || !strings.Contains(d.Message, `"nmae"`) || d.Hint != `did you mean "name"?` {
				t.Errorf("got %s, want %d:%d\n%s", d, tc.line, tc.col, d.Snippet)
			}
		})
	}
}

func TestLoadOptionsAndErrors(t *testing.T) {
	// A missing env var and an unreadable file are positioned errors.
	src := "version: 1\nsource: {type: csv.read, path: \"a-${env:NOPE}.csv\"}\nsinks:\n  - type: http.post\n    url: ${file:missing.txt}\n"
	_, ds := Load("p.yaml", []byte(src), testReg(), testOpts())
	got := render(ds, "")
	for _, w := range []string{
		`p.yaml:2:35: error: environment variable "NOPE" is not set [interpolation]`,
		`p.yaml:5:10: error: cannot read secret file "missing.txt" [interpolation]`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
	// ${file:...} is relative to the pipeline's directory and trimmed.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src = "version: 1\nsource: {type: csv.read, path: a.csv}\nsinks:\n  - {type: http.post, url: \"https://x/$${literal}\", token: \"${file:token.txt}\"}\n"
	p, ds := Load(filepath.Join(dir, "p.yaml"), []byte(src), testReg(), testOpts())
	if ds.HasErrors() {
		t.Fatal(render(ds, ""))
	}
	if p.Sinks[0].Config["token"] != "tok-123" || p.Sinks[0].Config["url"] != "https://x/${literal}" {
		t.Errorf("config %v", p.Sinks[0].Config)
	}
	// Secret fields are redacted even without interpolation.
	if p.Redact("tok-123") != "***" {
		t.Errorf("not redacted")
	}
	// Strict turns warnings into errors.
	src = "version: 1\nsource: {type: csv.read, path: a.csv, comment: \"#\"}\nsinks: [{type: csv.write, path: b.csv}]\n"
	_, ds = Load("p.yaml", []byte(src), testReg(), testOpts())
	if len(ds) != 1 || ds[0].Severity != diag.Warning || ds.HasErrors() {
		t.Errorf("want one warning, got %s", render(ds, ""))
	}
	o := testOpts()
	o.Strict = true
	_, ds = Load("p.yaml", []byte(src), testReg(), o)
	if !ds.HasErrors() {
		t.Errorf("strict: want error")
	}
}

func TestMapFieldErrors(t *testing.T) {
	p, ds := Load("p.yaml", []byte(goodPipeline), testReg(), testOpts())
	if ds.HasErrors() {
		t.Fatal(render(ds, ""))
	}
	err := sdk.FieldErrors{{Path: "columns[1].type", Message: "bad"}, {Path: "encoding", Message: "worse"}, {Path: "nope.deeper", Message: "x"}}
	got := render(p.Source.MapFieldErrors(err), "")
	want := "p.yaml:11:28: error: csv.read: columns[1].type: bad [config]\n" +
		"p.yaml:7:13: error: csv.read: encoding: worse [config]\n" +
		"p.yaml:5:3: error: csv.read: nope.deeper: x [config]\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if p.Source.PosOf("columns[1]") != (diag.Pos{File: "p.yaml", Line: 11, Col: 7}) {
		t.Errorf("PosOf(columns[1]) = %v", p.Source.PosOf("columns[1]"))
	}
}

func TestUnknownSchemaBindsLater(t *testing.T) {
	src := "version: 1\nsource: {type: csv.read, path: a.csv}\ntransforms:\n  - {type: filter, condition: amount > 10}\n  - {type: filter, condition: uper(x)}\nsinks: [{type: csv.write, path: b.csv}]\n"
	p, ds := Load("p.yaml", []byte(src), testReg(), testOpts())
	got := render(ds, "")
	if got != "p.yaml:5:31: error: unknown function \"uper\" (did you mean \"upper\"?) [expr]\n" {
		t.Fatalf("got %s", got)
	}
	prog := p.Transforms[0].Exprs["condition"].Program.(*expression.Program)
	s := record.MustSchema(record.Field{Name: "amount", Kind: record.KindDecimal})
	ok, err := prog.EvalBool(record.Record{Schema: s, Values: []record.Value{record.Dec(record.MustDecimal("10.01"))}})
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
}

func TestDeterministic(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(diagDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, a := Load("m.yaml", src, testReg(), testOpts())
	for i := 0; i < 5; i++ {
		_, b := Load("m.yaml", src, testReg(), testOpts())
		if render(a, "") != render(b, "") {
			t.Fatal("diagnostics not deterministic")
		}
	}
	var buf bytes.Buffer
	_ = a.WriteText(&buf)
}
