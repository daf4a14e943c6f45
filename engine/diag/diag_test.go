package diag

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDiagnosticString(t *testing.T) {
	d := Errorf(Pos{File: "p.yaml", Line: 3, Col: 7}, "unknown-key", "unknown key %q", "delimeter")
	d.Hint = `did you mean "delimiter"?`
	want := `p.yaml:3:7: error: unknown key "delimeter" (did you mean "delimiter"?) [unknown-key]`
	if d.String() != want {
		t.Fatalf("got  %s\nwant %s", d, want)
	}
}

func TestListSortAndErr(t *testing.T) {
	var l List
	l.Warnf(Pos{File: "a", Line: 5, Col: 1}, "", "w")
	l.Errorf(Pos{File: "a", Line: 2, Col: 9}, "", "e2")
	l.Errorf(Pos{File: "a", Line: 2, Col: 3}, "", "e1")
	l.Sort()
	if l[0].Message != "e1" || l[1].Message != "e2" || l[2].Message != "w" {
		t.Fatalf("sort: %v", l)
	}
	if l.Err() == nil || len(l.Errors()) != 2 {
		t.Fatal("Err")
	}
	if (List{Warnf(Pos{}, "", "x")}).Err() != nil {
		t.Fatal("warnings are not errors")
	}
	var buf bytes.Buffer
	if err := l.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Diagnostics []map[string]any
		Errors      int
		Warnings    int
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil || out.Errors != 2 || out.Warnings != 1 {
		t.Fatalf("json: %v %+v", err, out)
	}
	if out.Diagnostics[0]["severity"] != "error" {
		t.Fatalf("severity: %v", out.Diagnostics[0])
	}
}

func TestSnippet(t *testing.T) {
	src := []byte("a: 1\n\tb: x\n")
	got := Snippet(src, Pos{Line: 2, Col: 4})
	if !strings.HasSuffix(got, "\n\t\t  ^") {
		t.Fatalf("caret: %q", got)
	}
	if Snippet(src, Pos{Line: 9}) != "" {
		t.Fatal("out of range")
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"delimiter", "encoding", "header", "csv.read", "csv.write"}
	for in, want := range map[string]string{
		"delimeter": "delimiter", "encodng": "encoding", "csv.raed": "csv.read", "zzz": "", "hedaer": "header",
	} {
		if got := Suggest(in, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
