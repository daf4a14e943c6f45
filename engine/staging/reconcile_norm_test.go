package staging

import (
	"os"
	"path/filepath"

	"github.com/kontor-etl/kontor/engine/record"
	"strings"
	"testing"
)

func TestPrecomputeNormalize(t *testing.T) {
	conds, sc, rc := precompute([]ReconcileRule{
		{Name: "a", Conditions: []string{"s.amount = r.amount::DECIMAL(18,2)", `contains(normalize(s.text), NORMALIZE( r . "Order No" ))`}},
		{Name: "b", Conditions: []string{"normalize(s.text) = normalize(r.customer)", "normalize(s.a || s.b) <> ''"}},
	})
	want := []string{
		`(s.amount = r.amount::DECIMAL(18,2)) AND (contains(s._kontor_norm_1, r._kontor_norm_2))`,
		`(s._kontor_norm_1 = r._kontor_norm_3) AND (normalize(s.a || s.b) <> '')`,
	}
	if strings.Join(conds, "\n") != strings.Join(want, "\n") {
		t.Fatalf("conditions\n%s\nwant\n%s", strings.Join(conds, "\n"), strings.Join(want, "\n"))
	}
	if g := strings.Join(sc, "; "); g != "normalize(s.text) AS _kontor_norm_1" {
		t.Fatalf("stream columns %s", g)
	}
	if g := strings.Join(rc, "; "); g != `normalize(r."Order No") AS _kontor_norm_2; normalize(r.customer) AS _kontor_norm_3` {
		t.Fatalf("ref columns %s", g)
	}
}

// TestReconcileRowidColumn: a reference file with its own rowid column
// still matches (rows are then numbered in a separate column).
func TestReconcileRowidColumn(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "orders.csv"), []byte("rowid,order_no,amount\n7,B-100,10.00\n8,B-200,10.00\n"), 0o644)
	st := record.MustSchema(record.Field{Name: "amount", Kind: record.KindDecimal}, record.Field{Name: "text", Kind: record.KindString})
	line := func(i int64, amount, text string) record.Record {
		return record.Record{Schema: st, Values: []record.Value{record.Dec(record.MustDecimal(amount)), record.String(text)}, Origin: record.Origin{File: "camt.xml", Index: i}}
	}
	tr := build(t, "reconcile", `
table: orders.csv
rules:
  - name: ref
    conditions: ["s.amount = r.amount::DECIMAL(18,2)", "contains(normalize(s.text), normalize(r.order_no))"]
select: {order_no: order_no, rid: rowid}
`, env(dir, nil))
	defer tr.Close()
	out, _ := run(t, tr, line(1, "10.00", "b 200"), line(2, "10.00", "nothing"))
	var got []string
	for _, r := range out {
		got = append(got, r.Value("match_status").String()+" "+r.Value("order_no").String()+" "+r.Value("rid").String())
	}
	if g := strings.Join(got, "|"); g != "matched B-200 8|unmatched  " {
		t.Fatalf("got %q", g)
	}
}
