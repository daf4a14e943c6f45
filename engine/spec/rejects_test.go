package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kontor-etl/kontor/engine/diag"
)

// TestRejectsEncrypt: rejects.encrypt is parsed like a sink's; without it
// a default rejects path inherits the first file sink's encryption (and
// gets the .age name); an explicit path without encrypt stays plaintext.
func TestRejectsEncrypt(t *testing.T) {
	sinkKey, _ := age.GenerateX25519Identity()
	opsKey, _ := age.GenerateX25519Identity()
	encSink := `sinks:
  - type: csv.write
    name: rz
    path: out/soll-{date}.csv.age
    encrypt: {recipients: [` + sinkKey.Recipient().String() + `]}
`
	cases := []struct {
		name, src       string
		path, from, key string // key: the recipient of Rejects.Encrypt ("" = plaintext)
		warn            string
	}{
		{"inherits", opsHead + encSink, "out/soll-{date}.csv.rejects.csv.age", "rz", sinkKey.Recipient().String(), ""},
		{"own block, default path", opsHead + encSink + "rejects: {encrypt: {recipients: [" + opsKey.Recipient().String() + "]}}\n",
			"out/soll-{date}.csv.rejects.csv.age", "", opsKey.Recipient().String(), ""},
		{"own block and path", opsHead + encSink + "rejects:\n  path: ops/rejects.csv.age\n  encrypt: {recipients: [" + opsKey.Recipient().String() + "]}\n",
			"ops/rejects.csv.age", "", opsKey.Recipient().String(), ""},
		{"explicit path is plaintext", opsHead + encSink + "rejects: {path: ops/rejects.csv}\n",
			"ops/rejects.csv", "", "", "ops.yaml:8:17: warning: the rejects file ops/rejects.csv is written in plaintext, but rz encrypts"},
		{"plain sink", opsHead + "sinks: [{type: csv.write, path: out/x.csv}]\n", "out/x.csv.rejects.csv", "", "", ""},
		{"plain sink, encrypted rejects", opsHead + "sinks: [{type: csv.write, path: out/x.csv}]\nrejects: {encrypt: {recipients: [" + opsKey.Recipient().String() + "]}}\n",
			"out/x.csv.rejects.csv.age", "", opsKey.Recipient().String(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ds := Load("ops.yaml", []byte(tc.src), testReg(), testOpts())
			if ds.HasErrors() {
				t.Fatalf("diagnostics: %v", ds)
			}
			r := p.Rejects
			if r.Path != tc.path || r.EncryptFrom != tc.from {
				t.Errorf("rejects = %q from %q, want %q from %q", r.Path, r.EncryptFrom, tc.path, tc.from)
			}
			switch {
			case tc.key == "" && r.Encrypt != nil:
				t.Errorf("rejects encrypted to %v, want plaintext", r.Encrypt.Keys)
			case tc.key != "" && (r.Encrypt == nil || len(r.Encrypt.Keys) != 1 || r.Encrypt.Keys[0] != tc.key):
				t.Errorf("rejects encryption %+v, want %s", r.Encrypt, tc.key)
			}
			got := render(ds, ".")
			if tc.warn == "" && got != "" || tc.warn != "" && !strings.HasPrefix(got, tc.warn) {
				t.Errorf("diagnostics %q, want %q", got, tc.warn)
			}
			if tc.warn != "" {
				o := testOpts()
				o.Strict = true
				if _, ds := Load("ops.yaml", []byte(tc.src), testReg(), o); !ds.HasErrors() || ds[0].Severity != diag.Error {
					t.Errorf("strict: %v, want an error", ds)
				}
			}
		})
	}
}

func TestDefaultRejectsPath(t *testing.T) {
	for _, tc := range []struct {
		sink string
		enc  bool
		want string
	}{
		{"out/x.csv", false, "out/x.csv.rejects.csv"},
		{"out/x.csv", true, "out/x.csv.rejects.csv.age"},
		{"out/x-{date}.csv.age", true, "out/x-{date}.csv.rejects.csv.age"},
		{"out/x.csv.age", false, "out/x.csv.rejects.csv"},
	} {
		if got := DefaultRejectsPath(tc.sink, tc.enc); got != tc.want {
			t.Errorf("DefaultRejectsPath(%q, %v) = %q, want %q", tc.sink, tc.enc, got, tc.want)
		}
	}
}

// TestExchangeOnEmpty: the values, the default and the JSON Schema.
func TestExchangeOnEmpty(t *testing.T) {
	for _, v := range []string{"", "ok", "warning", "error"} {
		ex := "exchange: {}"
		if v != "" {
			ex = "exchange: {on_empty: " + v + "}"
		}
		src := "version: 1\nsource: {type: csv.read, path: in/*.csv, columns: [{name: a}], " + ex + "}\nsinks: [{type: csv.write, path: o.csv}]\n"
		p, ds := Load("p.yaml", []byte(src), testReg(), testOpts())
		if ds.HasErrors() {
			t.Fatalf("%s: %v", v, ds)
		}
		want := v
		if want == "" {
			want = "ok"
		}
		if got := p.Source.Exchange.OnEmpty; got != want {
			t.Errorf("on_empty %q: got %q, want %q", v, got, want)
		}
	}
	b, err := JSONSchema(testReg())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"on_empty"`, `"warning"`, "rejects file with age"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("JSON Schema lacks %s", w)
		}
	}
}
