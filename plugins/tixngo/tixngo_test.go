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
