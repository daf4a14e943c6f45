package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/plugins/tixngo/tixngosim"
)

// TestTixngoInjectCLI runs pipelines/tixngo-inject.yaml through `kontor run`
// with the DuckDB state store (issue 6 acceptance): with TIXnGO down the
// run ends ERROR with exit 1 and marks nothing processed; with the server
// back 2,500 tickets go out in 3 calls; a second run sends nothing.
func TestTixngoInjectCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("retries against a dead server take seconds")
	}
	sim := tixngosim.New(tixngosim.Options{APIKey: "cli-key"})
	base, stop, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := t.TempDir()
	pdata, err := os.ReadFile("../../pipelines/tixngo-inject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pfile := filepath.Join(dir, "tixngo-inject.yaml")
	if err := os.WriteFile(pfile, pdata, 0o644); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("Ticket-Nr;Vorstellung-ID;Veranstaltung;Beginn;Spielstaette;Ort;PLZ;Barcode;Vorname;Nachname;E-Mail;Preis;Kategorie;Vorgang\n")
	for i := 0; i < 2500; i++ {
		fmt.Fprintf(&csv, "T-%05d;ZF-2025-10-03;Die Zauberflöte;2025-10-03T19:30:00+02:00;Großes Haus;Dortmund;44137;47110%05d;Erika;Mustermann;e%d@example.org;39,90;ADULT;V-%d\n", i, i, i, i/4)
	}
	os.MkdirAll(filepath.Join(dir, "in"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "in", "tickets_1.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	t.Setenv("TIXNGO_API_KEY", "cli-key")
	kontorRun := func() (int, string) {
		code, _, errs := runCLI(t, "run", pfile, "--state-dir", stateDir, "-q")
		return code, errs
	}

	// TIXnGO down: ERROR, exit 1, nothing in the ledger.
	t.Setenv("TIXNGO_API_URL", "http://127.0.0.1:9/v3/organizer/tickets")
	if code, errs := kontorRun(); code != 1 {
		t.Fatalf("server down: exit %d, want 1\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "tixngo-inject.duckdb")); err != nil {
		t.Fatalf("no DuckDB state file: %v", err)
	}

	// Server back: everything is delivered, in 3 calls of at most 1000.
	t.Setenv("TIXNGO_API_URL", base+"/organizer/tickets")
	if code, errs := kontorRun(); code != 0 {
		t.Fatalf("server back: exit %d\n%s", code, errs)
	}
	st := sim.Stats()
	if st.Calls != 3 || st.Tickets != 2500 || st.Duplicates != 0 {
		t.Fatalf("after run 2: %+v", st)
	}
	var items []int
	for _, c := range sim.Calls() {
		items = append(items, c.Items)
	}
	if fmt.Sprint(items) != "[1000 1000 500]" {
		t.Fatalf("call sizes %v", items)
	}

	// Second run: the ledger knows every ticket, nothing is sent.
	if code, errs := kontorRun(); code != 0 {
		t.Fatalf("run 3: exit %d\n%s", code, errs)
	}
	if st := sim.Stats(); st.Calls != 3 || st.Tickets != 2500 {
		t.Fatalf("run 3 sent again: %+v", st)
	}
	code, out, _ := runCLI(t, "history", pfile, "--state-dir", stateDir)
	if code != 0 || !regexp.MustCompile(`(?m)^1\s+ERROR\s`).MatchString(out) || !regexp.MustCompile(`(?m)^2\s+OK\s`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^3\s+OK\s`).MatchString(out) {
		t.Fatalf("history exit %d:\n%s", code, out)
	}
}
