package tixngo

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// FuzzEncodeTicket: whatever the record holds, the encoder either refuses it
// or writes valid JSON that the simulator's validation accepts.
func FuzzEncodeTicket(f *testing.F) {
	f.Add("T1", "Erika", "e@x.org", "39.90", "2025-10-03T19:30:00Z")
	f.Add("T (2)/+", "Ä\"\\\n\u2028", "", "-0.001", "2025-13-03")
	f.Add("", "\xff\xfe", "x", "1e5", "")
	m, err := newMapping(injectDefaults, nil, nil, tixngoapi.TicketRules, tixngoapi.RequiredObjects, "ticketId")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, name, email, price, start string) {
		r := ticket(1)
		r.Set("ticket_id", record.String(id))
		r.Set("first_name", record.String(name))
		r.Set("email", record.String(email))
		r.Set("price", record.String(price))
		r.Set("event_start", record.String(start))
		var buf bytes.Buffer
		_, ierr := m.encode(&buf, r)
		if ierr != nil {
			if buf.Len() != 0 {
				t.Fatal("refused item left bytes behind")
			}
			return
		}
		var v map[string]any
		d := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("invalid JSON %q: %v", buf.String(), err)
		}
		if errs := tixngoapi.ValidateTicket(v); len(errs) > 0 {
			t.Fatalf("encoder accepted what the API refuses: %v in %s", errs, buf.String())
		}
	})
}
