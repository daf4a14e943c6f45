// Command statebench measures the DuckDB-backed staging transforms at the
// sizes issue 3 names and compares each with the same work typed directly
// into DuckDB as SQL:
//
//   - dedup (scope ledger, on_change update, key [abo_nr, period]) of
//     1,000,000 records against a ledger of 5,000,000 keys, through the
//     DuckDB state store, including the commit of the new ledger entries;
//   - reconcile of 100,000 statement lines against 1,000,000 open orders
//     (rule e2e, then amount + order number in the remittance text).
//
// Every measurement runs in its own child process, so "peak RSS" is the
// getrusage(RUSAGE_SELF) maxrss of a process that did only that work (the
// data is generated beforehand by another child). Both sides of the dedup
// do the same work: the same 1M input rows (Kontor builds them in Go as a
// source would, the raw SQL with range()), the same keys and content
// hashes, a fresh copy of the same ledger file, the ledger update and
// insert committed, and the database closed, all inside the timing; the
// raw side's counting queries (a check, not part of the work) are left
// out. Kontor and raw runs alternate; the best run and the median of the
// pairs' ratios are reported, with CPU time (user+system) per phase.
// Targets: under 10 s, under 1 GiB, Kontor/raw ratio at most 1.5.
//
// Usage (make bench-state):
//
//	go run ./engine/staging/internal/statebench [-dir DIR] [-keep] [-strict]
//
// -strict exits 1 when a target is missed. The raw SQL and Kontor must
// agree on the counts; otherwise statebench fails.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/staging"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Sizes.
const (
	ledgerKeys = 5_000_000
	dedupRecs  = 1_000_000
	dedupFirst = 4_500_000 // first incoming key: half of the input is already in the ledger
	orders     = 1_000_000
	lines      = 100_000
)

// result is what a child reports on stdout (one JSON line).
type result struct {
	Seconds float64        `json:"seconds"`
	CPU     float64        `json:"cpu"` // user+system seconds of all threads
	RSSMiB  int64          `json:"rss_mib"`
	Counts  map[string]int `json:"counts"`
	Phases  []phase        `json:"phases,omitempty"`
}

// phase is the time of one part of a workload.
type phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu"`
	RSSMiB  int64   `json:"rss_mib"` // peak RSS at the end of the phase
}

// phases collects the parts of the workload of a child.
var (
	phases    []phase
	lastPhase = time.Now()
	lastCPU   float64
)

func mark(name string) {
	now, c := time.Now(), cpuSeconds()
	phases = append(phases, phase{name, now.Sub(lastPhase).Seconds(), c - lastCPU, peakRSS()})
	lastPhase, lastCPU = now, c
}

// untimed is the wall and CPU time of the phases marked with
// markUntimed: checks that are not part of the work measured (the raw
// SQL's counting queries), left out of the child's total.
var untimed struct{ wall, cpu float64 }

func markUntimed(name string) {
	mark(name + " (not counted)")
	p := phases[len(phases)-1]
	untimed.wall += p.Seconds
	untimed.cpu += p.CPU
}

// cpuSeconds is the user and system CPU time of this process so far (all
// threads, DuckDB's included). On a shared machine it is steadier than
// wall time: waiting for a core does not count.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func peakRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss / 1024 // KiB on Linux
}

var ctx = context.Background()

func main() {
	if len(os.Args) > 2 && strings.HasPrefix(os.Args[1], "child:") {
		child(strings.TrimPrefix(os.Args[1], "child:"), os.Args[2])
		return
	}
	dir := flag.String("dir", "", "work `directory` for the generated data (default: a new temporary directory)")
	keep := flag.Bool("keep", false, "keep the work directory")
	strict := flag.Bool("strict", false, "exit 1 when a target (10 s, 1 GiB, ratio 1.5) is missed")
	runs := flag.Int("runs", 3, "measure each workload `n` times and report the fastest (the machine may be shared)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "kontor-statebench-")
		check(err)
		*dir = d
	}
	if !*keep {
		defer os.RemoveAll(*dir)
	}
	fmt.Printf("statebench: data in %s (GOMAXPROCS from the environment; DuckDB uses all cores)\n", *dir)
	t0 := time.Now()
	spawn("setup", *dir)
	fmt.Printf("generated a ledger of %d keys, %d open orders, %d statement lines in %.1fs\n\n", ledgerKeys, orders, lines, time.Since(t0).Seconds())
	missed := false
	fmt.Printf("best of %d runs each, kontor and raw alternating (peak RSS: the highest of the runs)\n", *runs)
	fmt.Printf("%-38s %9s %9s | %9s %9s | %5s\n", "workload", "kontor", "peak RSS", "raw SQL", "peak RSS", "ratio")
	for _, w := range []struct{ name, kontor, raw string }{
		{"dedup 1M vs ledger 5M (+commit)", "dedup", "rawdedup"},
		{"reconcile 100k vs 1M open orders", "reconcile", "rawreconcile"},
	} {
		k, r, med := bestPair(w.kontor, w.raw, *dir, *runs)
		ratio := k.Seconds / r.Seconds
		fmt.Printf("%-38s %8.2fs %5d MiB | %8.2fs %5d MiB | %5.2f\n", w.name, k.Seconds, k.RSSMiB, r.Seconds, r.RSSMiB, ratio)
		fmt.Printf("%-38s median %6.2fs           | %7.2fs           | %5.2f (median of the %d pairs' ratios)\n", "", med.kontor, med.raw, med.ratio, max(*runs, 1))
		fmt.Printf("%-38s cpu    %6.2fs           | %7.2fs           (user+system of the best runs)\n", "", k.CPU, r.CPU)
		if fmt.Sprint(k.Counts) != fmt.Sprint(r.Counts) {
			fmt.Fprintf(os.Stderr, "statebench: %s: kontor counts %v differ from raw SQL %v\n", w.name, k.Counts, r.Counts)
			os.Exit(1)
		}
		fmt.Printf("%-38s counts %v (same in both)\n", "", k.Counts)
		for _, x := range []struct {
			who string
			ps  []phase
		}{{"kontor", k.Phases}, {"raw", r.Phases}} {
			var parts []string
			for _, p := range x.ps {
				parts = append(parts, fmt.Sprintf("%s %.2fs/%.2fs cpu (%d MiB)", p.Name, p.Seconds, p.CPU, p.RSSMiB))
			}
			if len(parts) > 0 {
				fmt.Printf("%-38s %s: %s\n", "", x.who, strings.Join(parts, ", "))
			}
		}
		if k.Seconds >= 10 || k.RSSMiB >= 1024 || ratio > 1.5 {
			missed = true
			fmt.Printf("%-38s MISSED a target (time < 10 s, RSS < 1 GiB, ratio <= 1.5)\n", "")
		}
	}
	if missed && *strict {
		os.Exit(1)
	}
}

// medians are the median times of the runs of a workload and the median
// of the kontor/raw ratios of the runs made one after the other.
type medians struct{ kontor, raw, ratio float64 }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// bestPair runs the kontor step and the raw step n times each,
// alternating (so both see the same load on a shared machine; each dedup
// run on a fresh copy of the ledger), and returns for each the fastest
// run with the highest peak RSS of its runs, and the medians.
func bestPair(kontor, raw, dir string, n int) (k, r result, med medians) {
	var ks, rs, ratios []float64
	for i := 0; i < max(n, 1); i++ {
		for _, x := range []struct {
			step string
			b    *result
		}{{kontor, &k}, {raw, &r}} {
			if x.step == "dedup" || x.step == "rawdedup" {
				d := filepath.Join(dir, x.step)
				check(os.RemoveAll(d))
				check(os.MkdirAll(d, 0o755))
				copyFile(filepath.Join(dir, "ledger", "abo.duckdb"), filepath.Join(d, "abo.duckdb"))
			}
			got := spawn(x.step, dir)
			if x.b == &k {
				ks = append(ks, got.Seconds)
			} else {
				rs = append(rs, got.Seconds)
				ratios = append(ratios, ks[len(ks)-1]/got.Seconds)
			}
			rss := max(x.b.RSSMiB, got.RSSMiB)
			if i == 0 || got.Seconds < x.b.Seconds {
				*x.b = got
			}
			x.b.RSSMiB = rss
		}
	}
	return k, r, medians{median(ks), median(rs), median(ratios)}
}

// spawn runs this program as a child for one step and decodes its result.
func spawn(step, dir string) result {
	exe, err := os.Executable()
	check(err)
	cmd := exec.Command(exe, "child:"+step, dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "statebench: %s: %v\n", step, err)
		os.Exit(1)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		fmt.Fprintf(os.Stderr, "statebench: %s: bad result %q: %v\n", step, out, err)
		os.Exit(1)
	}
	return r
}

func child(step, dir string) {
	if f := os.Getenv("STATEBENCH_CPUPROFILE"); f != "" {
		pf, err := os.Create(f + "." + step)
		check(err)
		check(pprof.StartCPUProfile(pf))
		defer pprof.StopCPUProfile()
	}
	var counts map[string]int
	start, cpu0 := time.Now(), cpuSeconds()
	lastPhase, lastCPU = start, cpu0
	switch step {
	case "setup":
		setup(dir)
	case "dedup":
		counts = kontorDedup(filepath.Join(dir, "dedup"))
	case "rawdedup":
		counts = rawDedup(filepath.Join(dir, "rawdedup"))
	case "reconcile":
		counts = kontorReconcile(dir)
	case "rawreconcile":
		counts = rawReconcile(dir)
	default:
		check(fmt.Errorf("unknown step %q", step))
	}
	pprof.StopCPUProfile()
	r := result{Seconds: time.Since(start).Seconds() - untimed.wall, CPU: cpuSeconds() - cpu0 - untimed.cpu, RSSMiB: peakRSS(), Counts: counts, Phases: phases}
	check(json.NewEncoder(os.Stdout).Encode(r))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "statebench:", err)
		os.Exit(1)
	}
}

// ---- data -------------------------------------------------------------

// aboNr is "A-" and i in 8 digits.
func aboNr(i int) string {
	s := strconv.Itoa(i)
	return "A-" + strings.Repeat("0", max(0, 8-len(s))) + s
}

// aboCents is the amount of subscription i in the ledger.
func aboCents(i int) int64 { return 500 + int64(i)*7919%20000 }

// incoming returns the subscription number and amount of input record j:
// keys from dedupFirst on (half already exported); every 1000th record
// repeats the previous key (a duplicate within the run); every 100th
// already exported one has a changed amount.
func incoming(j int) (int, int64) {
	i := dedupFirst + j
	if j%1000 == 999 {
		i--
	}
	c := aboCents(i)
	if i < ledgerKeys && i%100 == 0 {
		c++
	}
	return i, c
}

// contentHashSQL is staging's content hash of the record (abo_nr, period,
// amount) in SQL: sha256 over name 0x1f kind value 0x1e per field (kinds:
// string 1, decimal 3; decimals without trailing zeros), first 16 bytes
// in hex.
const contentHashSQL = `substr(sha256('abo_nr' || chr(31) || chr(1) || abo_nr || chr(30) || 'period' || chr(31) || chr(1) || period || chr(30) ||
	'amount' || chr(31) || chr(3) || rtrim(rtrim(amount::VARCHAR, '0'), '.') || chr(30)), 1, 32)`

// centsMacro turns integer cents into an exact DECIMAL(18,2).
const centsMacro = `CREATE TEMP MACRO cents(c) AS ((c // 100)::VARCHAR || '.' || lpad((c % 100)::VARCHAR, 2, '0'))::DECIMAL(18,2)`

// orderNo, e2e and orderCents describe open order k.
func orderNo(k int) string   { return fmt.Sprintf("B-%07d", k) }
func orderCents(k int) int64 { return 500 + int64(k)*7919%99500 }
func line(j int) (e2e string, cents int64, text string) {
	k := j * 9973 % orders
	if j%50 == 5 { // pays the same order as the line before: both ambiguous
		k = (j - 1) * 9973 % orders
	}
	cents = orderCents(k)
	switch j % 10 {
	case 0, 1, 2, 3:
		return fmt.Sprintf("E2E-%07d", k), cents, "SEPA Lastschrift Abo"
	case 4, 5, 6:
		return "", cents, "Rechnung " + orderNo(k) + " Abo Kunde " + strconv.Itoa(k%50000)
	case 7:
		return "", cents, "rg b " + orderNo(k)[2:] + " danke"
	case 8:
		return "", cents + 1, "Rechnung " + orderNo(k) // wrong amount: unmatched
	default:
		return "", cents, "Danke fuer alles" // no reference: unmatched
	}
}

const reconcileYAML = `
table: orders.csv
rules:
  - name: e2e
    conditions: ["s.e2e = r.e2e"]
  - name: amount_ref
    conditions: ["s.amount = r.amount::DECIMAL(18,2)", "contains(normalize(s.text), normalize(r.order_no))"]
select: {order_no: order_no}
`

func setup(dir string) {
	// Ledger: one committed run of the pipeline, then 5M entries.
	kdir := filepath.Join(dir, "ledger")
	st, err := duckstate.Open(kdir, "abo")
	check(err)
	r, err := st.Begin(ctx, state.RunInfo{Pipeline: "abo", Start: time.Now().Add(-time.Hour)})
	check(err)
	check(r.Commit(ctx, state.Result{}))
	check(st.Close())
	db, err := sql.Open("duckdb", filepath.Join(kdir, "abo.duckdb"))
	check(err)
	exec1(db, centsMacro)
	_, err = db.Exec(`INSERT INTO ledger SELECT 'abo', abo_nr || '|' || period, ` + contentHashSQL + `, '1', now()::TIMESTAMP FROM (
		SELECT 'A-' || lpad(i::VARCHAR, 8, '0') AS abo_nr, '2026-11' AS period, cents(500 + i * 7919 % 20000) AS amount
		FROM range(` + strconv.Itoa(ledgerKeys) + `) t(i))`)
	check(err)
	check(db.Close())

	// Reconcile: orders.csv and the same statement lines as statement.csv for the raw SQL.
	f, err := os.Create(filepath.Join(dir, "orders.csv"))
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("order_no,e2e,amount,customer\n")
	for k := 0; k < orders; k++ {
		c := orderCents(k)
		fmt.Fprintf(w, "%s,E2E-%07d,%d.%02d,Kunde %d\n", orderNo(k), k, c/100, c%100, k%50000)
	}
	check(w.Flush())
	check(f.Close())
	f, err = os.Create(filepath.Join(dir, "statement.csv"))
	check(err)
	w = bufio.NewWriterSize(f, 1<<20)
	w.WriteString("e2e,amount,text\n")
	for j := 0; j < lines; j++ {
		e2e, c, text := line(j)
		fmt.Fprintf(w, "%s,%d.%02d,%s\n", e2e, c/100, c%100, text)
	}
	check(w.Flush())
	check(f.Close())
}

func copyFile(from, to string) {
	in, err := os.Open(from)
	check(err)
	defer in.Close()
	out, err := os.Create(to)
	check(err)
	_, err = io.Copy(out, in)
	check(err)
	check(out.Close())
}

// ---- kontor -------------------------------------------------------------

func build(name, yaml string, env sdk.Env) sdk.Transform {
	c, ok := staging.Plugin().Component(name)
	if !ok {
		check(fmt.Errorf("no component %s", name))
	}
	cfg, err := sdk.ParseConfig(c.Spec, yaml)
	check(err)
	t, err := c.NewTransform(ctx, cfg, env)
	check(err)
	return t
}

func env(dir string, st sdk.State) sdk.Env {
	return sdk.Env{Step: "transforms[0]", Pipeline: "abo", Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BatchSize: 1000, State: st, Now: time.Now()}
}

// kontorDedup runs the dedup transform as the runner does: records in
// batches of 1000 (generated here, as a source would decode them), then
// the commit hook, Prepare and Commit of the run.
func kontorDedup(dir string) map[string]int {
	st, err := duckstate.Open(dir, "abo")
	check(err)
	defer st.Close()
	run, err := st.Begin(ctx, state.RunInfo{Pipeline: "abo"})
	check(err)
	tr := build("dedup", "key: [abo_nr, period]\nscope: ledger\non_change: update\n", env("", run))
	schema := record.MustSchema(record.Field{Name: "abo_nr", Kind: record.KindString}, record.Field{Name: "period", Kind: record.KindString},
		record.Field{Name: "amount", Kind: record.KindDecimal})
	counts := map[string]int{}
	take := func(b *record.Batch) error {
		counts["passed"] += len(b.Records)
		counts["rejected"] += len(b.Rejects)
		return nil
	}
	for j := 0; j < dedupRecs; j += 1000 {
		in := &record.Batch{Records: make([]record.Record, 0, 1000)}
		for k := j; k < j+1000; k++ {
			i, c := incoming(k)
			d, err := record.NewDecimal(c, 2)
			check(err)
			in.Records = append(in.Records, record.Record{Schema: schema, Values: []record.Value{record.String(aboNr(i)), record.String("2026-11"), record.Dec(d)},
				Origin: record.Origin{File: "in/abos.csv", Line: k + 2, Index: int64(k + 1)}})
		}
		var out record.Batch
		check(tr.Process(ctx, in, &out))
		check(take(&out))
	}
	check(tr.(sdk.Flusher).Flush(ctx, take))
	mark("process")
	check(tr.(state.CommitHook).BeforePrepare(ctx, run, func(record.Origin) bool { return false }))
	check(tr.Close())
	mark("ledger entries")
	check(run.Prepare(ctx, state.Result{Status: state.StatusWarning}))
	mark("prepare")
	check(run.Commit(ctx, state.Result{Status: state.StatusWarning}))
	mark("commit")
	check(st.Close())
	mark("close")
	return counts
}

func kontorReconcile(dir string) map[string]int {
	tr := build("reconcile", reconcileYAML, env(dir, nil))
	defer tr.Close()
	schema := record.MustSchema(record.Field{Name: "e2e", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "text", Kind: record.KindString})
	for j := 0; j < lines; j += 1000 {
		in := &record.Batch{Records: make([]record.Record, 0, 1000)}
		for k := j; k < j+1000; k++ {
			e2e, c, text := line(k)
			d, err := record.NewDecimal(c, 2)
			check(err)
			e := record.String(e2e)
			if e2e == "" {
				e = record.Null // as the CSV reader gives an empty field
			}
			in.Records = append(in.Records, record.Record{Schema: schema, Values: []record.Value{e, record.Dec(d), record.String(text)},
				Origin: record.Origin{File: "camt.xml", Index: int64(k + 1)}})
		}
		var out record.Batch
		check(tr.Process(ctx, in, &out))
	}
	mark("stage")
	counts := map[string]int{}
	check(tr.(sdk.Flusher).Flush(ctx, func(b *record.Batch) error {
		for _, r := range b.Records {
			counts[r.Value("match_status").String()]++
		}
		return nil
	}))
	mark("match+emit")
	return counts
}

// ---- raw DuckDB ---------------------------------------------------------

func exec1(db *sql.DB, q string) {
	if _, err := db.Exec(q); err != nil {
		check(fmt.Errorf("%w\n%s", err, q))
	}
}

// rawDedup is what dedup does, typed as SQL: first record per key within
// the input, then against the ledger (new or changed content passes),
// the passed records kept in a table, and the ledger updated (changed
// keys) and extended (new keys) in one transaction.
func rawDedup(dir string) map[string]int {
	db, err := sql.Open("duckdb", filepath.Join(dir, "abo.duckdb"))
	check(err)
	defer db.Close()
	exec1(db, centsMacro)
	exec1(db, `CREATE TEMP TABLE incoming AS SELECT j, abo_nr, period, amount, abo_nr || '|' || period AS key, `+contentHashSQL+` AS hash FROM (
		SELECT j, 'A-' || lpad(i::VARCHAR, 8, '0') AS abo_nr, '2026-11' AS period,
			cents(500 + i * 7919 % 20000 + CASE WHEN i < `+strconv.Itoa(ledgerKeys)+` AND i % 100 = 0 THEN 1 ELSE 0 END) AS amount
		FROM (SELECT j, `+strconv.Itoa(dedupFirst)+` + j - CASE WHEN j % 1000 = 999 THEN 1 ELSE 0 END AS i FROM range(`+strconv.Itoa(dedupRecs)+`) t(j)))`)
	mark("incoming")
	exec1(db, `BEGIN`)
	exec1(db, `CREATE TEMP TABLE passed AS SELECT f.* FROM (SELECT * FROM incoming QUALIFY row_number() OVER (PARTITION BY key ORDER BY j) = 1) f
		LEFT JOIN ledger l ON l.scope = 'abo' AND l.key = f.key WHERE l.hash IS NULL OR l.hash <> f.hash ORDER BY f.j`)
	mark("dedup")
	exec1(db, `UPDATE ledger SET hash = p.hash, run_id = 'raw', exported_at = now()::TIMESTAMP FROM passed p WHERE ledger.scope = 'abo' AND ledger.key = p.key`)
	exec1(db, `INSERT INTO ledger SELECT 'abo', p.key, p.hash, 'raw', now()::TIMESTAMP FROM passed p ANTI JOIN ledger l ON l.scope = 'abo' AND l.key = p.key`)
	exec1(db, `COMMIT`)
	mark("ledger update+insert")
	var passed, total int
	check(db.QueryRow(`SELECT (SELECT count(*) FROM passed), (SELECT count(*) FROM incoming)`).Scan(&passed, &total))
	var distinct int
	check(db.QueryRow(`SELECT count(DISTINCT key) FROM incoming`).Scan(&distinct))
	markUntimed("count")
	check(db.Close())
	mark("close")
	return map[string]int{"passed": passed, "rejected": total - distinct}
}

// rawReconcile is what reconcile does, typed as SQL over the two CSV
// files: the rules in order with the same matched/ambiguous semantics,
// then every line with its status and the matched order number.
func rawReconcile(dir string) map[string]int {
	db, err := sql.Open("duckdb", "")
	check(err)
	defer db.Close()
	exec1(db, `CREATE MACRO normalize(t) AS upper(regexp_replace(coalesce(t, ''), '[^A-Za-z0-9ÄÖÜäöüß]', '', 'g'))`)
	exec1(db, `CREATE TABLE stream AS SELECT row_number() OVER () AS _row, * FROM read_csv('`+filepath.Join(dir, "statement.csv")+`', header = true,
		columns = {'e2e': 'VARCHAR', 'amount': 'DECIMAL(18,2)', 'text': 'VARCHAR'})`)
	exec1(db, `CREATE TABLE ref AS SELECT row_number() OVER () AS _ref, * FROM read_csv('`+filepath.Join(dir, "orders.csv")+`', header = true, all_varchar = true)`)
	mark("load")
	exec1(db, `CREATE TABLE settled (_row BIGINT, status VARCHAR, rule VARCHAR, _ref BIGINT)`)
	for _, rule := range []struct{ name, cond string }{
		{"e2e", "s.e2e = r.e2e"},
		{"amount_ref", "s.amount = r.amount::DECIMAL(18,2) AND contains(normalize(s.text), normalize(r.order_no))"},
	} {
		exec1(db, `INSERT INTO settled
WITH cand AS (
	SELECT s._row, r._ref FROM stream s JOIN ref r ON `+rule.cond+`
	WHERE s._row NOT IN (SELECT _row FROM settled) AND r._ref NOT IN (SELECT _ref FROM settled WHERE _ref IS NOT NULL)
), counted AS (
	SELECT _row, _ref, count(*) OVER (PARTITION BY _row) AS nr, count(*) OVER (PARTITION BY _ref) AS nl FROM cand
)
SELECT _row, CASE WHEN nr = 1 AND nl = 1 THEN 'matched' ELSE 'ambiguous' END, '`+rule.name+`', CASE WHEN nr = 1 AND nl = 1 THEN _ref END
FROM counted QUALIFY row_number() OVER (PARTITION BY _row ORDER BY _ref) = 1`)
	}
	mark("rules")
	exec1(db, `CREATE TABLE result AS SELECT s.*, coalesce(st.status, 'unmatched') AS match_status, coalesce(st.rule, '') AS match_rule, r.order_no
		FROM stream s LEFT JOIN settled st ON st._row = s._row LEFT JOIN ref r ON r._ref = st._ref ORDER BY s._row`)
	mark("result")
	rows, err := db.Query(`SELECT match_status, count(*) FROM result GROUP BY 1`)
	check(err)
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		check(rows.Scan(&s, &n))
		counts[s] = n
	}
	check(rows.Err())
	return counts
}
