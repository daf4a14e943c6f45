package pluginhost

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newDec(context.Context, sdk.Config, sdk.Env) (sdk.Decoder, error)  { return nil, nil }
func newEnc(context.Context, sdk.Config, sdk.Env) (sdk.Encoder, error)  { return nil, nil }
func newTr(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return nil, nil }

func fakePlugins() []sdk.Plugin {
	return []sdk.Plugin{
		{Name: "", Components: []sdk.Component{
			{Name: "filter", Kind: sdk.KindTransform, Summary: "Keeps records matching a condition.", NewTransform: newTr,
				Spec: sdk.Spec{Fields: []sdk.Field{{Name: "condition", Type: sdk.TypeString, Required: true, Expr: sdk.ExprBool,
					Description: "Records for which this is true pass.", Example: "amount > 10"}}}},
		}},
		{Name: "csv", Version: "1.0.0", Components: []sdk.Component{
			{Name: "read", Kind: sdk.KindSource, IO: sdk.IOFile, Summary: "Reads CSV files.", NewDecoder: newDec,
				Description: "Reads delimited text.",
				Spec: sdk.Spec{Fields: append(sdk.TextFormatFields(sdk.StandardText),
					sdk.Field{Name: "columns", Type: sdk.TypeList, Description: "Declared columns.", Min: sdk.Int64(1),
						Children: []sdk.Field{
							{Name: "name", Type: sdk.TypeString, Required: true, Description: "Column name.", Example: "amount"},
							{Name: "type", Type: sdk.TypeEnum, Enum: []string{"string", "decimal"}, Default: "string", Description: "Column type."},
						}},
					sdk.Field{Name: "password", Type: sdk.TypeString, Secret: true, Description: "Not really a CSV option."},
					sdk.Field{Name: "tags", Type: sdk.TypeList, Elem: sdk.TypeString, Default: []any{"a", "b"}, Description: "Tags."},
				)},
				Examples: []string{"type: csv.read\npath: in/*.csv\n"}},
			{Name: "write", Kind: sdk.KindSink, IO: sdk.IOFile, Summary: "Writes CSV files.", NewEncoder: newEnc},
		}},
	}
}

func TestRegistryLookup(t *testing.T) {
	r, err := NewRegistry(fakePlugins()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ, plugin string
		ok          bool
	}{
		{"filter", "", true},
		{"csv.read", "csv", true},
		{"csv.write", "csv", true},
		{"read", "", false},
		{"csv.filter", "", false},
	} {
		c, p, ok := r.Lookup(tc.typ)
		if ok != tc.ok || p != tc.plugin {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.typ, p, ok, tc.plugin, tc.ok)
		}
		if ok && TypeName(p, c.Name) != tc.typ {
			t.Errorf("Lookup(%q) returned component %q", tc.typ, c.Name)
		}
	}
	if got, want := strings.Join(r.Names(), ","), "csv.read,csv.write,filter"; got != want {
		t.Errorf("Names = %s, want %s", got, want)
	}
	var types []string
	for _, e := range r.List() {
		types = append(types, string(e.Kind)+":"+e.Type)
	}
	if got, want := strings.Join(types, ","), "source:csv.read,transform:filter,sink:csv.write"; got != want {
		t.Errorf("List = %s, want %s", got, want)
	}
}

func TestRegistryErrors(t *testing.T) {
	ps := fakePlugins()
	for _, tc := range []struct {
		name    string
		plugins []sdk.Plugin
		want    string
	}{
		{"duplicate plugin", []sdk.Plugin{ps[1], ps[1]}, `duplicate plugin "csv"`},
		{"duplicate core component", []sdk.Plugin{ps[0], {Components: ps[0].Components}}, `duplicate component "filter"`},
		{"bad plugin name", []sdk.Plugin{{Name: "CSV"}}, `plugin name "CSV"`},
		{"bad component name", []sdk.Plugin{{Name: "x", Components: []sdk.Component{{Name: "Read", Kind: sdk.KindTransform, NewTransform: newTr}}}}, `component name "Read"`},
		{"missing constructor", []sdk.Plugin{{Name: "x", Components: []sdk.Component{{Name: "read", Kind: sdk.KindSource, IO: sdk.IOFile}}}}, `no constructor`},
		{"bad kind", []sdk.Plugin{{Name: "x", Components: []sdk.Component{{Name: "read", Kind: "reader"}}}}, `unknown kind`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry(tc.plugins...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Add leaves the registry unchanged on error.
	r, _ := NewRegistry(ps[0])
	bad := sdk.Plugin{Name: "y", Components: []sdk.Component{{Name: "ok", Kind: sdk.KindTransform, NewTransform: newTr}, {Name: "filter2", Kind: sdk.KindSink}}}
	if err := r.Add(bad); err == nil {
		t.Fatal("want error")
	}
	if _, _, ok := r.Lookup("y.ok"); ok {
		t.Error("failed Add registered a component")
	}
}

func TestDescribe(t *testing.T) {
	r, err := NewRegistry(fakePlugins()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"csv.read", "csv.write", "filter"} {
		got, err := r.Describe(typ)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "describe_"+strings.ReplaceAll(typ, ".", "_")+".md")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("Describe(%s) differs from %s (run with -update):\n%s", typ, golden, got)
		}
	}
	if _, err := r.Describe("read"); err == nil || !strings.Contains(err.Error(), `did you mean "csv.read"`) {
		t.Errorf("Describe(read) err = %v", err)
	}
	if _, err := r.Describe("fitler"); err == nil || !strings.Contains(err.Error(), `did you mean "filter"`) {
		t.Errorf("Describe(fitler) err = %v", err)
	}
}

func TestJSONSchema(t *testing.T) {
	r, err := NewRegistry(fakePlugins()...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.json")
	if *update {
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(b)+"\n" {
		t.Errorf("schema differs from %s (run with -update)", golden)
	}
}

// TestDescribeDeprecated: a deprecation message (lint shows it as a
// diagnostic, without a final period) ends its sentence in the reference.
func TestDescribeDeprecated(t *testing.T) {
	for _, msg := range []string{"use skip_lines", "use skip_lines."} {
		var b strings.Builder
		writeFields(&b, []sdk.Field{{Name: "comment", Type: sdk.TypeString, Description: "Comment char.", Deprecated: msg, Example: "#"}}, 0)
		if want := "Deprecated: use skip_lines. Example: `#`."; !strings.Contains(b.String(), want) {
			t.Errorf("%q: %q, want it to contain %q", msg, b.String(), want)
		}
	}
}
