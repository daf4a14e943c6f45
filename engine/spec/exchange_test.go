package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExchange(t *testing.T) {
	src := `version: 1
source:
  type: csv.read
  path: in/orders_*.csv
  columns: [{name: a}]
  exchange:
    settle: 5s
    marker: .ok
    done: archive/ok
    on_error: error
    max_attempts: 3
    before: {command: [bin/check, --strict], timeout: 10s}
    after: {webhook: {url: "https://hooks.example.org/${env:HOST}", headers: {X-Token: "${env:API_TOKEN}"}}}
sinks:
  - type: csv.write
    path: outbox/x.csv
    exchange: {marker: .rdy}
`
	p, ds := Load("p.yaml", []byte(src), testReg(), testOpts())
	if ds.HasErrors() {
		t.Fatalf("diagnostics: %v", ds)
	}
	e := p.Source.Exchange
	want := &Exchange{Settle: 5 * time.Second, Marker: ".ok", Done: "archive/ok", OnError: "error", MaxAttempts: 3}
	if e == nil || e.Settle != want.Settle || e.Marker != want.Marker || e.Done != want.Done || e.Processing != "" ||
		e.OnError != want.OnError || e.MaxAttempts != 3 {
		t.Fatalf("exchange = %+v", e)
	}
	if !reflect.DeepEqual(e.Before.Command, []string{"bin/check", "--strict"}) || e.Before.Timeout != 10*time.Second {
		t.Fatalf("before = %+v", e.Before)
	}
	if e.After.Webhook == nil || e.After.Webhook.URL != "https://hooks.example.org/example.org" || e.After.Webhook.Headers["X-Token"] != "s3cr3t-token" {
		t.Fatalf("after = %+v", e.After.Webhook)
	}
	if !strings.Contains(p.Redact("token s3cr3t-token"), "***") && p.Redact("token s3cr3t-token") == "token s3cr3t-token" {
		t.Error("the hook's header secret is not redacted")
	}
	if s := p.Sinks[0].Exchange; s == nil || s.Marker != ".rdy" || s.OnError != "requeue" {
		t.Fatalf("sink exchange = %+v", s)
	}
	if _, ok := p.Source.Config["exchange"]; ok {
		t.Error("exchange passed to the component config")
	}
}

func TestExchangeJSONSchema(t *testing.T) {
	b, err := JSONSchema(testReg())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, w := range []string{`"on_error"`, `"max_attempts"`, `"settle"`, "Drop-folder inbox", "as an outbox"} {
		if !strings.Contains(s, w) {
			t.Errorf("JSON Schema lacks %s", w)
		}
	}
}
