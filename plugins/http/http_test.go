package http

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func env() sdk.Env {
	return sdk.Env{Step: "http-step", State: &sdk.MemState{}, Now: time.Now()}
}

func parse(t *testing.T, spec sdk.Spec, y string) sdk.Config {
	t.Helper()
	c, err := sdk.ParseConfig(spec, y)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func drain(t *testing.T, src sdk.Source) ([]record.Record, []record.Reject, error) {
	t.Helper()
	var recs []record.Record
	var rejs []record.Reject
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return recs, rejs, nil
		}
		if err != nil {
			return recs, rejs, err
		}
		recs = append(recs, b.Records...)
		rejs = append(rejs, b.Rejects...)
	}
}

func TestReadCursorPaginationExactDecimals(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		switch r.URL.Query().Get("cursor") {
		case "":
			io.WriteString(w, `{"data":[{"id":"A","total":{"amount":0.1},"at":"2025-10-26T02:30:00+02:00"},{"id":"B","total":{"amount":12345678901234.56}}],"meta":{"next_cursor":"c2"}}`)
		case "c2":
			io.WriteString(w, `{"data":[{"id":"C","total":{"amount":1e3}},{"total":{"amount":1}}],"meta":{"next_cursor":"c3"}}`)
		case "c3":
			io.WriteString(w, `{"data":[{"id":"D","total":{"amount":"-7.005"}}],"meta":{"next_cursor":null}}`)
		}
	}))
	defer srv.Close()
	cfg := parse(t, readSpec(), `url: `+srv.URL+`/orders
items_path: data
pagination: cursor
cursor_path: meta.next_cursor
since_param: updated_since
page_size: 2
fields:
  - {name: order_id, path: id, required: true}
  - {name: amount, path: total.amount, type: decimal}
  - {name: at, type: datetime}
`)
	e := env()
	e.Since = time.Date(2025, 10, 26, 0, 59, 0, 0, time.UTC)
	src, err := newRead(context.Background(), cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	recs, rejs, err := drain(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || len(rejs) != 2 {
		t.Fatalf("records %v rejects %v", recs, rejs)
	}
	if recs[0].Value("amount").Decimal().String() != "0.1" || recs[1].Value("amount").Decimal().String() != "12345678901234.56" || recs[2].Value("amount").Decimal().String() != "-7.005" {
		t.Errorf("decimals not exact: %v", recs)
	}
	if recs[0].Value("at").Time().UTC().Hour() != 0 {
		t.Errorf("datetime: %v", recs[0].Value("at"))
	}
	if rejs[0].Field != "amount" || !strings.Contains(rejs[0].Reason, `"1e3" is not an exact decimal`) || rejs[0].Record.Origin.Path != "data[0]" {
		t.Errorf("reject %+v", rejs[0])
	}
	if rejs[1].Field != "order_id" || !strings.Contains(rejs[1].Reason, "id is missing") {
		t.Errorf("reject %+v", rejs[1])
	}
	if len(queries) != 3 || !strings.Contains(queries[0], "updated_since=2025-10-26T00%3A59%3A00Z") || !strings.Contains(queries[1], "cursor=c2") {
		t.Errorf("queries %v", queries)
	}
}

func TestReadPageOffsetNextURLAndBound(t *testing.T) {
	items := make([]string, 7)
	for i := range items {
		items[i] = fmt.Sprintf(`{"n":%d}`, i)
	}
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		q := r.URL.Query()
		lo := 0
		if p := q.Get("page"); p != "" {
			n, _ := strconv.Atoi(p)
			lo = (n - 1) * 3
		}
		if o := q.Get("offset"); o != "" {
			lo, _ = strconv.Atoi(o)
		}
		if o := q.Get("at"); o != "" {
			lo, _ = strconv.Atoi(o)
		}
		hi := min(lo+3, len(items))
		next := "null"
		if hi < len(items) {
			next = fmt.Sprintf(`"%s/x?at=%d"`, "http://"+r.Host, hi)
		}
		fmt.Fprintf(w, `{"results":[%s],"next":%s}`, strings.Join(items[lo:hi], ","), next)
	}))
	defer srv.Close()
	for _, mode := range []string{"page", "offset", "next_url"} {
		cfg := parse(t, readSpec(), "url: "+srv.URL+"/x\nitems_path: results\npage_size: 3\npagination: "+mode+"\nfields: [{name: n, type: int}]\n")
		src, err := newRead(context.Background(), cfg, env())
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := drain(t, src)
		if err != nil || len(recs) != 7 || recs[6].Value("n").Int() != 6 {
			t.Fatalf("%s: err %v, %d records", mode, err, len(recs))
		}
	}
	cfg := parse(t, readSpec(), "url: "+srv.URL+"/x\nitems_path: results\npage_size: 3\npagination: page\nmax_pages: 2\nfields: [{name: n, type: int}]\n")
	src, _ := newRead(context.Background(), cfg, env())
	if _, _, err := drain(t, src); err == nil || !strings.Contains(err.Error(), "max_pages=2") {
		t.Fatalf("bound: %v", err)
	}
}

// fakeCRM replaces a whole customer on PUT, like Hypersoft's SetCustomer.
type fakeCRM struct {
	mu    sync.Mutex
	objs  map[string]json.RawMessage
	calls []string
}

func (f *fakeCRM) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	id := strings.TrimPrefix(r.URL.Path, "/customers/")
	body, _ := io.ReadAll(r.Body)
	switch r.Method {
	case "GET":
		if o, ok := f.objs[id]; ok {
			w.Write(o)
			return
		}
		w.WriteHeader(404)
	case "PUT":
		f.objs[id] = body
	case "POST":
		if strings.Contains(string(body), `"reject-me"`) {
			w.WriteHeader(422)
			io.WriteString(w, `{"error":"name invalid"}`)
			return
		}
		if r.URL.Path == "/customers" {
			var m map[string]any
			json.Unmarshal(body, &m)
			id = fmt.Sprint(m["customerNo"])
		}
		f.objs[id] = body
		w.WriteHeader(201)
	}
}

func TestWriteUpsertReadModifyWrite(t *testing.T) {
	crm := &fakeCRM{objs: map[string]json.RawMessage{
		"100": json.RawMessage(`{"customerNo":"100","name":{"last":"Alt","first":"Eva"},"birthday":"1970-01-02","points":12.50}`),
	}}
	srv := httptest.NewServer(crm)
	defer srv.Close()
	cfg := parse(t, writeSpec(), `url: `+srv.URL+`/customers/{customer_no}
mode: record
upsert: true
create_url: `+srv.URL+`/customers
fields:
  customerNo: customer_no
  name.last: last_name
  balance: balance
`)
	s, err := newWrite(context.Background(), cfg, env())
	if err != nil {
		t.Fatal(err)
	}
	sch := record.MustSchema(record.Field{Name: "customer_no"}, record.Field{Name: "last_name"}, record.Field{Name: "balance"})
	mk := func(no, last, bal string) record.Record {
		r := record.New(sch, record.Origin{})
		r.Values[0], r.Values[1], r.Values[2] = record.String(no), record.String(last), record.Dec(record.MustDecimal(bal))
		return r
	}
	rj, err := s.Write(context.Background(), &record.Batch{Records: []record.Record{mk("100", "Neu", "0.10"), mk("200", "Frisch", "99999999999.99"), mk("300", "reject-me", "1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rj) != 1 || !strings.Contains(rj[0].Reason, "422") || !strings.Contains(rj[0].Reason, "name invalid") {
		t.Fatalf("rejects %v", rj)
	}
	var got map[string]any
	json.Unmarshal(crm.objs["100"], &got)
	if string(crm.objs["100"]) != `{"balance":0.10,"birthday":"1970-01-02","customerNo":"100","name":{"first":"Eva","last":"Neu"},"points":12.50}` {
		t.Errorf("merged object: %s", crm.objs["100"])
	}
	if string(crm.objs["200"]) != `{"balance":99999999999.99,"customerNo":"200","name":{"last":"Frisch"}}` {
		t.Errorf("created object: %s", crm.objs["200"])
	}
	want := "GET /customers/100,PUT /customers/100,GET /customers/200,POST /customers,GET /customers/300,POST /customers"
	if strings.Join(crm.calls, ",") != want {
		t.Errorf("calls %v", crm.calls)
	}
}

func TestWriteBatchMode(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	fail := 0
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			w.WriteHeader(503)
			return
		}
		bodies = append(bodies, string(b))
		if strings.Contains(string(b), `"bad"`) {
			w.WriteHeader(400)
			io.WriteString(w, `{"detail":"bad row"}`)
		}
	}))
	defer srv.Close()
	cfg := parse(t, writeSpec(), "url: "+srv.URL+"/import\nbatch_size: 2\nbatch_key: items\nbackoff: 1ms\n")
	s, err := newWrite(context.Background(), cfg, env())
	if err != nil {
		t.Fatal(err)
	}
	sch := record.MustSchema(record.Field{Name: "id"}, record.Field{Name: "amount"}, record.Field{Name: "day"})
	var recs []record.Record
	for i, id := range []string{"a", "b", "bad", "c", "d"} {
		r := record.New(sch, record.Origin{Index: int64(i + 1)})
		r.Values[0], r.Values[1], r.Values[2] = record.String(id), record.Dec(record.MustDecimal("1.10")), record.DateValue(record.NewDate(2025, 3, 30))
		recs = append(recs, r)
	}
	fail = 1 // the first call is answered 503 and retried
	rj, err := s.Write(context.Background(), &record.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if len(rj) != 2 || !strings.Contains(rj[0].Reason, "bad row") {
		t.Fatalf("rejects %v", rj)
	}
	if len(bodies) != 3 || bodies[0] != `{"items":[{"amount":1.10,"day":"2025-03-30","id":"a"},{"amount":1.10,"day":"2025-03-30","id":"b"}]}` {
		t.Fatalf("bodies %v", bodies)
	}
	// The API down for good: the run fails.
	fail = 100
	if _, err := s.Write(context.Background(), &record.Batch{Records: recs[:1]}); err == nil {
		t.Fatal("want error")
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := newWrite(context.Background(), parse(t, writeSpec(), "url: http://127.0.0.1:1/x/{id}\nupsert: true\n"), env())
	if fe, ok := sdk.AsFieldErrors(err); !ok || len(fe) != 2 {
		t.Fatalf("want upsert and url errors, got %v", err)
	}
	_, err = newRead(context.Background(), parse(t, readSpec(), "url: ftp://x\nfields: [{name: a, path: 'a..b'}]\n"), env())
	if err == nil || !strings.Contains(err.Error(), "fields[0].path") {
		t.Fatalf("got %v", err)
	}
}

func FuzzConvertValue(f *testing.F) {
	for _, s := range []string{`0.1`, `1e400`, `"2025-02-30"`, `{"a":[1,2.5,null]}`, `-0`, `"x"`, `true`, `123456789012345678901234567890`} {
		f.Add(s, "decimal")
		f.Add(s, "json")
	}
	f.Fuzz(func(t *testing.T, text, typ string) {
		var v any
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return
		}
		for _, ty := range append(fieldTypes, typ) {
			val, err := convertValue(v, FieldMap{Name: "x", Type: ty})
			if err == nil && ty == "decimal" && val.Kind() != record.KindDecimal {
				t.Fatalf("decimal gave %v", val)
			}
		}
	})
}

func TestWriteDryRunSendsNothing(t *testing.T) {
	n := 0
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { n++ }))
	defer srv.Close()
	sch := record.MustSchema(record.Field{Name: "id"})
	r := record.New(sch, record.Origin{})
	r.Values[0] = record.String("7")
	for _, y := range []string{"url: " + srv.URL + "/x\n", "url: " + srv.URL + "/x/{id}\nmode: record\nupsert: true\n"} {
		e := env()
		e.DryRun = true
		s, err := newWrite(context.Background(), parse(t, writeSpec(), y), e)
		if err != nil {
			t.Fatal(err)
		}
		if rj, err := s.Write(context.Background(), &record.Batch{Records: []record.Record{r}}); err != nil || len(rj) != 0 {
			t.Fatal(err, rj)
		}
		s.Close(context.Background())
	}
	if n != 0 {
		t.Fatalf("%d calls in a dry run", n)
	}
}

// TestDecodeJSONDamaged: a damaged response body fails the page with the
// line and column of the damage instead of being repaired silently
// (encoding/json replaces invalid UTF-8 by U+FFFD and ignores trailing data).
func TestDecodeJSONDamaged(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"items":[{"a":"M` + "\xfc" + `ller"}]}`, "invalid JSON: byte 0xFC at line 1, column 18 is not UTF-8"},
		{"{\"items\":[\n{\"a\":1},\n{\"a\":2}", "the body ends at line 3, column 8 before the document is complete (truncated response?)"},
		{"{\"items\":[\n  {\"a\":1,}]}", "invalid JSON at line 2, column 10:"},
		{`{"items":[]}{"items":[]}`, "data after the document at line 1, column 13"},
		{`{"items":[]}` + "\n<html>proxy error</html>", "data after the document at line 2, column 1"},
	} {
		_, err := decodeJSON([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.body, err, tc.want)
		}
	}
	doc, err := decodeJSON([]byte("{\"items\":[{\"amount\":0.10}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.(map[string]any)["items"].([]any)[0].(map[string]any)["amount"]; got != json.Number("0.10") {
		t.Errorf("amount %v, want the exact text 0.10", got)
	}
}

// TestReadDuplicateKeys: a key twice in one item object rejects the item,
// naming the key path and both positions; the reject keeps the item's JSON
// text (also for other rejects); a duplicate outside the items fails the
// page. Keys are compared as encoding/json compares them (escapes resolved).
func TestReadDuplicateKeys(t *testing.T) {
	body := "{\"data\":[\n" +
		`{"id":"A","amount":1.00,"amount":100.00},` + "\n" +
		`{"id":"B","amount":2},` + "\n" +
		`{"id":"C","customer":{"email":"a@x","em\u0061il":"b@x"}},` + "\n" +
		`{"id":"D","amount":"zwei","note":"` + strings.Repeat("ü", 3000) + `"},` + "\n" +
		`{"id":"E","tags":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"c":12}},` + "\n" +
		`{"id":"F","list":[{"x":1},{"x":2}],"id":"F2"}` + "\n" +
		"],\"meta\":{\"next\":null}}"
	var served string
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		io.WriteString(w, served)
	}))
	defer srv.Close()
	cfg := parse(t, readSpec(), `url: `+srv.URL+`
items_path: data
fields:
  - {name: id, required: true}
  - {name: amount, type: decimal}
`)
	read := func() ([]record.Record, []record.Reject, error) {
		src, err := newRead(context.Background(), cfg, env())
		if err != nil {
			t.Fatal(err)
		}
		return drain(t, src)
	}
	served = body
	recs, rejs, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Value("id").Str() != "B" || len(rejs) != 5 {
		t.Fatalf("records %v, rejects %v", recs, rejs)
	}
	for i, want := range []struct{ field, reason, json string }{
		{"amount", `duplicate key "amount" at line 2, column 25 (first at line 2, column 11)`, `{"id":"A","amount":1.00,"amount":100.00}`},
		{"customer.email", `duplicate key "email" at line 4, column 37 (first at line 4, column 23)`, `{"id":"C","customer":{"email":"a@x","em\u0061il":"b@x"}}`},
		{"amount", `amount: "zwei"`, ""},
		{"tags.c", `duplicate key "c" at line 6, column 87 (first at line 6, column 31)`, ""},
		{"id", `duplicate key "id" at line 7, column 36 (first at line 7, column 2)`, `{"id":"F","list":[{"x":1},{"x":2}],"id":"F2"}`},
	} {
		r := rejs[i]
		if r.Field != want.field || !strings.Contains(r.Reason, want.reason) {
			t.Errorf("reject %d: field %q reason %q, want %q %q", i, r.Field, r.Reason, want.field, want.reason)
		}
		j := r.Record.Value("_json").Str()
		if want.json != "" && j != want.json {
			t.Errorf("reject %d: _json %q, want %q", i, j, want.json)
		}
		if r.Record.Schema.Names()[0] != "id" || r.Record.Origin.Path != fmt.Sprintf("data[%d]", []int{0, 2, 3, 4, 5}[i]) {
			t.Errorf("reject %d: schema %s, origin %+v", i, r.Record.Schema, r.Record.Origin)
		}
	}
	// The 6 KB item is cut at 4 KiB on a character boundary.
	if j := rejs[2].Record.Value("_json").Str(); !strings.HasPrefix(j, `{"id":"D","amount":"zwei","note":"üü`) ||
		!strings.HasSuffix(j, " more bytes)") || len(j) > MaxRejectJSONBytes+40 || !utf8.ValidString(j) {
		t.Errorf("long item: %d bytes, %q...", len(j), j[:60])
	}

	served = `{"data":[{"id":"A"}],"meta":{"next":"x","next":null}}`
	if _, _, err := read(); err == nil || !strings.Contains(err.Error(), `page 1: invalid JSON: duplicate key "next" at line 1, column 41 (first at line 1, column 30)`) {
		t.Errorf("envelope duplicate: %v", err)
	}
	served = `{"data":[{"id":"A"}],"data":[{"id":"B"}]}`
	if _, _, err := read(); err == nil || !strings.Contains(err.Error(), `duplicate key "data"`) {
		t.Errorf("duplicate items list: %v", err)
	}
}

// TestScanJSONSpans: the scanner finds each item's bytes, also for a
// document that is the list itself and items that are not objects.
func TestScanJSONSpans(t *testing.T) {
	body := []byte(" [ 1 , \"a]\\\"\" ,{\"k\":[1,{}]}, [ ] ,null,{}]\n")
	spans, dups := scanJSON(body, "")
	var got []string
	for _, sp := range spans {
		got = append(got, string(body[sp[0]:sp[1]]))
	}
	want := []string{`1`, `"a]\""`, `{"k":[1,{}]}`, `[ ]`, `null`, `{}`}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(dups) != 0 {
		t.Errorf("spans %q, dups %v, want %q", got, dups, want)
	}
}

// FuzzScanJSON: for every body decodeJSON accepts, scanJSON finds one span
// per element of a top-level list, each span is valid JSON, and a document
// without duplicate keys (checked by re-decoding each object's keys with
// json.Decoder.Token) reports none.
func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",{"k":1,"k":2},[{}]]`, `{"a":{"b":1,"b\u0020":2}}`, ` [ {"x":[1, 2 ] } , null ] `, `"x"`, `[{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":0}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := decodeJSON(body)
		if err != nil {
			return
		}
		spans, dups := scanJSON(body, "")
		if l, ok := doc.([]any); ok && len(spans) != len(l) {
			t.Fatalf("%d spans for %d items", len(spans), len(l))
		}
		for _, sp := range spans {
			if sp[0] < 0 || sp[1] > len(body) || sp[0] > sp[1] || !json.Valid(body[sp[0]:sp[1]]) {
				t.Fatalf("bad span %v of %q", sp, body)
			}
		}
		for _, d := range dups {
			if d.first >= d.at || d.at >= len(body) || body[d.at] != '"' || body[d.first] != '"' {
				t.Fatalf("bad duplicate %+v in %q", d, body)
			}
		}
		if len(dups) == 0 && hasDupKeys(body) {
			t.Fatalf("duplicate key not found in %q", body)
		}
	})
}

// hasDupKeys is the slow reference: json.Decoder tokens with a key set per
// open object.
func hasDupKeys(body []byte) bool {
	d := json.NewDecoder(strings.NewReader(string(body)))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expKey bool
	}
	var st []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(st) > 0 {
			top = st[len(st)-1]
		}
		if top != nil && top.obj && top.expKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.expKey = false
				continue
			}
		}
		if top != nil && top.obj {
			top.expKey = true
		}
		switch tok {
		case json.Delim('{'):
			st = append(st, &frame{obj: true, keys: map[string]bool{}, expKey: true})
		case json.Delim('['):
			st = append(st, &frame{})
		case json.Delim('}'), json.Delim(']'):
			st = st[:len(st)-1]
			if len(st) > 0 && st[len(st)-1].obj {
				st[len(st)-1].expKey = true
			}
		}
	}
}
