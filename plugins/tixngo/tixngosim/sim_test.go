package tixngosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

func start(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	s := New(o)
	base, stop, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s, strings.TrimSuffix(base, "/v3")
}

func call(t *testing.T, method, url string, body string, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

const good = `{"ticketId":"A-1","event":{"id":"E1","name":"Tosca","startTime":"2025-10-03T19:30:00+02:00","address":{"site":"Oper","city":"Bonn","countryCode":"DE","zip":"53111"}},"purchaseDetails":{"price":12.50,"currency":"EUR"},"security":{"barcode":"X1"},"spectatorDetails":{"gender":"F","firstName":"Anna"}}`

func TestValidationAndResults(t *testing.T) {
	_, root := start(t, Options{APIKey: "k"})
	auth := map[string]string{"X-Api-Key": "k"}
	bad := strings.NewReplacer(`"A-1"`, `"A-2"`, `"F"`, `"Q"`, `"Anna"`, `"`+strings.Repeat("a", 51)+`"`).Replace(good)
	noSec := strings.Replace(strings.Replace(good, `"A-1"`, `"A-3"`, 1), `"security":{"barcode":"X1"},`, "", 1)
	code, body, _ := call(t, "POST", root+"/v3/organizer/tickets", `{"tickets":[`+good+`,`+bad+`,`+noSec+`,`+good+`]}`, auth)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var res tixngoapi.Results
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	want := []string{"ACCEPTED", "REJECTED", "REJECTED", "REJECTED"}
	for i, r := range res.Results {
		if r.Status != want[i] {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	reasons := res.Results[1].Reason() + res.Results[2].Reason() + res.Results[3].Reason()
	for _, w := range []string{"spectatorDetails.gender", "spectatorDetails.firstName: is 51 characters", "security: is required", "DUPLICATE_TICKET_ID"} {
		if !strings.Contains(reasons, w) {
			t.Errorf("reasons lack %q: %s", w, reasons)
		}
	}
	// Malformed body: 400; no auth: 401; Basic auth with the key as password works.
	if code, _, _ := call(t, "POST", root+"/v3/organizer/tickets", `{"tix":1}`, auth); code != 400 {
		t.Errorf("malformed: %d", code)
	}
	if code, _, _ := call(t, "GET", root+"/v3/organizer/tickets", "", nil); code != 401 {
		t.Errorf("no key: %d", code)
	}
	req, _ := http.NewRequest("GET", root+"/v3/organizer/tickets", nil)
	req.SetBasicAuth("admin@x", "k")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("basic auth: %v %v", err, resp)
	}
	if code, _, _ := call(t, "GET", root+"/v3/organizer/tickets", "", map[string]string{"x_tixngo_key": "k"}); code != 200 {
		t.Errorf("x_tixngo_key: %d", code)
	}
	// The report counts this month's injections per event.
	code, body, _ = call(t, "GET", root+"/v3/organizer/reports/injections?period="+time.Now().Format("2006-01")+"&limit=10&offset=0", "", auth)
	if code != 200 || !strings.Contains(string(body), `"eventId":"E1","eventName":"Tosca"`) || !strings.Contains(string(body), `"grandTotal":1`) {
		t.Errorf("report %d %s", code, body)
	}
	code, body, _ = call(t, "GET", root+"/v3/organizer/events/E1", "", auth)
	if code != 200 || !strings.Contains(string(body), "Tosca") {
		t.Errorf("event %d %s", code, body)
	}
}

func TestLifecycle(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"INJECTED", "DOWNLOADED", true},
		{"INJECTED", "ASSIGNED", false},
		{"DOWNLOADED", "ASSIGNED", true},
		{"ASSIGNED", "PENDING_TRANSFER", true},
		{"PENDING_TRANSFER", "TRANSFERRED", true},
		{"PENDING_TRANSFER", "FAILURE_TRANSFER", true},
		{"INJECTED", "TRANSFERRED", false},
		{"ASSIGNED", "ONLINE_ACTIVATED", true},
		{"ONLINE_ACTIVATED", "CONTROLLED", true},
		{"CONTROLLED", "PENDING_TRANSFER", false},
		{"CONTROLLED", "DELETION_PENDING", true},
		{"DELETION_PENDING", "DELETED", true},
		{"DELETION_PENDING", "DOWNLOADED", false},
		{"DELETED", "INJECTED", false},
		{"INJECTED", "DELETED", false},
	}
	for _, c := range cases {
		if got := allowed(c.from, c.to); got != c.ok {
			t.Errorf("%s → %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

func TestControlEndpointsFaultsAndLockout(t *testing.T) {
	s, root := start(t, Options{RateLimit: 3, RateWindow: time.Hour, DeletionDelay: time.Hour})
	code, _, _ := call(t, "POST", root+"/_sim/faults", `{"faults":[{"match":"GET /tickets","status":429,"retryAfter":"5"}]}`, nil)
	if code != 200 {
		t.Fatal(code)
	}
	code, _, h := call(t, "GET", root+"/v3/organizer/tickets", "", nil)
	if code != 429 || h.Get("Retry-After") != "5" {
		t.Fatalf("fault: %d %v", code, h)
	}
	call(t, "POST", root+"/v3/organizer/tickets", `{"tickets":[`+good+`]}`, nil)
	code, body, _ := call(t, "POST", root+"/v3/organizer/tickets/delete", `{"tickets":[{"ticketId":"A-1"}]}`, nil)
	if code != 200 || !strings.Contains(string(body), "ACCEPTED") {
		t.Fatalf("delete: %d %s", code, body)
	}
	if tk, _ := s.Ticket("A-1"); tk.Status != tixngoapi.StatusDeletionPending {
		t.Errorf("with a deletion delay the ticket stays pending, got %s", tk.Status)
	}
	// Fourth call within the window: locked for good, until unlocked.
	if code, _, _ := call(t, "GET", root+"/v3/organizer/tickets", "", nil); code != 403 {
		t.Fatalf("lockout: %d", code)
	}
	var st Stats
	_, body, _ = call(t, "GET", root+"/_sim/stats", "", nil)
	if err := json.Unmarshal(body, &st); err != nil || !st.Locked || st.MaxInWindow != 4 || st.Calls != 4 {
		t.Fatalf("stats %s", body)
	}
	call(t, "POST", root+"/_sim/reset", "", nil)
	if st := s.Stats(); st.Locked || st.Calls != 0 || st.Tickets != 0 {
		t.Fatalf("reset: %+v", st)
	}
	code, body, _ = call(t, "POST", root+"/_sim/tickets/nope/transition", `{"status":"DOWNLOADED"}`, nil)
	if code != 409 || !bytes.Contains(body, []byte("not found")) {
		t.Errorf("transition of unknown ticket: %d %s", code, body)
	}
}

func TestIdempotentReplay(t *testing.T) {
	s, root := start(t, Options{})
	h := map[string]string{"Idempotency-Key": "abc"}
	for i := 0; i < 3; i++ {
		if code, _, _ := call(t, "POST", root+"/v3/organizer/tickets", `{"tickets":[`+good+`]}`, h); code != 200 {
			t.Fatal(code)
		}
	}
	if tk, _ := s.Ticket("A-1"); tk.Injections != 1 || s.Stats().IdempotentHits != 2 {
		t.Fatalf("injections %d hits %d", tk.Injections, s.Stats().IdempotentHits)
	}
	// Without a key a re-injection is an update, counted as a duplicate delivery.
	call(t, "POST", root+"/v3/organizer/tickets", `{"tickets":[`+good+`]}`, nil)
	if st := s.Stats(); st.Duplicates != 1 {
		t.Fatalf("duplicates %d", st.Duplicates)
	}
}
