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
	dump, err := os.ReadFile(filepath.Join(goldenDir, "v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := sql.Open("duckdb", filepath.Join(dir, "abo_lastschrift.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(dump)); err != nil {
		t.Fatal(err)
	}
	if v, _ := version(ctx, db); v != 1 {
		t.Fatalf("golden version = %d", v)
	}
	db.Close()

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
	if run2.Status != state.StatusWarning || run2.Rejected != 1 || len(run2.Counts) != 1 || run2.Counts[0].Rejected != 1 {
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

// TestSchemaGolden pins the current schema: a change to the tables
// without a new migration shows up as a diff (go test -update rewrites).
func TestSchemaGolden(t *testing.T) {
	db, err := sql.Open("duckdb", filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrate(ctx, db, CurrentVersion); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "# schema version %d\n", CurrentVersion)
	for rows.Next() {
		var tn, cn, dt, nl string
		if err := rows.Scan(&tn, &cn, &dt, &nl); err != nil {
			t.Fatal(err)
		}
		b.WriteString(tn + "." + cn + " " + dt + " nullable=" + nl + "\n")
	}
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
