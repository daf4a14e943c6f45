package duckstate

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

var update = flag.Bool("update", false, "rewrite testdata/state/schema.golden")

const goldenDir = "../../../testdata/state"

// TestGoldenMigration loads the version-1 golden state, migrates it to the
// current version and checks that history, rejects, ledger, counters,
// checkpoints and the COMMITTING run (whose v1 pending ledger entries move
// to pending_ledger) all survive; then Begin rolls that run forward.
func TestGoldenMigration(t *testing.T) {
	dir := loadGolden(t, "v1.sql", "abo_lastschrift", 1)
	s, err := Open(dir, "abo_lastschrift")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Read-only access works on the unmigrated v1 file.
	hist, err := s.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 5 || hist[0].ID != "5" || hist[0].Status != state.StatusCommitting {
		t.Fatalf("v1 history = %+v", hist)
	}
	unlock, err := s.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r, err := s.Begin(ctx, state.RunInfo{Pipeline: "abo_lastschrift", SHA256: "aa12", Start: time.Date(2026, 5, 5, 6, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Recovery(), "run 5 was interrupted while committing and has been finished (OK)") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	got, err := r.LedgerLookup(ctx, "abo", []string{"A-1|2026-01", "A-2|2026-01", "A-3|2026-04", "A-4|2026-04"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "h1b,h2,h3," {
		t.Fatalf("ledger after migration and recovery = %q", got)
	}
	if n, _ := r.Reserve(ctx, "pain008_msg", 1); n != 4 {
		t.Fatalf("counter = %d, want 4", n)
	}
	if v, _, _ := r.Get(ctx, "source/page"); v != "7" {
		t.Fatalf("checkpoint = %q, want 7", v)
	}
	wm, ok, _ := r.Watermark(ctx)
	if !ok || !wm.Equal(time.Date(2026, 4, 5, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("watermark = %v", wm)
	}
	if err := r.Commit(ctx, state.Result{}); err != nil {
		t.Fatal(err)
	}
	run2, err := s.GetRun(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if run2.Status != state.StatusWarning || run2.Rejected != 1 || len(run2.Counts) != 1 || run2.Counts[0].Rejected != 1 || run2.Message != "" {
		t.Fatalf("run 2 = %+v", run2)
	}
	rej, err := s.Rejects(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Origin != "in/abos.csv:4:12" || rej[0].Record["iban"] != "DE00 1234" {
		t.Fatalf("rejects = %+v", rej)
	}
	run1, _ := s.GetRun(ctx, "1")
	if len(run1.Outputs) != 1 || run1.Outputs[0].Path != "out/pain008-1.xml" || run1.Outputs[0].Rows != 2 {
		t.Fatalf("run 1 outputs = %+v", run1.Outputs)
	}
}

// loadGolden loads the SQL dump file of goldenDir into a fresh state
// file of pipeline and checks its schema version; it returns the state dir.
func loadGolden(t *testing.T, file, pipeline string, wantVersion int) string {
	t.Helper()
	dump, err := os.ReadFile(filepath.Join(goldenDir, file))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := sql.Open("duckdb", filepath.Join(dir, pipeline+".duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(dump)); err != nil {
		t.Fatal(err)
	}
	if v, _ := version(ctx, db); v != wantVersion {
		t.Fatalf("%s: golden version = %d, want %d", file, v, wantVersion)
	}
	return dir
}

// schemaText lists the columns of every table and view of db, one per
// line: table.column type nullable=YES|NO.
func schemaText(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var tn, cn, dt, nl string
		if err := rows.Scan(&tn, &cn, &dt, &nl); err != nil {
			t.Fatal(err)
		}
		b.WriteString(tn + "." + cn + " " + dt + " nullable=" + nl + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// migratedSchema is schemaText of a fresh database migrated to version v.
func migratedSchema(t *testing.T, v int) string {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrate(ctx, db, v); err != nil {
		t.Fatal(err)
	}
	return schemaText(t, db)
}

// TestGoldenMigrationV2 loads the version-2 golden state (written before
// runs had a message), checks that its tables are what migrating to
// version 2 creates, reads its history read-only without migrating it,
// then migrates it: every run survives with an empty message, Begin
// rolls the COMMITTING run forward (its pending ledger rows applied, the
// last entry of a key winning) and a new run's message is stored and read
// back by both the lock holder and a read-only reader.
func TestGoldenMigrationV2(t *testing.T) {
	dir := loadGolden(t, "v2.sql", "orders_inbox", 2)
	{
		db, err := sql.Open("duckdb", filepath.Join(dir, "orders_inbox.duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		got := schemaText(t, db)
		db.Close()
		if want := migratedSchema(t, 2); got != want {
			t.Fatalf("v2.sql is not the version-2 schema:\n%s\nwant:\n%s", got, want)
		}
	}

	s, err := Open(dir, "orders_inbox")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Read-only access works on the unmigrated v2 file (no message column).
	hist, err := s.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 5 || hist[0].ID != "5" || hist[0].Status != state.StatusCommitting || hist[3].Message != "" {
		t.Fatalf("v2 history = %+v", hist)
	}
	if r3, err := s.GetRun(ctx, "3"); err != nil || r3.Status != state.StatusError || !strings.Contains(r3.Error, "before hook refused") {
		t.Fatalf("v2 run 3 = %+v, %v", r3, err)
	}

	unlock, err := s.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 5, 4, 10, 25, 0, 0, time.UTC)
	r, err := s.Begin(ctx, state.RunInfo{Pipeline: "orders_inbox", SHA256: "bb22", Start: start})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Recovery(), "run 5 was interrupted while committing and has been finished (OK)") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	got, err := r.LedgerLookup(ctx, "orders", []string{"O-1", "O-2", "O-5", "O-9", "O-3"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "h1,h2b,h5,h9b," {
		t.Fatalf("ledger after migration and recovery = %q", got)
	}
	if n, _ := r.Reserve(ctx, "batch", 1); n != 6 {
		t.Fatalf("counter = %d, want 6", n)
	}
	if v, _, _ := r.Get(ctx, "source/page"); v != "5" {
		t.Fatalf("checkpoint = %q, want 5", v)
	}
	wm, ok, _ := r.Watermark(ctx)
	if !ok || !wm.Equal(time.Date(2026, 5, 4, 10, 20, 0, 0, time.UTC)) {
		t.Fatalf("watermark = %v", wm)
	}
	const msg = "inbox in: no files matching orders_*.csv"
	if err := r.Commit(ctx, state.Result{End: start.Add(time.Second), Message: msg}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"1": "", "2": "", "3": "", "4": "", "5": "", "6": msg} {
		run, err := s.GetRun(ctx, id)
		if err != nil || run.Message != want {
			t.Errorf("migrated run %s: message %q, want %q (%v)", id, run.Message, want, err)
		}
	}
	run4, _ := s.GetRun(ctx, "4")
	if run4.Status != state.StatusWarning || run4.Rejected != 1 || len(run4.Outputs) != 1 || run4.Outputs[0].Path != "out/orders-4.csv" {
		t.Fatalf("run 4 = %+v", run4)
	}
	rej, err := s.Rejects(ctx, "4")
	if err != nil || len(rej) != 1 || rej[0].Origin != "in/orders_4.csv:3:5" || rej[0].Record["amount"] != "12,5x" {
		t.Fatalf("rejects = %+v, %v", rej, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	// A reader that does not hold the lock opens the migrated file read-only.
	ro, err := Open(dir, "orders_inbox")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	hist, err = ro.History(ctx, 2)
	if err != nil || len(hist) != 2 || hist[0].ID != "6" || hist[0].Status != state.StatusOK || hist[0].Message != msg ||
		hist[1].Status != state.StatusOK || hist[1].Message != "" {
		t.Fatalf("history after migration = %+v, %v", hist, err)
	}
}

// TestSchemaGolden pins the current schema: a change to the tables
// without a new migration shows up as a diff (go test -update rewrites).
func TestSchemaGolden(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "# schema version %d\n", CurrentVersion)
	b.WriteString(migratedSchema(t, CurrentVersion))
	path := filepath.Join(goldenDir, "schema.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("schema changed (add a migration, then go test -update):\n%s\nwant:\n%s", b.String(), want)
	}
}
