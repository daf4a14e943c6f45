package navigator

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

func get(t *testing.T, client *http.Client, u string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func mustContain(t *testing.T, page, where string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s: missing %q", where, w)
		}
	}
}

func TestPages(t *testing.T) {
	srv, _ := newTestServer(t, Options{})
	code, page, hdr := get(t, nil, srv.URL+"/")
	if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("index: %d %v", code, hdr)
	}
	mustContain(t, page, "index", `<a href="/pipelines/abo-export">abo-export</a>`, `<a href="/pipelines/kassenzeichen">kassenzeichen</a>`,
		`status-error">ERROR`, `<code>0 6 * * 1-5</code>`, "2026-11-24 06:00:02") // last success = end of the WARNING run

	code, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export")
	if code != 200 {
		t.Fatalf("pipeline: %d", code)
	}
	mustContain(t, page, "pipeline", `<svg class="graph"`, ">export</text>", ">unmatched</text>", "🔒 out/abos-{date}.csv.age",
		`href="/pipelines/abo-export/runs/3"`, `href="/pipelines/abo-export/runs/2/rejects">3</a>`, "3 of 3 runs shown",
		"source csv.read: no input matches in/abos-*.csv")
	if strings.Contains(page, "Run now") {
		t.Error("run now shown without --allow-trigger")
	}
	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export?status=warning")
	mustContain(t, page, "filtered", "1 of 3 runs shown", "run 2")
	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export?from=2026-11-24&to=2026-11-24")
	mustContain(t, page, "date filter", "1 of 3 runs shown", "run 2")
	code, _, _ = get(t, nil, srv.URL+"/pipelines/abo-export?from=24.11.2026")
	if code != 400 {
		t.Errorf("bad date: %d", code)
	}

	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export/runs/2")
	mustContain(t, page, "run", `status-warning">WARNING`, "2026-11-24 06:00:00", "2.5s", ">3 rejects</a>",
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "out/abos-20261124.csv.age",
		"in 118 · out 115 · rej 3", `<g class="node transforms bad">`, "abo-export.yaml")
	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export/runs/3")
	mustContain(t, page, "error run", "<pre>source csv.read: no input matches in/abos-*.csv</pre>", "nothing is committed when a run fails")
	if strings.Contains(page, `id="run-message"`) {
		t.Error("a run without a message shows a note")
	}

	// A run that says why it did no work (empty inbox): the message in the
	// index, the run list and the run page, as text.
	_, page, _ = get(t, nil, srv.URL+"/")
	mustContain(t, page, "index message", `status-warning">WARNING</span><div class="note">inbox in/&lt;kasse&gt;: no files matching *.txt</div>`)
	_, page, _ = get(t, nil, srv.URL+"/pipelines/kassenzeichen")
	mustContain(t, page, "run list message", `<td class="err"><div class="note">inbox in/&lt;kasse&gt;: no files matching *.txt</div></td>`, "2 of 2 runs shown")
	if n := strings.Count(page, `class="note"`); n != 1 {
		t.Errorf("run list: %d notes, want 1 (only run 2 has a message)", n)
	}
	_, page, _ = get(t, nil, srv.URL+"/pipelines/kassenzeichen/runs/2")
	mustContain(t, page, "run message", `<dt>Note</dt><dd id="run-message">inbox in/&lt;kasse&gt;: no files matching *.txt</dd>`, `status-warning">WARNING`)
	if strings.Contains(page, "<kasse>") {
		t.Error("markup from a message reached the page unescaped")
	}

	code, _, _ = get(t, nil, srv.URL+"/pipelines/abo-export/runs/99")
	if code != 404 {
		t.Errorf("missing run: %d", code)
	}

	// Rejects: markup in a reason or a value is shown as text, never as HTML.
	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export/runs/2/rejects")
	mustContain(t, page, "rejects", "3 of 3 rejects", "<code>in/abos-2026-11.csv:17:1</code>", "check digits do not match",
		`name contains &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, `Evil &lt;b&gt;Corp&lt;/b&gt;`)
	if strings.Contains(page, "<script") || strings.Contains(page, "<b>Corp") {
		t.Error("markup from a reject reached the page unescaped")
	}
	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export/runs/2/rejects?q=M%C3%BCller")
	mustContain(t, page, "search", "1 of 3 rejects", ":17:1")
	_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export/runs/2/rejects?field=iban")
	mustContain(t, page, "field filter", "2 of 3 rejects", `href="/pipelines/abo-export/runs/2/rejects.csv?field=iban"`)

	code, body, hdr := get(t, nil, srv.URL+"/pipelines/abo-export/runs/2/rejects.csv?field=iban")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(hdr.Get("Content-Disposition"), "abo-export-run-2-rejects.csv") {
		t.Fatalf("csv: %d %v", code, hdr)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "origin,step,field,reason,record" ||
		rows[1][0] != "in/abos-2026-11.csv:17:1" || rows[1][4] != `{"iban":"DE00 1234","kunde":"Müller"}` {
		t.Errorf("csv rows: %q (%v)", rows, err)
	}
}

func TestNoFormula(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-5,00": "-5,00", "-x": "'-x", "@x": "'@x", "abc": "abc", "": ""} {
		if got := noFormula(in); got != want {
			t.Errorf("noFormula(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAPI(t *testing.T) {
	srv, _ := newTestServer(t, Options{})
	getJSON := func(path string, v any) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %s", path, ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode
	}
	var ps []apiPipeline
	getJSON("/api/pipelines", &ps)
	if len(ps) != 2 || ps[0].Name != "abo-export" || ps[0].Runs != 3 || ps[0].LastRun.Status != state.StatusError ||
		!ps[0].LastSuccess.Equal(t0.Add(24*time.Hour+2500*time.Millisecond)) || ps[0].Schedule != "0 6 * * 1-5" {
		t.Errorf("pipelines: %+v", ps)
	}
	var runs []state.RunRecord
	getJSON("/api/runs?pipeline=abo-export&status=ERROR", &runs)
	if len(runs) != 1 || runs[0].ID != "3" || runs[0].Error == "" {
		t.Errorf("runs: %+v", runs)
	}
	getJSON("/api/runs", &runs)
	if len(runs) != 5 {
		t.Errorf("all runs: %d", len(runs))
	}
	for _, r := range runs {
		want := ""
		if r.Pipeline == "kassenzeichen" && r.ID == "2" {
			want = emptyInboxMessage
		}
		if r.Message != want {
			t.Errorf("run %s/%s: message %q, want %q", r.Pipeline, r.ID, r.Message, want)
		}
	}
	runs = nil
	getJSON("/api/runs?pipeline=kassenzeichen&status=WARNING", &runs)
	if len(runs) != 1 || runs[0].ID != "2" || runs[0].Message != emptyInboxMessage || runs[0].Error != "" {
		t.Errorf("kassenzeichen WARNING runs: %+v", runs)
	}
	var raw map[string]any
	if code := getJSON("/api/runs/2?pipeline=kassenzeichen", &raw); code != 200 || raw["message"] != emptyInboxMessage || raw["status"] != "WARNING" {
		t.Errorf("run 2 of kassenzeichen: %d %v", code, raw)
	}
	raw = nil
	if code := getJSON("/api/runs/3?pipeline=abo-export", &raw); code != 200 || raw["message"] != nil {
		t.Errorf("a run without a message has \"message\": %v", raw)
	}
	ps = nil
	getJSON("/api/pipelines", &ps)
	if len(ps) != 2 || ps[1].Name != "kassenzeichen" || ps[1].LastRun == nil || ps[1].LastRun.Message != emptyInboxMessage {
		t.Errorf("pipelines: last run of kassenzeichen %+v", ps[1].LastRun)
	}
	var run state.RunRecord
	if code := getJSON("/api/runs/2?pipeline=abo-export", &run); code != 200 || run.Status != state.StatusWarning || run.Rejected != 3 || len(run.Outputs) != 1 {
		t.Errorf("run: %d %+v", code, run)
	}
	var conflict map[string]any
	if code := getJSON("/api/runs/1", &conflict); code != 409 {
		t.Errorf("ambiguous id: %d %v", code, conflict)
	}
	if code := getJSON("/api/runs/3", &run); code != 200 || run.Pipeline != "abo-export" {
		t.Errorf("unique id: %d %+v", code, run)
	}
	var rejects []state.RejectRecord
	getJSON("/api/runs/2/rejects?pipeline=abo-export&q=script", &rejects)
	if len(rejects) != 1 || rejects[0].Field != "kunde" || rejects[0].Record["kunde"] != "Evil <b>Corp</b>" {
		t.Errorf("rejects: %+v", rejects)
	}
	var e map[string]string
	if code := getJSON("/api/runs/77?pipeline=abo-export", &e); code != 404 || e["error"] == "" {
		t.Errorf("missing: %d %v", code, e)
	}

	resp, _ := http.Get(srv.URL + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, string(b), "metrics", `kontor_runs_total{pipeline="abo-export",status="WARNING"} 1`,
		`kontor_step_records_rejected_total{pipeline="abo-export",step="valid"} 3`,
		`kontor_last_run_status{pipeline="abo-export",status="ERROR"} 1`, "kontor_last_success_timestamp_seconds")
}

func TestAuth(t *testing.T) {
	srv, _ := newTestServer(t, Options{Token: "s3cret-token"})
	for _, p := range []string{"/", "/pipelines/abo-export", "/api/pipelines", "/metrics", "/pipelines/abo-export/runs/2/rejects.csv"} {
		if code, body, _ := get(t, nil, srv.URL+p); code != 401 || strings.Contains(body, "abo-export</a>") {
			t.Errorf("%s without token: %d", p, code)
		}
		if code, _, _ := get(t, nil, srv.URL+p, "Authorization", "Bearer wrong"); code != 401 {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if code, _, _ := get(t, nil, srv.URL+p, "Authorization", "Bearer s3cret-token"); code != 200 {
			t.Errorf("%s with the token: %d", p, code)
		}
	}
	if code, _, _ := get(t, nil, srv.URL+"/static/style.css"); code != 200 {
		t.Errorf("static needs no token: %d", code)
	}
	code, page, _ := get(t, nil, srv.URL+"/pipelines/abo-export")
	if code != 401 || !strings.Contains(page, `<form method="post" action="/login"`) {
		t.Errorf("browser gets no login form: %d", code)
	}
	// login form: a cookie session
	jar := newJar()
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(srv.URL+"/login", url.Values{"token": {"wrong"}, "next": {"/pipelines/abo-export"}})
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong login: %v %v", err, resp.StatusCode)
	}
	resp, err = client.PostForm(srv.URL+"/login", url.Values{"token": {"s3cret-token"}, "next": {"//evil.example/x"}})
	if err != nil || resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Fatalf("login: %v %v %v", err, resp.StatusCode, resp.Request.URL)
	}
	if code, _, _ := get(t, client, srv.URL+"/pipelines/abo-export"); code != 200 {
		t.Errorf("with session cookie: %d", code)
	}
}

type jar struct {
	mu sync.Mutex
	c  map[string][]*http.Cookie
}

func newJar() *jar { return &jar{c: map[string][]*http.Cookie{}} }
func (j *jar) SetCookies(u *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.c[u.Host] = append(j.c[u.Host], cs...)
}
func (j *jar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.c[u.Host]
}

func TestTriggerCSRF(t *testing.T) {
	var mu sync.Mutex
	var triggered []string
	done := make(chan struct{}, 5)
	srv, _ := newTestServer(t, Options{AllowTrigger: true, Trigger: func(ctx context.Context, file string) TriggerResult {
		mu.Lock()
		triggered = append(triggered, file)
		mu.Unlock()
		done <- struct{}{}
		return TriggerResult{RunID: "4", Status: "OK"}
	}})
	_, page, _ := get(t, nil, srv.URL+"/pipelines/abo-export")
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Run now") {
		t.Fatalf("no run-now form:\n%s", page)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values, hdr ...string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/pipelines/abo-export/run", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url.Values{}); code != 403 {
		t.Errorf("without csrf token: %d", code)
	}
	if code := post(url.Values{"csrf": {strings.Repeat("0", 64)}}); code != 403 {
		t.Errorf("with a wrong csrf token: %d", code)
	}
	if code := post(url.Values{"csrf": {m[1]}}, "Origin", "https://evil.example"); code != 403 {
		t.Errorf("cross origin: %d", code)
	}
	if code := post(url.Values{"csrf": {m[1]}}, "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross site: %d", code)
	}
	mu.Lock()
	n := len(triggered)
	mu.Unlock()
	if n != 0 {
		t.Fatalf("triggered by a refused request")
	}
	if code := post(url.Values{"csrf": {m[1]}}, "Origin", srv.URL, "Sec-Fetch-Site", "same-origin"); code != 303 {
		t.Fatalf("valid trigger: %d", code)
	}
	<-done
	mu.Lock()
	if len(triggered) != 1 || !strings.HasSuffix(triggered[0], "abo-export.yaml") {
		t.Errorf("triggered %v", triggered)
	}
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, page, _ = get(t, nil, srv.URL+"/pipelines/abo-export")
		if strings.Contains(page, "last run now:") || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustContain(t, page, "after trigger", `last run now: <span class="status status-ok">OK</span> run 4`)
}
