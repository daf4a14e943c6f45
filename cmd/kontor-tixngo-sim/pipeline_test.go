package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/pluginhost"
	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/staging"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/transform"
	"github.com/kontor-etl/kontor/plugins/all"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngosim"
)

// TestTixngoInjectPipeline runs pipelines/tixngo-inject.yaml through the
// real loader and runner against the in-process simulator: rejected tickets
// are retried on the next run, accepted ones never sent again (the dedup
// ledger), and a run against a dead server fails without touching the ledger.
func TestTixngoInjectPipeline(t *testing.T) {
	sim := tixngosim.New(tixngosim.Options{APIKey: "pipeline-key"})
	base, stop, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	reg, err := pluginhost.NewRegistry(append([]sdk.Plugin{transform.Plugin(), staging.Plugin()}, all.Builtins()...)...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdata, err := os.ReadFile("../../pipelines/tixngo-inject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pfile := filepath.Join(dir, "tixngo-inject.yaml")
	os.WriteFile(pfile, pdata, 0o644)
	os.MkdirAll(filepath.Join(dir, "in"), 0o755)
	csv, _ := os.ReadFile("../../pipelines/tixngo-inject_test/tickets.csv")
	store := state.NewMemory()
	run := func(url, input string) *runner.Report {
		t.Helper()
		if input != "" {
			os.WriteFile(filepath.Join(dir, "in", "tickets_1.csv"), []byte(input), 0o644)
		}
		env := map[string]string{"TIXNGO_API_URL": url, "TIXNGO_API_KEY": "pipeline-key"}
		now := func() time.Time { return time.Date(2025, 10, 1, 10, 0, 0, 0, time.UTC) }
		p, ds := spec.LoadFile(pfile, reg, spec.LoadOptions{Now: now, Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if ds.HasErrors() {
			t.Fatalf("load: %v", ds)
		}
		rep, _ := runner.Run(context.Background(), p, runner.Options{Store: store, Now: now})
		return rep
	}
	url := base + "/organizer/tickets"

	// Run 1: three tickets accepted, the over-long first name rejected (WARNING).
	rep := run(url, string(csv))
	if rep.Status != "WARNING" || rep.RejectsTotal != 1 || !strings.Contains(rep.Rejects[0].Reason, "firstName") {
		t.Fatalf("run 1: %s %d %+v (%s)", rep.Status, rep.RejectsTotal, rep.Rejects, rep.Error)
	}
	if st := sim.Stats(); st.Tickets != 3 || st.ByStatus[tixngoapi.StatusInjected] != 3 {
		t.Fatalf("run 1 stats %+v", st)
	}
	// Run 2 with the name fixed: only T-1003 is sent; the others are in the ledger.
	fixed := strings.Replace(string(csv), "Maximiliane-Friederike-Charlotte-Auguste-Wilhelmine", "Maxi", 1)
	rep = run(url, fixed)
	if rep.Status != "OK" {
		t.Fatalf("run 2: %s %s %+v", rep.Status, rep.Error, rep.Rejects)
	}
	calls := sim.Calls()
	if last := calls[len(calls)-1]; len(calls) != 2 || last.Items != 1 || last.First != "T-1003" {
		t.Fatalf("run 2 calls %+v", calls)
	}
	// Run 3: nothing new, nothing sent.
	if rep = run(url, ""); rep.Status != "OK" || len(sim.Calls()) != 2 {
		t.Fatalf("run 3: %s, %d calls", rep.Status, len(sim.Calls()))
	}
	// A new ticket while TIXnGO is down: the run fails and the ticket is
	// not recorded, so the next run (server back) delivers it.
	more := fixed + "T-1005;TO-2025-10-04;Tosca;2025-10-04T18:00:00+02:00;Großes Haus;Dortmund;44137;4711000005;Ida;Ost;ida@example.org;55,00;VIP;V-504\n"
	if rep = run("http://127.0.0.1:9/v3/organizer/tickets", more); rep.Status != "ERROR" {
		t.Fatalf("run 4 against a dead server: %s", rep.Status)
	}
	if rep = run(url, ""); rep.Status != "OK" {
		t.Fatalf("run 5: %s %s", rep.Status, rep.Error)
	}
	st := sim.Stats()
	if st.Tickets != 5 || st.Duplicates != 0 {
		t.Fatalf("final stats %+v", st)
	}
}
