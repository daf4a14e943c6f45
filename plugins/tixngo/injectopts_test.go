package tixngo

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngosim"
)

// iteration_size splits each batch_size batch into sub-calls sent one
// after the other: 2500 tickets, batches of 1000, iterations of 400 ->
// 400,400,200 | 400,400,200 | 400,100.
func TestInjectIterationSize(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	sink := newSink(t, newInject, injectSpec(), url, "iteration_size: 400", testEnv(t, nil))
	if rj, err := sink.Write(context.Background(), batchOf(0, 2500)); err != nil || len(rj) > 0 {
		t.Fatalf("err %v rejects %v", err, rj)
	}
	var items []int
	for _, c := range sim.Calls() {
		items = append(items, c.Items)
	}
	if got := fmt.Sprint(items); got != "[400 400 200 400 400 200 400 100]" {
		t.Fatalf("call sizes %s", got)
	}
	if st := sim.Stats(); st.Tickets != 2500 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// skip_ids: id:<ticket id> and tax numbers are never sent and are not
// rejects (they count as handled, so a ledger records them).
func TestInjectSkipIDs(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	extra := "skip_ids: [\"id:T000001, id:T000003\", \"TAX-5\"]\nfields: {purchaseDetails.taxNumber: file_id}"
	sink := newSink(t, newInject, injectSpec(), url, extra, testEnv(t, nil))
	b := batchOf(0, 6)
	b.Records[5].Values[15] = record.String("TAX-5")
	rj, err := sink.Write(context.Background(), b)
	if err != nil || len(rj) > 0 {
		t.Fatalf("err %v rejects %v", err, rj)
	}
	for _, id := range []string{"T000001", "T000003", "T000005"} {
		if _, ok := sim.Ticket(id); ok {
			t.Errorf("%s was sent", id)
		}
	}
	if st := sim.Stats(); st.Tickets != 3 {
		t.Fatalf("sent %d tickets, want 3", st.Tickets)
	}
	// Tax numbers need the tax number mapped.
	_, err = newInject(context.Background(), config(t, injectSpec(), url, "skip_ids: [\"4711\"]\nfields: {purchaseDetails.taxNumber: \"\"}"), testEnv(t, nil))
	if err == nil || !strings.Contains(err.Error(), "purchaseDetails.taxNumber") {
		t.Fatalf("got %v", err)
	}
}

func TestInjectBarcodeAffixes(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	sink := newSink(t, newInject, injectSpec(), url, "barcode_prefix: TH-\nbarcode_suffix: \"-25\"", testEnv(t, nil))
	b := batchOf(0, 2)
	b.Records[1].Values[8] = record.String(strings.Repeat("x", 506)) // 512 with the affixes: still valid
	if rj, err := sink.Write(context.Background(), b); err != nil || len(rj) > 0 {
		t.Fatalf("err %v rejects %v", err, rj)
	}
	tk, _ := sim.Ticket("T000000")
	if !strings.Contains(string(tk.Payload), `"barcode":"TH-BC0000000000-25"`) {
		t.Fatalf("payload %s", tk.Payload)
	}
	b = batchOf(2, 3)
	b.Records[0].Values[8] = record.String(strings.Repeat("x", 507)) // 513: too long after the affixes
	rj, err := sink.Write(context.Background(), b)
	if err != nil || len(rj) != 1 || rj[0].Field != "barcode" {
		t.Fatalf("err %v rejects %+v", err, rj)
	}
}

func TestInjectMandatoryHolderFields(t *testing.T) {
	sim, url := startSim(t, tixngosim.Options{})
	sink := newSink(t, newInject, injectSpec(), url, "mandatory_holder_fields: [firstname, LASTNAME]", testEnv(t, nil))
	b := batchOf(0, 3)
	b.Records[1].Values[9] = record.Null         // no first name
	b.Records[2].Values[10] = record.String(" ") // blank last name
	rj, err := sink.Write(context.Background(), b)
	if err != nil || len(rj) != 2 {
		t.Fatalf("err %v rejects %+v", err, rj)
	}
	if rj[0].Field != "first_name" || !strings.Contains(rj[0].Reason, "mandatory holder field FIRSTNAME (spectatorDetails.firstName) is missing") ||
		rj[1].Field != "last_name" {
		t.Fatalf("rejects %+v", rj)
	}
	if st := sim.Stats(); st.Tickets != 1 {
		t.Fatalf("sent %d, want 1", st.Tickets)
	}

	for extra, want := range map[string]string{
		"mandatory_holder_fields: [BIRTHDATE]": "mandatory_holder_fields[0]: BIRTHDATE needs spectatorDetails.birthDate mapped",
		"mandatory_holder_fields: [SHOE_SIZE]": `mandatory_holder_fields[0]: unknown holder field "SHOE_SIZE"`,
	} {
		_, err := newInject(context.Background(), config(t, injectSpec(), url, extra), testEnv(t, nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", extra, err)
		} else if _, ok := sdk.AsFieldErrors(err); !ok {
			t.Errorf("%s: not a field error", extra)
		}
	}
	// Mapped, it works.
	if _, err := newInject(context.Background(), config(t, injectSpec(), url, "mandatory_holder_fields: [BIRTHDATE]\nfields: {spectatorDetails.birthDate: birth_date}"), testEnv(t, nil)); err != nil {
		t.Fatal(err)
	}
}
