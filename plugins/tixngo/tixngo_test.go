package tixngo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngosim"
)

const testKey = "sim-key-4711"

func startSim(t testing.TB, o tixngosim.Options) (*tixngosim.Server, string) {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = testKey
	}
	s := tixngosim.New(o)
	base, stop, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s, base + "/organizer/tickets"
}

var ticketSchema = record.MustSchema(
	record.Field{Name: "ticket_id", Kind: record.KindString},
	record.Field{Name: "event_id", Kind: record.KindString},
	record.Field{Name: "event_name", Kind: record.KindString},
	record.Field{Name: "event_start", Kind: record.KindDateTime},
	record.Field{Name: "venue", Kind: record.KindString},
	record.Field{Name: "city", Kind: record.KindString},
	record.Field{Name: "country_code", Kind: record.KindString},
	record.Field{Name: "zip", Kind: record.KindString},
	record.Field{Name: "barcode", Kind: record.KindString},
	record.Field{Name: "first_name", Kind: record.KindString},
	record.Field{Name: "last_name", Kind: record.KindString},
	record.Field{Name: "email", Kind: record.KindString},
	record.Field{Name: "price", Kind: record.KindDecimal},
	record.Field{Name: "currency", Kind: record.KindString},
	record.Field{Name: "category", Kind: record.KindString},
	record.Field{Name: "file_id", Kind: record.KindString},
)

func ticket(i int) record.Record {
	r := record.New(ticketSchema, record.Origin{File: "tickets.csv", Line: i + 2, Index: int64(i + 1)})
	v := r.Values
	v[0] = record.String(fmt.Sprintf("T%06d", i))
	v[1] = record.String(fmt.Sprintf("EV-%d", i%3))
	v[2] = record.String("Die Zauberflöte")
	v[3] = record.DateTime(time.Date(2025, 10, 3, 19, 30, 0, 0, time.FixedZone("CEST", 7200)))
	v[4], v[5], v[6], v[7] = record.String("Großes Haus"), record.String("Dortmund"), record.String("DE"), record.String("44137")
	v[8] = record.String(fmt.Sprintf("BC%010d", i))
	v[9], v[10], v[11] = record.String("Erika"), record.String("Mustermann"), record.String(fmt.Sprintf("e%d@example.org", i))
	v[12] = record.Dec(record.MustDecimal("39.90"))
	v[13], v[14], v[15] = record.String("EUR"), record.String("ADULT"), record.String(fmt.Sprintf("F%d", i/4))
	return r
}

func batchOf(from, to int) *record.Batch {
	b := &record.Batch{}
	for i := from; i < to; i++ {
		b.Records = append(b.Records, ticket(i))
	}
	return b
}

func testEnv(t testing.TB, logs *bytes.Buffer) sdk.Env {
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	} else {
		logger = slog.New(slog.DiscardHandler)
	}
	return sdk.Env{Step: "sinks[0] tixngo.test", Pipeline: "test", Logger: logger, BatchSize: 1000,
		Now: time.Date(2025, 10, 3, 20, 0, 0, 0, time.UTC), State: &sdk.MemState{}}
}

func config(t testing.TB, spec sdk.Spec, url, extra string) sdk.Config {
	t.Helper()
	cfg, err := sdk.ParseConfig(spec, fmt.Sprintf("api_url: %s\napi_key: %s\nbackoff: 1ms\nbackoff_max: 5ms\n%s", url, testKey, extra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newSink(t testing.TB, ctor func(context.Context, sdk.Config, sdk.Env) (sdk.Sink, error), spec sdk.Spec, url, extra string, env sdk.Env) sdk.Sink {
	t.Helper()
	s, err := ctor(context.Background(), config(t, spec, url, extra), env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInject2500InThreeCalls(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	sink := newSink(t, newInject, injectSpec(), url, "", testEnv(t, nil))
	b := batchOf(0, 2500)
	// Hand the records over in reverse order: the sink sorts by ticket id.
	for i, j := 0, len(b.Records)-1; i < j; i, j = i+1, j-1 {
		b.Records[i], b.Records[j] = b.Records[j], b.Records[i]
	}
	rejects, err := sink.Write(context.Background(), b)
	if err != nil || len(rejects) != 0 {
		t.Fatalf("err %v rejects %v", err, rejects)
	}
	if err := sink.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := sim.Stats()
	if st.Calls != 3 || st.Tickets != 2500 || st.ByStatus[tixngoapi.StatusInjected] != 2500 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
	calls := sim.Calls()
	wantFirst := []string{"T000000", "T001000", "T002000"}
	wantItems := []int{1000, 1000, 500}
	for i, c := range calls {
		if c.Method != "POST" || c.Path != "/tickets" || c.Status != 200 || c.Items != wantItems[i] || c.First != wantFirst[i] {
			t.Errorf("call %d: %+v", i, c)
		}
	}
	tk, _ := sim.Ticket("T000042")
	for _, want := range []string{`"price":39.90`, `"startTime":"2025-10-03T19:30:00+02:00"`, `"site":"Großes Haus"`, `"barcode":"BC0000000042"`} {
		if !strings.Contains(string(tk.Payload), want) {
			t.Errorf("payload lacks %s: %s", want, tk.Payload)
		}
	}
	if st.Events != 3 {
		t.Errorf("events created: %d, want 3", st.Events)
	}
}

func TestInjectRejects(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	sink := newSink(t, newInject, injectSpec(), url, "", testEnv(t, nil))
	b := batchOf(0, 6)
	b.Records[1].Set("first_name", record.String(strings.Repeat("x", 51)))
	b.Records[2].Set("ticket_id", record.String("T#1"))
	b.Records[3].Set("zip", record.Null)
	b.Records[4].Set("ticket_id", record.String("T000000")) // duplicate in batch
	rejects, err := sink.Write(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"first_name": "spectatorDetails.firstName is 51 characters long, at most 50 allowed",
		"ticket_id":  "ticketId contains characters outside",
		"zip":        "event.address.zip is required",
	}
	if len(rejects) != 4 {
		t.Fatalf("rejects %v", rejects)
	}
	for _, r := range rejects {
		if w, ok := want[r.Field]; ok && !strings.Contains(r.Reason, w) && !strings.Contains(r.Reason, "more than once") {
			t.Errorf("reject %s: %s", r.Field, r.Reason)
		}
		if r.Step != "sinks[0] tixngo.test" || r.Record.Origin.File != "tickets.csv" {
			t.Errorf("reject without step/origin: %+v", r)
		}
	}
	if st := sim.Stats(); st.Tickets != 2 || st.Calls != 1 {
		t.Fatalf("only valid tickets are sent: %+v", st)
	}
	// A ticket TIXnGO refuses (deleted, then injected again) comes back as a
	// reject with TIXnGO's reason.
	c := newSink(t, newCancel, cancelSpec(), url, "", testEnv(t, nil))
	if rj, err := c.Write(context.Background(), batchOf(0, 1)); err != nil || len(rj) != 0 {
		t.Fatal(err, rj)
	}
	rejects, err = sink.Write(context.Background(), batchOf(0, 1))
	if err != nil || len(rejects) != 1 || !strings.Contains(rejects[0].Reason, "TICKET_DELETED") || rejects[0].Field != "ticket_id" {
		t.Fatalf("err %v rejects %v", err, rejects)
	}
}

func TestCancelAndControl(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	ctx := context.Background()
	inj := newSink(t, newInject, injectSpec(), url, "", testEnv(t, nil))
	if _, err := inj.Write(ctx, batchOf(0, 10)); err != nil {
		t.Fatal(err)
	}
	cancel := newSink(t, newCancel, cancelSpec(), url, "reason: CANCELLED\nshow_deleted: true\n", testEnv(t, nil))
	if rj, err := cancel.Write(ctx, batchOf(0, 3)); err != nil || len(rj) != 0 {
		t.Fatal(err, rj)
	}
	tk, _ := sim.Ticket("T000001")
	if tk.Status != tixngoapi.StatusDeleted {
		t.Fatalf("status %s", tk.Status)
	}
	if len(tk.History) != 3 || tk.History[1].Status != tixngoapi.StatusDeletionPending {
		t.Errorf("history %+v", tk.History)
	}
	control := newSink(t, newControl, controlSpec(), url, "", testEnv(t, nil))
	rj, err := control.Write(ctx, batchOf(2, 6)) // T2 is deleted: rejected
	if err != nil || len(rj) != 1 || !strings.Contains(rj[0].Reason, "TICKET_DELETED") {
		t.Fatalf("err %v rejects %v", err, rj)
	}
	for _, id := range []string{"T000003", "T000004", "T000005"} {
		if tk, _ := sim.Ticket(id); tk.Status != tixngoapi.StatusControlled {
			t.Errorf("%s: %s", id, tk.Status)
		}
	}
	// Unknown tickets are rejected, not errors.
	rj, err = cancel.Write(ctx, batchOf(100, 101))
	if err != nil || len(rj) != 1 || !strings.Contains(rj[0].Reason, "NOT_FOUND") {
		t.Fatalf("err %v rejects %v", err, rj)
	}
}

func readAll(t *testing.T, src sdk.Source) ([]record.Record, []record.Reject) {
	t.Helper()
	var recs []record.Record
	var rejs []record.Reject
	for {
		b, err := src.Next(context.Background())
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatal(err)
		}
		recs = append(recs, b.Records...)
		rejs = append(rejs, b.Rejects...)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	return recs, rejs
}

func TestStatusRoundTripWithPaginationKey(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	ctx := context.Background()
	inj := newSink(t, newInject, injectSpec(), url, "", testEnv(t, nil))
	if _, err := inj.Write(ctx, batchOf(0, 25)); err != nil {
		t.Fatal(err)
	}
	state := &sdk.MemState{}
	env := testEnv(t, nil)
	env.State = state
	run := func(extra string) []record.Record {
		src, err := newStatus(ctx, config(t, statusSpec(), url, "limit: 10\n"+extra), env)
		if err != nil {
			t.Fatal(err)
		}
		recs, rejs := readAll(t, src)
		if len(rejs) != 0 {
			t.Fatal(rejs)
		}
		return recs
	}
	recs := run("")
	if len(recs) != 25 || recs[0].Value("status").Str() != tixngoapi.StatusInjected || recs[0].Value("holder_email").Str() != "e0@example.org" {
		t.Fatalf("first run: %d records, first %v", len(recs), recs[0])
	}
	key1, ok, _ := state.Get(ctx, statusKey)
	if !ok || key1 == "" {
		t.Fatal("pagination key not stored")
	}
	getCalls := func() int { return sim.Stats().CallsByRoute["GET /tickets"] }
	if n := getCalls(); n != 3 {
		t.Errorf("pages fetched: %d, want 3 (10+10+5)", n)
	}
	// Nothing changed: the next run fetches nothing new.
	if recs := run(""); len(recs) != 0 {
		t.Fatalf("second run returned %d records", len(recs))
	}
	// The app downloads two tickets: only those come back, with the owner.
	for _, id := range []string{"T000003", "T000017"} {
		if err := sim.Transition(id, tixngoapi.StatusDownloaded, &tixngosim.Person{FirstName: "Max", Email: "max@example.org"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	recs = run("")
	if len(recs) != 2 || recs[0].Value("ticket_id").Str() != "T000003" || recs[1].Value("owner_email").Str() != "max@example.org" ||
		recs[1].Value("status").Str() != tixngoapi.StatusDownloaded || recs[1].Value("updated_at").Kind() != record.KindDateTime {
		t.Fatalf("third run: %v", recs)
	}
	key3, _, _ := state.Get(ctx, statusKey)
	// date_from re-reads from a date and leaves the stored key alone.
	recs = run("date_from: 2000-01-01T00:00:00Z\nperformance: EV-1\n")
	if len(recs) != 8 { // ids 1,4,...,22 are performance EV-1
		t.Fatalf("date_from run: %d records", len(recs))
	}
	for _, r := range recs {
		if r.Value("event_id").Str() != "EV-1" {
			t.Fatalf("filter not applied: %v", r)
		}
	}
	if k, _, _ := state.Get(ctx, statusKey); k != key3 {
		t.Error("date_from moved the stored key")
	}
	// file_number excludes the other filters.
	_, err := newStatus(ctx, config(t, statusSpec(), url, "file_number: F1\nproduct: P\n"), env)
	if fe, ok := sdk.AsFieldErrors(err); !ok || fe[0].Path != "file_number" {
		t.Fatalf("want file_number field error, got %v", err)
	}
	recs = run("date_from: 2000-01-01T00:00:00Z\nfile_number: F1\n")
	if len(recs) != 4 {
		t.Fatalf("file_number F1: %d records", len(recs))
	}
}

func TestStatusStartsAtSinceWithoutKey(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	ctx := context.Background()
	inj := newSink(t, newInject, injectSpec(), url, "", testEnv(t, nil))
	if _, err := inj.Write(ctx, batchOf(0, 3)); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, nil)
	env.Since = time.Now().Add(time.Hour)
	src, err := newStatus(ctx, config(t, statusSpec(), url, ""), env)
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := readAll(t, src); len(recs) != 0 {
		t.Fatalf("changes before Since returned: %d", len(recs))
	}
	_ = sim
}

func TestFaultsEveryTicketDeliveredExactlyOnce(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{Seed: 7})
	sim.SetFaults(tixngosim.FaultScript{
		Faults: []tixngosim.Fault{
			{Match: "POST /tickets", Drop: true, AfterProcess: true}, // committed, answer lost
			{Match: "POST /tickets", Status: 429, RetryAfter: "0"},
		},
		Random: &tixngosim.RandomFaults{Rate: 0.2, Statuses: []int{503, 429}, RetryAfter: "0"},
	})
	sink := newSink(t, newInject, injectSpec(), url, "batch_size: 50\nretries: 20\nrate_limit: 0\n", testEnv(t, nil))
	for from := 0; from < 2500; from += 500 {
		rj, err := sink.Write(context.Background(), batchOf(from, from+500))
		if err != nil || len(rj) != 0 {
			t.Fatalf("err %v rejects %d", err, len(rj))
		}
	}
	st := sim.Stats()
	faulted := 0
	for _, c := range sim.Calls() {
		if c.Status != 200 {
			faulted++
		}
	}
	if st.Tickets != 2500 || st.Duplicates != 0 || st.ByStatus[tixngoapi.StatusInjected] != 2500 {
		t.Fatalf("stats %+v", st)
	}
	if faulted < 5 || st.IdempotentHits != 1 {
		t.Errorf("faults not exercised: %d faulted calls, %d idempotent replays", faulted, st.IdempotentHits)
	}
	for i := 0; i < 2500; i += 97 {
		if tk, _ := sim.Ticket(fmt.Sprintf("T%06d", i)); tk.Injections != 1 {
			t.Fatalf("ticket %d injected %d times", i, tk.Injections)
		}
	}
}

func TestServerDownIsARunError(t *testing.T) {
	sim := tixngosim.New(tixngosim.Options{APIKey: testKey})
	base, stop, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	sink := newSink(t, newInject, injectSpec(), base+"/organizer/tickets", "retries: 2\n", testEnv(t, nil))
	rj, err := sink.Write(context.Background(), batchOf(0, 10))
	if err == nil || rj != nil {
		t.Fatalf("want error and no outcome, got %v %v", err, rj)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Error("error leaks the key")
	}
}

func TestWrongKeyFailsWithoutRetry(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	cfg := config(t, injectSpec(), url, "")
	cfg["api_key"] = "wrong"
	s, err := newInject(context.Background(), cfg, testEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(context.Background(), batchOf(0, 1)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err %v", err)
	}
	if n := sim.Stats().Calls; n != 1 {
		t.Errorf("401 retried: %d calls", n)
	}
}

func TestRateLimitNeverExceeded(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 2s")
	}
	// The simulator locks the caller out for good after 20 calls in 200ms.
	sim, url := startSim(t, tixngosim.Options{RateLimit: 20, RateWindow: 200 * time.Millisecond})
	sink := newSink(t, newInject, injectSpec(), url, "batch_size: 1\nrate_limit: 20\nrate_period: 200ms\n", testEnv(t, nil))
	rj, err := sink.Write(context.Background(), batchOf(0, 200))
	if err != nil || len(rj) != 0 {
		t.Fatalf("err %v rejects %d", err, len(rj))
	}
	st := sim.Stats()
	if st.Calls != 200 || st.Locked || st.MaxInWindow > 20 {
		t.Fatalf("calls %d locked %v max in window %d (limit 20)", st.Calls, st.Locked, st.MaxInWindow)
	}
	if st.MaxInWindow < 15 {
		t.Errorf("limiter too timid: at most %d calls per window", st.MaxInWindow)
	}
	// Without the client limit the same run trips the lockout: the guard works.
	sim2, url2 := startSim(t, tixngosim.Options{RateLimit: 20, RateWindow: time.Minute})
	sink2 := newSink(t, newInject, injectSpec(), url2, "batch_size: 1\nrate_limit: 0\n", testEnv(t, nil))
	if _, err := sink2.Write(context.Background(), batchOf(0, 30)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("want lockout error, got %v", err)
	}
	if !sim2.Stats().Locked {
		t.Error("simulator not locked")
	}
}

func TestSimulationSendsNothing(t *testing.T) {
	for _, mode := range []string{"simulation", "dry-run"} {
		sim, url := startSim(t, tixngosim.Options{})
		var logs bytes.Buffer
		env := testEnv(t, &logs)
		extra := "simulation: true\n"
		if mode == "dry-run" {
			env.DryRun, extra = true, ""
		}
		sink := newSink(t, newInject, injectSpec(), url, extra+"batch_size: 1000\n", env)
		b := batchOf(0, 2500)
		b.Records[7].Set("email", record.String(strings.Repeat("m", 257)))
		rj, err := sink.Write(context.Background(), b)
		if err != nil || len(rj) != 1 {
			t.Fatalf("%s: err %v rejects %v", mode, err, rj)
		}
		_ = sink.Close(context.Background())
		if n := sim.Stats().Calls; n != 0 {
			t.Fatalf("%s: %d calls sent", mode, n)
		}
		out := logs.String()
		if strings.Count(out, "simulation: call not sent") != 3 || !strings.Contains(out, "items=2499") || strings.Contains(out, testKey) {
			t.Errorf("%s: log:\n%s", mode, out)
		}
	}
}

func TestPrivilegesCreateDefinitionOnce(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	schema := record.MustSchema(record.Field{Name: "privilege_id"}, record.Field{Name: "barcode"}, record.Field{Name: "email"})
	b := &record.Batch{}
	for i := 0; i < 5; i++ {
		r := record.New(schema, record.Origin{Index: int64(i + 1)})
		r.Values[0], r.Values[1], r.Values[2] = record.String(fmt.Sprintf("ABO-%d", i)), record.String(fmt.Sprintf("PB%d", i)), record.String("abo@example.org")
		b.Records = append(b.Records, r)
	}
	b.Records[4].Values[1] = record.Null // no barcode: rejected locally
	extra := "definition:\n  id: ABO-2025\n  name: Theater-Abo 2025/26\n  type: SEASON_CARD\n"
	for run := 0; run < 2; run++ {
		s := newSink(t, newPrivileges, privilegesSpec(), url, extra, testEnv(t, nil))
		rj, err := s.Write(context.Background(), b)
		if err != nil || len(rj) != 1 || rj[0].Field != "barcode" {
			t.Fatalf("run %d: err %v rejects %v", run, err, rj)
		}
	}
	st := sim.Stats()
	if st.Definitions != 1 || st.Privileges != 4 || st.CallsByRoute["POST /privileges/definitions"] != 1 || st.CallsByRoute["GET /privileges/definitions/ABO-2025"] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	_, url := startSim(t, tixngosim.Options{})
	cfg := config(t, injectSpec(), url, "fields:\n  event.address.zip: \"\"\n  \"a..b\": x\n  event.address: y\n")
	_, err := newInject(context.Background(), cfg, testEnv(t, nil))
	fe, ok := sdk.AsFieldErrors(err)
	if !ok || len(fe) != 3 {
		t.Fatalf("want 3 field errors, got %v", err)
	}
	paths := fmt.Sprint(fe)
	for _, p := range []string{"fields.event.address.zip", "fields.a..b", "fields.event.address"} {
		if !strings.Contains(paths, p+":") {
			t.Errorf("missing error for %s in %s", p, paths)
		}
	}
	if _, err := newInject(context.Background(), config(t, injectSpec(), "ftp://x", ""), testEnv(t, nil)); err == nil {
		t.Error("ftp url accepted")
	}
}

func TestAPIURLForms(t *testing.T) {
	for _, u := range []string{"https://api.tixngo.io/v3/organizer/tickets", "https://api.tixngo.io/v3/organizer/", "https://api.tixngo.io/v3"} {
		if got := (Conn{APIURL: u}).Base(); got != "https://api.tixngo.io/v3/" {
			t.Errorf("%s → %s", u, got)
		}
	}
}

func BenchmarkInjectIntoSimulator(b *testing.B) {
	_, url := startSim(b, tixngosim.Options{})
	sink := newSink(b, newInject, injectSpec(), url, "batch_size: 1000\nrate_limit: 0\n", testEnv(b, nil))
	batches := make([]*record.Batch, 20)
	for i := range batches {
		batches[i] = batchOf(i*1000, (i+1)*1000)
	}
	n := 0
	start := time.Now()
	for b.Loop() {
		if _, err := sink.Write(context.Background(), batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*1000)/time.Since(start).Seconds(), "tickets/s")
}

// BenchmarkEncodeTickets measures the sink's own cost per ticket (mapping,
// length checks, JSON) without the network.
func BenchmarkEncodeTickets(b *testing.B) {
	m, err := newMapping(injectDefaults, nil, nil, tixngoapi.TicketRules, tixngoapi.RequiredObjects, "ticketId")
	if err != nil {
		b.Fatal(err)
	}
	recs := batchOf(0, 1000).Records
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		for _, r := range recs {
			if _, ierr := m.encode(&buf, r); ierr != nil {
				b.Fatal(ierr.reason)
			}
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "tickets/s")
}
