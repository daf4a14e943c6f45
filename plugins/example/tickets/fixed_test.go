package tickets

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
)

func plugin() sdk.Plugin {
	return sdk.Plugin{Name: "example", Version: "1.0.0", Description: "Example plugin (tickets only).",
		Components: []sdk.Component{FixedComponent()}}
}

func TestConformance(t *testing.T) {
	sdktest.LintPlugin(t, plugin())
	sdktest.CheckConfig(t, FixedSpec, FixedConfig{})
}

// TestGolden runs every folder of testdata (config.yaml, input.txt) in
// process and through the plugin protocol (input streamed in chunks),
// requires both to agree and compares with want.txt (-update rewrites it).
func TestGolden(t *testing.T) {
	remote := sdktest.Loopback(t, plugin())
	sdktest.Golden(t, "testdata", "want.txt", func(t *testing.T, dir string) []byte {
		var cfg map[string]any
		b, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		in, err := os.ReadFile(filepath.Join(dir, "input.txt"))
		if err != nil {
			t.Fatal(err)
		}
		sdktest.SameDecoder(t, plugin(), remote, "ticket_fixed", sdk.Config(cfg), "in/settlement.txt", in)
		out, err := sdktest.RunDecoder(context.Background(), remote, "ticket_fixed", sdk.Config(cfg), "in/settlement.txt", in)
		text := sdktest.Dump(out)
		if err != nil {
			text += "ERROR " + err.Error() + "\n"
		}
		return []byte(text)
	})
}

func TestConfigErrors(t *testing.T) {
	c := FixedComponent()
	_, err := c.NewDecoder(context.Background(), sdk.Config{
		"columns": []any{
			map[string]any{"name": "a", "start": 0, "length": 2},
			map[string]any{"name": "a", "start": 3, "length": 2, "type": "text"},
		},
		"detail_prefix": "T", "trailer_prefix": "T",
		"trailer_sum": map[string]any{"start": 1, "length": 5, "column": "nope"},
	}, sdktest.Env("source"))
	fes, ok := sdk.AsFieldErrors(err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	var paths []string
	for _, fe := range fes {
		paths = append(paths, fe.Path)
	}
	want := "columns[0].start columns[1].name columns[1].type trailer_prefix trailer_sum.column"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("field errors at %s, want %s (%v)", got, want, err)
	}
	// the static schema for lint time
	s, err := c.Schema(sdk.Config{"columns": []any{map[string]any{"name": "amount", "start": 1, "length": 5, "type": "decimal"}}})
	if err != nil || s.String() != "amount:decimal" {
		t.Errorf("schema %v, %v", s, err)
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]string{"0001250": "12.50", "1250-": "-12.50", "-0001250": "-12.50", "+1250": "12.50", "12.5": "12.5", "12,50": "12.50"} {
		d, err := parseDecimal(in, 2)
		if err != nil || d.String() != want {
			t.Errorf("parseDecimal(%q) = %s, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"12a", "1.2.3", "99999999999999999999", "-"} {
		if _, err := parseDecimal(in, 2); err == nil {
			t.Errorf("parseDecimal(%q) succeeded", in)
		}
	}
}

// FuzzFixed: any input yields records with values matching the schema,
// rejects or an error; never a panic.
func FuzzFixed(f *testing.F) {
	for _, c := range []string{"ok", "rejects", "windows1252"} {
		b, _ := os.ReadFile(filepath.Join("testdata", c, "input.txt"))
		f.Add(b)
	}
	f.Add([]byte("D\nT\n"))
	cfg := sdk.Config{"encoding": "utf-8", "columns": []any{
		map[string]any{"name": "id", "start": 2, "length": 10, "type": "int"},
		map[string]any{"name": "day", "start": 12, "length": 8, "type": "date"},
		map[string]any{"name": "amount", "start": 20, "length": 10, "type": "decimal", "scale": 2},
		map[string]any{"name": "text", "start": 30, "length": 24},
	}, "trailer_count": map[string]any{"start": 2, "length": 7},
		"trailer_sum": map[string]any{"start": 9, "length": 14, "scale": 2, "column": "amount"}}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := sdktest.RunDecoder(context.Background(), plugin(), "ticket_fixed", cfg, "f.txt", in)
		if err != nil || out == nil {
			return
		}
		for _, r := range out.Records {
			if len(r.Values) != 4 || (r.Values[2].Kind() != record.KindDecimal && !r.Values[2].IsNull()) {
				t.Fatalf("bad record %v", r)
			}
		}
		_ = bytes.MinRead
	})
}
