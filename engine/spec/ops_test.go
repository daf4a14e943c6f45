package spec

import (
	"os"
	"strings"
	"testing"

	"filippo.io/age"
)

// Tests of the operating keys: notify: and a file sink's encrypt:.

func loadSrc(t *testing.T, src string, opts LoadOptions) (*Pipeline, string) {
	t.Helper()
	p, ds := Load("ops.yaml", []byte(src), testReg(), opts)
	return p, render(ds, ".")
}

const opsHead = `version: 1
source: {type: csv.read, path: in.csv, columns: [{name: a}]}
`

func TestNotify(t *testing.T) {
	opts := testOpts()
	env := map[string]string{"SMTP_PASSWORD": "pw-secret", "HOOK": "tok"}
	opts.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	p, got := loadSrc(t, opsHead+`sinks: [{type: csv.write, path: out.csv}]
notify:
  on: [Error, warning]
  webhook:
    url: https://hooks.example.org/k
    headers: {Authorization: "Bearer ${env:HOOK}"}
  email:
    smtp: mail.example.org:587
    from: Kontor <kontor@example.org>
    to: ops@example.org
    username: kontor
    password: ${env:SMTP_PASSWORD}
`, opts)
	if got != "" {
		t.Fatalf("diagnostics:\n%s", got)
	}
	n := p.Notify
	if n == nil || !n.Notifies("ERROR") || !n.Notifies("WARNING") || n.Notifies("OK") {
		t.Fatalf("notify = %+v", n)
	}
	if n.Webhook.URL != "https://hooks.example.org/k" || n.Webhook.Headers["Authorization"] != "Bearer tok" {
		t.Errorf("webhook = %+v", n.Webhook)
	}
	e := n.Email
	if e.SMTP != "mail.example.org:587" || e.From != "kontor@example.org" || len(e.To) != 1 || e.Password != "pw-secret" || !e.StartTLS {
		t.Errorf("email = %+v", e)
	}
	if !strings.Contains(strings.Join(p.Secrets, ","), "pw-secret") {
		t.Errorf("password not registered as a secret: %v", p.Secrets)
	}

	p, _ = loadSrc(t, opsHead+"sinks: [{type: csv.write, path: out.csv}]\nnotify: {webhook: {url: 'http://x'}}\n", testOpts())
	if !p.Notify.Notifies("ERROR") || p.Notify.Notifies("WARNING") {
		t.Errorf("default on: %v", p.Notify.On)
	}
}

func TestNotifyErrors(t *testing.T) {
	_, got := loadSrc(t, opsHead+`sinks: [{type: csv.write, path: out.csv}]
notify:
  on: [failure]
  webhok: {}
  webhook: {url: "ftp://x", header: {}}
  email:
    smtp: nohost
    from: "not an address"
    password: x
`, testOpts())
	want := `ops.yaml:5:8: error: notify.on: invalid status "failure": expected error or warning [enum]
ops.yaml:6:3: error: unknown key "webhok" in notify (did you mean "webhook"?) [unknown-key]
ops.yaml:7:18: error: notify.webhook.url: want an absolute http:// or https:// URL, got "ftp://x" [value]
ops.yaml:7:29: error: unknown key "header" in notify.webhook (did you mean "headers"?) [unknown-key]
ops.yaml:9:5: error: missing required key "to" in notify.email [missing-key]
ops.yaml:9:11: error: notify.email.smtp: want host:port (e.g. mail.example.org:587), got "nohost" [value]
ops.yaml:10:11: error: notify.email.from: invalid e-mail address "not an address" [value]
ops.yaml:11:15: error: notify.email.password needs a username [value]
`
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	_, got = loadSrc(t, opsHead+"sinks: [{type: csv.write, path: out.csv}]\nnotify: {on: [error]}\n", testOpts())
	if !strings.Contains(got, "notify needs a webhook or an email") {
		t.Errorf("got %s", got)
	}
}

func TestEncrypt(t *testing.T) {
	id1, _ := age.GenerateX25519Identity()
	id2, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	keys := "# Rechenzentrum\n\n  " + id2.Recipient().String() + "\n"
	if err := os.WriteFile(dir+"/keys.txt", []byte(keys), 0o644); err != nil {
		t.Fatal(err)
	}
	src := opsHead + `sinks:
  - type: csv.write
    path: out.csv.age
    encrypt:
      recipients: [` + id1.Recipient().String() + `]
      recipients_file: keys.txt
`
	p, ds := Load(dir+"/p.yaml", []byte(src), testReg(), testOpts())
	if ds.HasErrors() {
		t.Fatalf("diagnostics: %v", ds)
	}
	e := p.Sinks[0].Encrypt
	if e == nil || len(e.Recipients) != 2 || e.Keys[1] != id2.Recipient().String() {
		t.Fatalf("encrypt = %+v", e)
	}
	if _, ok := p.Sinks[0].Config["encrypt"]; ok {
		t.Error("encrypt passed to the component config")
	}

	bad := "# x\nage1notakey\n" + id2.String() + "\n"
	if err := os.WriteFile(dir+"/bad.txt", []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	src = opsHead + `sinks:
  - type: csv.write
    path: out.csv.age
    encrypt:
      recipients: [age1qqq, ` + id1.Recipient().String() + `]
      recipients_file: bad.txt
      recipient: x
  - type: http.post
    url: http://x
    encrypt: {recipients: [` + id1.Recipient().String() + `]}
`
	_, ds = Load(dir+"/p.yaml", []byte(src), testReg(), testOpts())
	got := render(ds, dir)
	for _, w := range []string{
		`p.yaml:7:20: error: encrypt: invalid age recipient "age1qqq"`,
		`bad.txt:2:1: error: encrypt: invalid age recipient "age1notakey"`,
		`bad.txt:3:1: error: encrypt: invalid age recipient "AGE-SECRET-KEY-…": this is an identity (secret key), not a recipient`,
		`p.yaml:9:7: error: unknown key "recipient" in encrypt (did you mean "recipients"?)`,
		`p.yaml:12:5: error: unknown key "encrypt"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
	if strings.Contains(got, id2.String()) {
		t.Error("secret key shown in a diagnostic")
	}
	_, ds = Load(dir+"/p.yaml", []byte(opsHead+"sinks: [{type: csv.write, path: o, encrypt: {}}]\n"), testReg(), testOpts())
	if !strings.Contains(render(ds, dir), "encrypt needs at least one recipient") {
		t.Errorf("empty encrypt: %v", ds)
	}
}
