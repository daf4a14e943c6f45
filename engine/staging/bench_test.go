package staging

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
)

// The issue-3 sizes (dedup 1M vs a 5M ledger, reconcile 100k vs 1M) are
// measured by `make bench-state` (engine/staging/internal/statebench),
// each in its own process for an honest peak RSS and compared with the
// same work as raw DuckDB SQL. The benchmarks here are the per-record hot
// paths at small sizes.

func dedupBatches(n int) []*record.Batch {
	var out []*record.Batch
	for i := 0; i < n; i += 1000 {
		b := &record.Batch{}
		for j := i; j < min(i+1000, n); j++ {
			b.Records = append(b.Records, rec(int64(j+1), fmt.Sprintf("A-%08d", j), "2026-11", "29.90"))
		}
		out = append(out, b)
	}
	return out
}

// BenchmarkDedupRun: key, fingerprint and map per record (scope run).
func BenchmarkDedupRun(b *testing.B) {
	batches := dedupBatches(100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr := build(&testing.T{}, "dedup", "key: [abo_nr, period]\n", env("", nil))
		for _, bt := range batches {
			var out record.Batch
			if err := tr.Process(ctx, bt, &out); err != nil {
				b.Fatal(err)
			}
		}
		tr.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100000), "ns/record")
}

// BenchmarkDedupLedger: scope ledger against the in-memory store (key,
// content hash, chunked lookups, ledger entries).
func BenchmarkDedupLedger(b *testing.B) {
	batches := dedupBatches(100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st := state.NewMemory()
		r, _ := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
		tr := build(&testing.T{}, "dedup", "key: [abo_nr, period]\nscope: ledger\n", env("", r))
		n := 0
		for _, bt := range batches {
			var out record.Batch
			if err := tr.Process(ctx, bt, &out); err != nil {
				b.Fatal(err)
			}
			n += len(out.Records)
		}
		if err := tr.(*dedup).Flush(ctx, func(bt *record.Batch) error { n += len(bt.Records); return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 100000 {
			b.Fatalf("passed %d of 100000", n)
		}
		if err := tr.(state.CommitHook).BeforePrepare(ctx, r, nil); err != nil {
			b.Fatal(err)
		}
		tr.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100000), "ns/record")
}

// BenchmarkReconcile: 10,000 statement lines against 100,000 open orders.
func BenchmarkReconcile(b *testing.B) {
	dir := b.TempDir()
	f, _ := os.Create(filepath.Join(dir, "orders.csv"))
	w := bufio.NewWriter(f)
	w.WriteString("order_no,e2e,amount\n")
	for k := 0; k < 100000; k++ {
		c := 500 + k*7919%99500
		fmt.Fprintf(w, "B-%07d,E2E-%07d,%d.%02d\n", k, k, c/100, c%100)
	}
	w.Flush()
	f.Close()
	schema := record.MustSchema(record.Field{Name: "e2e", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindDecimal}, record.Field{Name: "text", Kind: record.KindString})
	var batches []*record.Batch
	for i := 0; i < 10000; i += 1000 {
		bt := &record.Batch{}
		for j := i; j < i+1000; j++ {
			k := j * 9973 % 100000
			c := 500 + k*7919%99500
			e2e := record.Null
			if j%2 == 0 {
				e2e = record.String(fmt.Sprintf("E2E-%07d", k))
			}
			d, _ := record.NewDecimal(int64(c), 2)
			bt.Records = append(bt.Records, record.Record{Schema: schema, Values: []record.Value{e2e, record.Dec(d), record.String(fmt.Sprintf("Rechnung B-%07d", k))},
				Origin: record.Origin{File: "camt.xml", Index: int64(j + 1)}})
		}
		batches = append(batches, bt)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := env(dir, nil)
		e.BatchSize = 1000
		tr := build(&testing.T{}, "reconcile", `
table: orders.csv
rules:
  - name: e2e
    conditions: ["s.e2e = r.e2e"]
  - name: amount_ref
    conditions: ["s.amount = r.amount::DECIMAL(18,2)", "contains(normalize(s.text), normalize(r.order_no))"]
select: {order_no: order_no}
`, e)
		for _, bt := range batches {
			var out record.Batch
			if err := tr.Process(ctx, bt, &out); err != nil {
				b.Fatal(err)
			}
		}
		matched := 0
		err := tr.(*reconcile).Flush(ctx, func(bt *record.Batch) error {
			for _, r := range bt.Records {
				if r.Value("match_status").String() == "matched" {
					matched++
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if matched != 10000 {
			b.Fatalf("matched %d of 10000", matched)
		}
		tr.Close()
	}
}
