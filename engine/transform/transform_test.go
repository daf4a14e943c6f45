package transform

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/kontor-etl/kontor/engine/expression"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var inSchema = record.MustSchema(
	record.Field{Name: "name", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "status", Kind: record.KindString},
	record.Field{Name: "note", Kind: record.KindString},
)

func rec(line int, name, amount, status string) record.Record {
	a := record.Null
	if amount != "" {
		a = record.Dec(record.MustDecimal(amount))
	}
	return record.Record{Schema: inSchema, Values: []record.Value{record.String(name), a, record.String(status), record.String("n")},
		Origin: record.Origin{File: "in.csv", Line: line, Col: 1}}
}

// build constructs component c from YAML config the way the host does:
// defaults applied, expression fields compiled against in.
func build(t testing.TB, c sdk.Component, yamlCfg string, in *record.Schema) sdk.Transform {
	t.Helper()
	cfg, err := sdk.ParseConfig(c.Spec, yamlCfg)
	if err != nil {
		t.Fatal(err)
	}
	exprs := map[string]*expression.Program{}
	var walk func(fields []sdk.Field, m map[string]any, path string)
	walk = func(fields []sdk.Field, m map[string]any, path string) {
		for _, f := range fields {
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			switch v := m[f.Name].(type) {
			case string:
				if f.Expr != sdk.ExprNone {
					exprs[p] = expression.MustCompile(v, in, f.Expr)
				}
			case map[string]any:
				if f.Expr != sdk.ExprNone {
					for k, e := range v {
						exprs[p+"."+k] = expression.MustCompile(e.(string), in, f.Expr)
					}
				}
			case []any:
				for i, e := range v {
					if mm, ok := e.(map[string]any); ok {
						walk(f.Children, mm, fmt.Sprintf("%s[%d]", p, i))
					}
				}
			}
		}
	}
	walk(c.Spec.Fields, cfg, "")
	env := sdk.Env{Step: "transforms[0] " + c.Name, Expressions: func(path string) sdk.Evaluator {
		if p, ok := exprs[path]; ok {
			return p
		}
		return nil
	}}
	tr, err := c.NewTransform(context.Background(), cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func process(t *testing.T, tr sdk.Transform, rs ...record.Record) *record.Batch {
	t.Helper()
	out := &record.Batch{}
	if err := tr.Process(context.Background(), &record.Batch{Records: rs}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func names(b *record.Batch) string {
	var s []string
	for _, r := range b.Records {
		s = append(s, r.String())
	}
	for _, r := range b.Rejects {
		s = append(s, "REJECT "+r.Error())
	}
	return strings.Join(s, "\n")
}

func TestFilter(t *testing.T) {
	tr := build(t, Filter(), `condition: status == "active" && amount > 10`, inSchema)
	out := process(t, tr,
		rec(2, "a", "10.01", "active"),
		rec(3, "b", "10", "active"),
		rec(4, "c", "99", "paused"),
		rec(5, "d", "", "active"))
	want := "{name: a, amount: 10.01, status: active, note: n}\n" +
		"REJECT in.csv:5:1: transforms[0] filter: condition: >: operation on null value"
	if got := names(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestMap(t *testing.T) {
	tr := build(t, Map(), "set: {name: upper(name), total: amount * 2, gross: amount * 1.19}\nrename: {status: state}\ndrop: [note]\n", inSchema)
	out := process(t, tr, rec(2, "anna", "10.50", "active"), rec(3, "bob", "", "x"), rec(4, "cleo", "1", "y"))
	want := "{name: ANNA, amount: 10.50, state: active, gross: 12.4950, total: 21.00}\n" +
		"{name: CLEO, amount: 1, state: y, gross: 1.19, total: 2}\n" +
		"REJECT in.csv:3:1: transforms[0] map: set.gross: *: operation on null value"
	if got := names(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if s := out.Records[0].Schema; s != out.Records[1].Schema || s.String() != "name:string, amount:decimal, state:string, gross:decimal, total:decimal" {
		t.Errorf("schema %v", s)
	}
	if out.Records[0].Origin.Line != 2 {
		t.Errorf("origin lost")
	}
	// A rename of a missing field is an error when the plan is built.
	tr = build(t, Map(), "rename: {nope: x}\n", inSchema)
	err := tr.Process(context.Background(), &record.Batch{Records: []record.Record{rec(1, "a", "1", "s")}}, &record.Batch{})
	if err == nil || !strings.Contains(err.Error(), `rename.nope: field "nope" is not in the input`) {
		t.Errorf("err = %v", err)
	}
}

func TestMapOutputSchema(t *testing.T) {
	cfg, _ := sdk.ParseConfig(mapSpec, "set: {total: x}\nrename: {name: customer}\ndrop: [notee]\n")
	_, err := mapOutputSchema(cfg, inSchema, func(string) record.Kind { return record.KindDecimal })
	fes, ok := sdk.AsFieldErrors(err)
	if !ok || len(fes) != 1 || fes[0].Path != "drop[0]" || !strings.Contains(fes[0].Message, `did you mean "note"?`) {
		t.Fatalf("err = %v", err)
	}
	cfg, _ = sdk.ParseConfig(mapSpec, "set: {total: x, name: y}\nrename: {status: state}\n")
	s, err := mapOutputSchema(cfg, inSchema, func(p string) record.Kind {
		if p == "set.total" {
			return record.KindDecimal
		}
		return record.KindNull
	})
	if err != nil || s.String() != "name:null, amount:decimal, state:string, note:string, total:decimal" {
		t.Fatalf("schema %v, %v", s, err)
	}
	if s, err := mapOutputSchema(cfg, nil, nil); s != nil || err != nil {
		t.Fatalf("unknown input: %v %v", s, err)
	}
}

func TestValidate(t *testing.T) {
	tr := build(t, Validate(), `rules:
  - field: amount
    check: amount > 0
    message: amount must be positive
  - field: name
    check: len(name) >= 2
    message: name too short
  - check: status in ["active", "paused"]
`, inSchema)
	out := process(t, tr, rec(2, "anna", "1", "active"), rec(3, "b", "-1", "gone"), rec(4, "bo", "", "active"))
	want := "{name: anna, amount: 1, status: active, note: n}\n" +
		`REJECT in.csv:3:1: transforms[0] validate: amount: amount must be positive; name: name too short; check failed: status in ["active", "paused"]` + "\n" +
		"REJECT in.csv:4:1: transforms[0] validate: amount: check failed: >: operation on null value"
	if got := names(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	cfg, _ := sdk.ParseConfig(validateSpec, "rules: [{field: amout, check: 'true'}]")
	if _, err := validateOutputSchema(cfg, inSchema, nil); err == nil || !strings.Contains(err.Error(), `rules[0].field: field "amout" is not in the input (did you mean "amount"?)`) {
		t.Errorf("err = %v", err)
	}
}

func TestNotCompiled(t *testing.T) {
	cfg, _ := sdk.ParseConfig(filterSpec, "condition: x")
	_, err := Filter().NewTransform(context.Background(), cfg, sdk.Env{})
	if fes, ok := sdk.AsFieldErrors(err); !ok || fes[0].Path != "condition" {
		t.Errorf("err = %v", err)
	}
}

func batch(n int) *record.Batch {
	b := &record.Batch{Records: make([]record.Record, n)}
	for i := range b.Records {
		st := "active"
		if i%4 == 0 {
			st = "paused"
		}
		b.Records[i] = rec(i+2, fmt.Sprintf("customer %d", i), fmt.Sprintf("%d.%02d", i%500, i%100), st)
	}
	return b
}

// BenchmarkFilterMap runs filter + map over 1000-record batches; ns/op is
// per record.
func BenchmarkFilterMap(b *testing.B) {
	f := build(b, Filter(), `condition: status == "active" && amount > 10`, inSchema)
	m := build(b, Map(), "set: {name: upper(name), total: amount * 2}\ndrop: [note]\n", inSchema)
	in := batch(1000)
	mid, out := &record.Batch{}, &record.Batch{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i += len(in.Records) {
		mid.Reset()
		out.Reset()
		_ = f.Process(context.Background(), in, mid)
		_ = m.Process(context.Background(), mid, out)
	}
	// CPU time per record is meaningful even on a loaded machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/record")
}

// cpuTime returns the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkFilter measures the filter alone per record.
func BenchmarkFilter(b *testing.B) {
	f := build(b, Filter(), `condition: status == "active" && amount > 10`, inSchema)
	in := batch(1000)
	out := &record.Batch{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(in.Records) {
		out.Reset()
		_ = f.Process(context.Background(), in, out)
	}
}
