package spec

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestYAMLErrorCol(t *testing.T) {
	cases := []struct {
		name, src string
		line, col int
	}{
		{"indented key continues a scalar", "source:\n  type: csv.read\n   path: in.csv\n", 3, 8},
		{"two values on one line", "a: b: c\n", 1, 5},
		{"quoted colon is not a value", "a: \"x: y\": z\n", 1, 10},
		{"tab indentation", "source:\n\ttype: csv.read\n", 2, 1},
		{"token that cannot start", "a: @x\n", 1, 4},
		{"backquote", "name: `x`\n", 1, 7},
		{"sequence entry after a value", "key: - x\n", 1, 6},
		{"unclosed quote", "a: \"abc\nb: 2\n", 3, 1},
		{"crlf", "a: 1\r\n   b: 2: 3\r\n", 2, 8},
		{"umlaut before the colon", "a: äöü: x\n", 1, 7},
		// parser errors: yaml.v3 names the line of the enclosing context
		// (or none); goccy/go-yaml locates the token.
		{"sequence entry in a mapping", "a:\n  b: 1\n  - c\n", 3, 3},
		{"dash after a mapping", "a: b\n- c\n", 2, 1},
		{"unclosed flow sequence", "a: [1, 2\nb: 3\n", 2, 1},
		{"mapping after a sequence", "- a\nb: 1\n", 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var n yaml.Node
			err := yaml.Unmarshal([]byte(c.src), &n)
			if err == nil {
				t.Fatalf("no YAML error for %q", c.src)
			}
			ds := yamlSyntaxErrors("p.yaml", []byte(c.src), err)
			if len(ds) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %v", len(ds), ds)
			}
			if p := ds[0].Pos; p.Line != c.line || p.Col != c.col {
				t.Errorf("at %d:%d, want %d:%d (%s)", p.Line, p.Col, c.line, c.col, ds[0].Message)
			}
		})
	}
	if got := yamlErrorCol([]byte("a\n"), 7, "x"); got != 1 {
		t.Errorf("line past the end: col %d, want 1", got)
	}
}
