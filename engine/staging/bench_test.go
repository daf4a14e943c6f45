package staging

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

// Large benchmarks run only with KONTOR_BENCH_LARGE=1 (make bench):
//
//	KONTOR_BENCH_LARGE=1 go test -run=NONE -bench=Large -benchtime=1x ./engine/staging/
func large(b *testing.B) {
	if os.Getenv("KONTOR_BENCH_LARGE") != "1" {
		b.Skip("set KONTOR_BENCH_LARGE=1")
	}
}

func peakRSS() string {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return fmt.Sprintf("%d MiB", ru.Maxrss/1024)
}

// BenchmarkLargeDedupLedger5M: 1,000,000 records (half of them already
// exported) against a ledger of 5,000,000 keys, through the DuckDB state
// store, including the commit of the new ledger entries.
func BenchmarkLargeDedupLedger5M(b *testing.B) {
	large(b)
	dir := b.TempDir()
	st, _ := duckstate.Open(dir, "abo")
	r, _ := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
	r.Commit(ctx, state.Result{})
	st.Close()
	db, err := sql.Open("duckdb", filepath.Join(dir, "abo.duckdb"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO ledger SELECT 'abo', 'K-' || i, md5(i::VARCHAR)[:32], '1', now()::TIMESTAMP FROM range(5000000) t(i)`); err != nil {
		b.Fatal(err)
	}
	db.Close()
	schema := record.MustSchema(record.Field{Name: "key", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindDecimal})
	batches := make([]*record.Batch, 0, 1000)
	for i := 0; i < 1000000; i += 1000 {
		bt := &record.Batch{}
		for j := i; j < i+1000; j++ {
			bt.Records = append(bt.Records, record.Record{Schema: schema, Values: []record.Value{record.String(fmt.Sprintf("K-%d", 4500000+j)), record.Dec(record.MustDecimal("12.50"))},
				Origin: record.Origin{File: "in.csv", Index: int64(j + 1)}})
		}
		batches = append(batches, bt)
	}
	b.ResetTimer()
	start := time.Now()
	st, _ = duckstate.Open(dir, "abo")
	defer st.Close()
	run, err := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
	if err != nil {
		b.Fatal(err)
	}
	tr := build(&testing.T{}, "dedup", "key: [key]\nscope: ledger\non_change: update\n", env("", run))
	passed := 0
	var loadDone time.Duration
	for i, bt := range batches {
		var out record.Batch
		if err := tr.Process(ctx, bt, &out); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			loadDone = time.Since(start)
		}
		passed += len(out.Records)
	}
	procDone := time.Since(start)
	if err := tr.(state.CommitHook).BeforePrepare(ctx, run, func(record.Origin) bool { return false }); err != nil {
		b.Fatal(err)
	}
	if err := run.Commit(ctx, state.Result{}); err != nil {
		b.Fatal(err)
	}
	total := time.Since(start)
	b.StopTimer()
	// Same work in one SQL statement typed into DuckDB.
	db, _ = sql.Open("duckdb", filepath.Join(dir, "abo.duckdb"))
	defer db.Close()
	db.Exec(`CREATE TABLE incoming AS SELECT 'K-' || (i + 5000000) AS key FROM range(1000000) t(i)`)
	t0 := time.Now()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM incoming s ANTI JOIN ledger l ON l.scope = 'abo' AND l.key = s.key`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	q := time.Since(t0)
	t0 = time.Now()
	if _, err := db.Exec(`INSERT OR REPLACE INTO ledger SELECT 'abo', key, md5(key)[:32], '9', now()::TIMESTAMP FROM incoming`); err != nil {
		b.Fatal(err)
	}
	qi := time.Since(t0)
	b.Logf("dedup 1M vs ledger 5M: passed=%d total=%v (ledger load+first batch %v, processing %v, ledger commit %v), peak RSS %s; "+
		"SQL anti join %v (%d new) + INSERT OR REPLACE %v = %v, ratio %.2f",
		passed, total, loadDone, procDone, total-procDone, peakRSS(), q, n, qi, q+qi, float64(total)/float64(q+qi))
}

// BenchmarkLargeReconcile: 100,000 statement lines against 1,000,000 open orders.
func BenchmarkLargeReconcile(b *testing.B) {
	large(b)
	dir := b.TempDir()
	f, _ := os.Create(filepath.Join(dir, "orders.csv"))
	w := bufio.NewWriter(f)
	w.WriteString("order_no,e2e,amount\n")
	for i := 0; i < 1000000; i++ {
		fmt.Fprintf(w, "B-%d,E2E-%d,%d.%02d\n", i, i, i%5000, i%100)
	}
	w.Flush()
	f.Close()
	schema := record.MustSchema(record.Field{Name: "e2e", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindDecimal}, record.Field{Name: "text", Kind: record.KindString})
	var batches []*record.Batch
	for i := 0; i < 100000; i += 1000 {
		bt := &record.Batch{}
		for j := i; j < i+1000; j++ {
			o := j * 7
			e2e := ""
			if j%2 == 0 {
				e2e = fmt.Sprintf("E2E-%d", o)
			}
			d, _ := record.NewDecimal(int64((o%5000)*100+o%100), 2)
			bt.Records = append(bt.Records, record.Record{Schema: schema, Values: []record.Value{record.String(e2e), record.Dec(d), record.String(fmt.Sprintf("Rechnung b %d", o))},
				Origin: record.Origin{File: "camt.xml", Index: int64(j + 1)}})
		}
		batches = append(batches, bt)
	}
	b.ResetTimer()
	start := time.Now()
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
	defer tr.Close()
	for _, bt := range batches {
		var out record.Batch
		if err := tr.Process(ctx, bt, &out); err != nil {
			b.Fatal(err)
		}
	}
	counts := map[string]int{}
	err := tr.(*reconcile).Flush(ctx, func(bt *record.Batch) error {
		for _, r := range bt.Records {
			counts[r.Value("match_status").String()]++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	total := time.Since(start)
	b.StopTimer()
	// The same rules as SQL typed directly into DuckDB on already staged tables.
	conn := tr.(*reconcile).db.Conn()
	conn.ExecContext(ctx, `DELETE FROM settled`)
	t0 := time.Now()
	for _, q := range []string{
		`INSERT INTO settled SELECT s._row, 'matched', 'e2e', r._ref FROM stream s JOIN ref r ON s.e2e = r.e2e`,
		`INSERT INTO settled SELECT s._row, 'matched', 'amount_ref', r._ref FROM stream s JOIN ref r ON s.amount = r.amount::DECIMAL(18,2) AND contains(normalize(s.text), normalize(r.order_no)) WHERE s._row NOT IN (SELECT _row FROM settled)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	q := time.Since(t0)
	b.Logf("reconcile 100k vs 1M: %v total (incl. CSV load and emitting records), counts %v, peak RSS %s; plain SQL rules on staged tables %v",
		total, counts, peakRSS(), q)
}
