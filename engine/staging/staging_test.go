package staging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var ctx = context.Background()

func env(dir string, st sdk.State) sdk.Env {
	if st == nil {
		st = &sdk.MemState{}
	}
	return sdk.Env{Step: "transforms[0]", Pipeline: "abo", Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BatchSize: 2, State: st, Now: time.Now()}
}

func build(t *testing.T, name, yaml string, e sdk.Env) sdk.Transform {
	t.Helper()
	c, ok := Plugin().Component(name)
	if !ok {
		t.Fatalf("no component %s", name)
	}
	cfg, err := sdk.ParseConfig(c.Spec, yaml)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.NewTransform(ctx, cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var abo = record.MustSchema(
	record.Field{Name: "abo_nr", Kind: record.KindString},
	record.Field{Name: "period", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "due", Kind: record.KindDate},
)

func rec(i int64, nr, period, amount string) record.Record {
	return record.Record{Schema: abo, Values: []record.Value{record.String(nr), record.String(period),
		record.Dec(record.MustDecimal(amount)), record.DateValue(record.NewDate(2026, 1, int(i)))},
		Origin: record.Origin{File: "in/abos.csv", Line: int(i) + 1, Index: i}}
}

// run pushes the records through tr in batches of 2 and flushes.
func run(t *testing.T, tr sdk.Transform, recs ...record.Record) (out []record.Record, rej []record.Reject) {
	t.Helper()
	for i := 0; i < len(recs); i += 2 {
		in := &record.Batch{Records: recs[i:min(i+2, len(recs))]}
		var o record.Batch
		if err := tr.Process(ctx, in, &o); err != nil {
			t.Fatal(err)
		}
		out, rej = append(out, o.Records...), append(rej, o.Rejects...)
	}
	if f, ok := tr.(sdk.Flusher); ok {
		if err := f.Flush(ctx, func(b *record.Batch) error {
			out, rej = append(out, b.Records...), append(rej, b.Rejects...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out, rej
}

func TestSQLExactTypes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rates.csv"), []byte("abo_nr;rate\nA-1;0.19\nA-2;0.07\n"), 0o644)
	tr := build(t, "sql", `
query: |
  SELECT i.abo_nr, sum(amount) AS total, sum(amount) * max(r.rate::DECIMAL(18,2)) AS tax, min(due) AS first_due,
         count(*) AS n
  FROM input i JOIN rates r USING (abo_nr) GROUP BY i.abo_nr ORDER BY i.abo_nr
tables: {rates: rates.csv}
delimiter: ";"
`, env(dir, nil))
	defer tr.Close()
	out, rej := run(t, tr, rec(1, "A-1", "2026-01", "0.10"), rec(2, "A-1", "2026-02", "0.20"), rec(3, "A-2", "2026-01", "99999999999999.99"),
		rec(4, "A-1", "2026-03", "12345678901234.567")) // the last widens the column scale
	if len(rej) != 0 {
		t.Fatalf("rejects: %v", rej)
	}
	var got []string
	for _, r := range out {
		got = append(got, r.String()+" @ "+r.Origin.String())
	}
	want := []string{
		"{abo_nr: A-1, total: 12345678901234.867, tax: 2345678991234.62473, first_due: 2026-01-01, n: 3}",
		"{abo_nr: A-2, total: 99999999999999.990, tax: 6999999999999.99930, first_due: 2026-01-03, n: 1}",
	}
	for i := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("result:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if o := out[1].Origin.String(); o != "sql:transforms[0] (row 2)" {
		t.Fatalf("origin = %q", o)
	}
	if k := out[0].Schema.Field(1).Kind; k != record.KindDecimal {
		t.Fatalf("total kind = %v", k)
	}
	if k := out[0].Schema.Field(3).Kind; k != record.KindDate {
		t.Fatalf("first_due kind = %v", k)
	}
}

func TestDecimalRoundTrip(t *testing.T) {
	for _, s := range []string{"0", "-0.01", "12.50", "9999999999999999999", "-999999999.9999999999", "0.0000000000000000001"} {
		d := record.MustDecimal(s)
		v, err := decimalToDuck(d, d.Scale())
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecimalFromDuck(v.(duckdb.Decimal))
		if err != nil {
			t.Fatal(err)
		}
		if back.String() != d.String() {
			t.Errorf("%s -> %s", s, back)
		}
	}
	if _, err := decimalToDuck(record.MustDecimal("1.234"), 2); err == nil {
		t.Error("decimal with too many digits accepted")
	}
}

func TestDedupRun(t *testing.T) {
	tr := build(t, "dedup", "key: [abo_nr, period]\n", env("", nil))
	defer tr.Close()
	out, rej := run(t, tr, rec(1, "A-1", "2026-01", "1"), rec(2, "A-1", "2026-02", "1"), rec(3, "A-1", "2026-01", "2"), rec(4, "A|1", "2026-01", "1"))
	if len(out) != 3 || len(rej) != 1 || rej[0].Reason != "duplicate of in/abos.csv:2" || rej[0].Record.Origin.Index != 3 {
		t.Fatalf("out=%v rej=%v", out, rej)
	}
}

func TestDedupLedger(t *testing.T) {
	st := state.NewMemory()
	// run 1: exports; A-3 is rejected by a later sink.
	r1, _ := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
	tr := build(t, "dedup", "key: [abo_nr]\nscope: ledger\n", env("", r1))
	out, rej := run(t, tr, rec(1, "A-1", "p", "10.00"), rec(2, "A-2", "p", "20.00"), rec(3, "A-3", "p", "30.00"))
	if len(out) != 3 || len(rej) != 0 {
		t.Fatalf("run 1: out=%d rej=%v", len(out), rej)
	}
	err := tr.(state.CommitHook).BeforePrepare(ctx, r1, func(o record.Origin) bool { return o.File == "in/abos.csv" && o.Index == 3 })
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if err := r1.Commit(ctx, state.Result{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		onChange          string
		wantOut, wantRej  int
		wantA2Hash2Stored bool
	}{
		{"reject", 2, 1, false}, // A-3 (never committed), A-4 pass; A-2 changed -> reject; A-1 unchanged -> filtered
		{"ignore", 2, 0, false},
		{"update", 3, 0, true},
	} {
		t.Run(tc.onChange, func(t *testing.T) {
			r, _ := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
			tr := build(t, "dedup", "key: [abo_nr]\nscope: ledger\non_change: "+tc.onChange+"\n", env("", r))
			defer tr.Close()
			out, rej := run(t, tr, rec(1, "A-1", "p", "10.0"), rec(2, "A-2", "p", "21.00"), rec(3, "A-3", "p", "30.00"), rec(4, "A-4", "p", "1"))
			if len(out) != tc.wantOut || len(rej) != tc.wantRej {
				t.Fatalf("out=%v rej=%v", out, rej)
			}
			if tc.wantRej > 0 && !strings.Contains(rej[0].Reason, "key A-2 was exported by an earlier run with different content") {
				t.Fatalf("reason = %q", rej[0].Reason)
			}
			un, ig := tr.(*dedup).Stats()
			if un != 1 || (tc.onChange == "ignore") != (ig == 1) {
				t.Fatalf("unchanged=%d ignored=%d", un, ig)
			}
			r.Abort(ctx, state.Result{Error: "test"})
		})
	}
}

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	// windows-1252: "Müller" with ü = 0xFC
	os.WriteFile(filepath.Join(dir, "kunden.csv"), []byte("nr;name\nA-1;M\xfcller\nA-2;Schmidt\nA-2;Doppelt\n"), 0o644)
	for _, tc := range []struct{ missing, want string }{
		{"reject", "A-1=Müller | rej:A-2:2 rows of kunden.csv match | rej:A-9:no matching row in kunden.csv"},
		{"set_null", "A-1=Müller | A-9= | rej:A-2:2 rows of kunden.csv match"},
		{"keep", "A-1=Müller | A-9=<absent> | rej:A-2:2 rows of kunden.csv match"},
	} {
		tr := build(t, "lookup", "table: kunden.csv\ndelimiter: \";\"\nencoding: windows-1252\non: [{field: abo_nr, ref: nr}]\nselect: {kunde: name}\nmissing: "+tc.missing+"\n", env(dir, nil))
		out, rej := run(t, tr, rec(1, "A-1", "p", "1"), rec(2, "A-2", "p", "1"), rec(3, "A-9", "p", "1"))
		tr.Close()
		var got []string
		for _, r := range out {
			v, ok := r.Get("kunde")
			s := v.String()
			if !ok {
				s = "<absent>"
			}
			got = append(got, r.Value("abo_nr").String()+"="+s)
		}
		for _, r := range rej {
			got = append(got, "rej:"+r.Record.Value("abo_nr").String()+":"+r.Reason)
		}
		if g := strings.Join(got, " | "); g != tc.want {
			t.Errorf("missing %s: %s\nwant %s", tc.missing, g, tc.want)
		}
	}
}

func TestReconcile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "orders.csv"), []byte(
		"order_no,e2e,amount,customer\nB-100,E2E-1,10.00,Ada\nB-200,,25.50,Bob\nB-300,,25.50,Cy\nB-400,,7.00,Dee\nB-500,,7.00,Eve\n"), 0o644)
	st := record.MustSchema(record.Field{Name: "e2e", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "text", Kind: record.KindString})
	line := func(i int64, e2e, amount, text string) record.Record {
		return record.Record{Schema: st, Values: []record.Value{record.String(e2e), record.Dec(record.MustDecimal(amount)), record.String(text)},
			Origin: record.Origin{File: "camt.xml", Index: i}}
	}
	tr := build(t, "reconcile", `
table: orders.csv
rules:
  - name: e2e
    conditions: ["s.e2e = r.e2e"]
  - name: amount_ref
    conditions: ["s.amount = r.amount::DECIMAL(18,2)", "contains(normalize(s.text), normalize(r.order_no))"]
select: {order_no: order_no, customer: customer}
`, env(dir, nil))
	defer tr.Close()
	out, rej := run(t, tr,
		line(1, "E2E-1", "10.00", "whatever"),        // rule e2e
		line(2, "", "25.50", "Rechnung b 200 danke"), // amount + normalized reference
		line(3, "", "10.00", "B-100 again"),          // B-100 consumed by line 1 -> unmatched
		line(4, "", "7.00", "B-400 / B-500"),         // two candidates -> ambiguous
		line(5, "", "99.00", "nothing"),              // unmatched
		line(6, "", "25.50", "B300"),                 // matched B-300
	)
	if len(rej) != 0 {
		t.Fatal(rej)
	}
	var got []string
	for _, r := range out {
		got = append(got, r.Origin.String()+" "+r.Value("match_status").String()+" "+r.Value("match_rule").String()+" "+r.Value("order_no").String()+" "+r.Value("customer").String())
	}
	want := "camt.xml record 1 matched e2e B-100 Ada|camt.xml record 2 matched amount_ref B-200 Bob|camt.xml record 3 unmatched   |" +
		"camt.xml record 4 ambiguous amount_ref  |camt.xml record 5 unmatched   |camt.xml record 6 matched amount_ref B-300 Cy"
	if g := strings.Join(got, "|"); g != want {
		t.Fatalf("got\n%s\nwant\n%s", strings.ReplaceAll(g, "|", "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
}
