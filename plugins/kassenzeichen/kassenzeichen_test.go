package kassenzeichen

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
)

func testEnv(log *bytes.Buffer) sdk.Env {
	return sdk.Env{Step: "steps[1] kassenzeichen.generate", Logger: slog.New(slog.NewTextHandler(log, nil)),
		Now: time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC), State: &sdk.MemState{}}
}

var aboSchema = record.MustSchema(record.Field{Name: "abo_typ"}, record.Field{Name: "kundennummer"}, record.Field{Name: "saison", Kind: record.KindDate})

func abo(typ, kd string) record.Record {
	r := record.New(aboSchema, record.Origin{File: "abos.csv", Line: 2})
	r.Values[0], r.Values[1], r.Values[2] = record.String(typ), record.String(kd), record.DateValue(record.NewDate(2025, 9, 1))
	return r
}

const genCfg = `
pool: abo
segments:
  - {type: const, value: "8"}
  - {type: einnahmeart, field: abo_typ, map: {oper: "8057", konzert: "8058"}}
  - {type: year, field: saison, digits: 2}
  - {type: field, field: kundennummer, width: 5}
  - {type: sequence, width: 3}
sequence: {from: 1, to: 5, warn_below: 2}
check_digit: {method: luhn}
mask: "#.####.##.#####.###-#"
`

func newGen(t *testing.T, cfg string, log *bytes.Buffer) (*generate, sdk.Env) {
	c, err := sdk.ParseConfig(generateSpec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(log)
	tr, err := newGenerate(context.Background(), c, env)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*generate), env
}

func TestGenerate(t *testing.T) {
	var log bytes.Buffer
	g, _ := newGen(t, genCfg, &log)
	out := &record.Batch{}
	in := &record.Batch{Records: []record.Record{abo("oper", "4711"), abo("ballett", "1"), abo("konzert", "815"), abo("oper", "123456")}}
	if err := g.Process(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 2 || len(out.Rejects) != 2 {
		t.Fatalf("records %d rejects %d", len(out.Records), len(out.Rejects))
	}
	// payload 8 8057 25 04711 001 -> Luhn
	got := out.Records[0].Value("kassenzeichen").Str()
	if got != "8.8057.25.04711.001-2" {
		t.Fatalf("kassenzeichen = %q", got)
	}
	if err := Luhn("880572504711001" + got[len(got)-1:]); err != nil {
		t.Fatal(err)
	}
	if got := out.Records[1].Value("kassenzeichen").Str(); !strings.HasPrefix(got, "8.8058.25.00815.002-") {
		t.Fatalf("second = %q", got)
	}
	if r := out.Rejects[0]; r.Field != "abo_typ" || r.Reason != `no Einnahmeart for "ballett" in the map` {
		t.Fatalf("reject: %+v", r)
	}
	if r := out.Rejects[1]; r.Field != "kundennummer" || !strings.Contains(r.Reason, "more than 5 digits") {
		t.Fatalf("reject: %+v", r)
	}
	// Records that already have one keep it and consume no number.
	out2 := &record.Batch{}
	if err := g.Process(context.Background(), &record.Batch{Records: out.Records[:1]}, out2); err != nil {
		t.Fatal(err)
	}
	if out2.Records[0].Value("kassenzeichen").Str() != "8.8057.25.04711.001-2" {
		t.Fatal("existing Kassenzeichen changed")
	}
	// Third number leaves 2 (5-3): no warning yet; the fourth leaves 1 < 2: warning.
	for i, want := range []bool{false, true} {
		out3 := &record.Batch{}
		if err := g.Process(context.Background(), &record.Batch{Records: []record.Record{abo("oper", "1")}}, out3); err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(log.String(), "kassenzeichen number range running out"); has != want {
			t.Fatalf("step %d: warning logged = %v, want %v (%s)", i, has, want, log.String())
		}
	}
	// 5th ok, 6th exhausted: the run fails.
	if err := g.Process(context.Background(), &record.Batch{Records: []record.Record{abo("oper", "1")}}, &record.Batch{}); err != nil {
		t.Fatal(err)
	}
	err := g.Process(context.Background(), &record.Batch{Records: []record.Record{abo("oper", "1")}}, &record.Batch{})
	if err == nil || !strings.Contains(err.Error(), "number range 1..5 exhausted") {
		t.Fatalf("want exhaustion error, got %v", err)
	}
}

// Luhn validates with the checkdigit package (independent of the generator).
func Luhn(s string) error {
	v, _ := newValidate(context.Background(), sdk.Config{"check_digit": map[string]any{"method": "luhn"}}, sdk.Env{})
	if reason := v.(*validate).Check(s); reason != "" {
		return &sdk.FieldError{Message: reason}
	}
	return nil
}

func TestGenerateConfigErrors(t *testing.T) {
	_, err := build(GenerateConfig{Pool: "x", Segments: []Segment{{Type: "const", Value: "8a"}, {Type: "sequence", Width: 2}}, Sequence: Sequence{From: 1, To: 999}, Mask: "##"}, sdk.Env{})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`segments[0].value: must be digits, got "8a"`, "segments[1].width: 2 digits cannot hold sequence.to 999"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestValidate(t *testing.T) {
	sc := record.MustSchema(record.Field{Name: "kassenzeichen"})
	mk := func(s string) record.Record {
		r := record.New(sc, record.Origin{File: "in.csv", Line: 3, Col: 1})
		r.Values[0] = record.String(s)
		return r
	}
	tests := []struct {
		cfg, value, reason string
	}{
		{`{check_digit: {method: luhn}}`, "07011729", ""},
		{`{check_digit: {method: luhn}}`, "0701172-9", ""},
		{`{check_digit: {method: luhn}}`, "07011728", `check digit mismatch (luhn): got "8", want "9"`},
		{`{check_digit: {method: mod11}}`, "010155000010", ""},
		{`{check_digit: {method: mod11}}`, "010155000013", `check digit mismatch (mod11(2,3,4,5,6,7;10=0;11=0)): got "3", want "0"`},
		{`{check_digit: {method: luhn}, mask: "###.####-#"}`, "070.1172-9", ""},
		{`{check_digit: {method: luhn}, mask: "###.####-#"}`, "0701.172-9", `does not match the mask "###.####-#" at position 4`},
		{`{check_digit: {method: none}, max_length: 5}`, "123456", "at most 5 allowed"},
		{`{check_digit: {method: luhn}}`, "", "empty"},
	}
	for _, tc := range tests {
		c, _ := sdk.ParseConfig(validateSpec, tc.cfg)
		tr, err := newValidate(context.Background(), c, sdk.Env{Step: "kassenzeichen.validate"})
		if err != nil {
			t.Fatal(err)
		}
		out := &record.Batch{}
		if err := tr.Process(context.Background(), &record.Batch{Records: []record.Record{mk(tc.value)}}, out); err != nil {
			t.Fatal(err)
		}
		if tc.reason == "" {
			if len(out.Records) != 1 {
				t.Errorf("%s %q rejected: %v", tc.cfg, tc.value, out.Rejects)
			}
			continue
		}
		if len(out.Rejects) != 1 || out.Rejects[0].Field != "kassenzeichen" || !strings.Contains(out.Rejects[0].Reason, tc.reason) {
			t.Errorf("%s %q: want reject %q, got %+v", tc.cfg, tc.value, tc.reason, out.Rejects)
		}
	}
}

// TestGenerateKeepsOrder: a record that keeps its Kassenzeichen stays in its place and
// consumes no number.
func TestGenerateKeepsOrder(t *testing.T) {
	var log bytes.Buffer
	g, _ := newGen(t, genCfg, &log)
	sc := record.MustSchema(append(aboSchema.Fields(), record.Field{Name: "kassenzeichen"})...)
	mk := func(kd, kz string) record.Record {
		r := record.New(sc, record.Origin{File: "abos.csv"})
		r.Values[0], r.Values[1], r.Values[2] = record.String("oper"), record.String(kd), record.DateValue(record.NewDate(2025, 9, 1))
		if kz != "" {
			r.Values[3] = record.String(kz)
		}
		return r
	}
	in := &record.Batch{Records: []record.Record{mk("1", ""), mk("2", "8.8057.25.00002.999-9"), mk("3", "")}}
	out := &record.Batch{}
	if err := g.Process(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Records {
		got = append(got, r.Value("kundennummer").Str()+"="+r.Value("kassenzeichen").Str())
	}
	want := []string{"1=8.8057.25.00001.001-", "2=8.8057.25.00002.999-9", "3=8.8057.25.00003.002-"}
	if len(got) != 3 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("record %d: %s, want prefix %s (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestSpecsMatchConfigs(t *testing.T) {
	sdktest.CheckConfig(t, generateSpec, GenerateConfig{})
	sdktest.CheckConfig(t, validateSpec, ValidateConfig{})
	sdktest.LintPlugin(t, Plugin())
}
