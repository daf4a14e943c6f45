package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/pluginhost"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// This file is the project's conventions meta-test: every component this
// binary ships (core transforms, staging transforms, every plugin of
// plugins/all) follows the naming and documentation rules, its defaults are
// valid values of their own fields, and every example shown by
// `kontor plugins describe` is a step the loader accepts. A second test
// checks the import rules of DESIGN.md on the module's package graph.

var conventionNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestComponentConventions checks names, descriptions and defaults of every
// built-in component (sdktest.LintErrors plus the rules below).
func TestComponentConventions(t *testing.T) {
	for _, p := range builtins() {
		label := p.Name
		if label == "" {
			label = "(core)"
		}
		t.Run(label, func(t *testing.T) {
			if p.Name != "" && !conventionNameRE.MatchString(p.Name) {
				t.Errorf("plugin name %q does not match %s", p.Name, conventionNameRE)
			}
			if !isSentence(p.Description) {
				t.Errorf("plugin description %q is not a sentence ending with '.'", p.Description)
			}
			for _, c := range p.Components {
				where := pluginhost.TypeName(p.Name, c.Name)
				if !conventionNameRE.MatchString(c.Name) {
					t.Errorf("%s: component name does not match %s", where, conventionNameRE)
				}
				if !isSentence(c.Summary) {
					t.Errorf("%s: summary %q is not a sentence ending with '.'", where, c.Summary)
				}
				checkFields(t, where, c.Spec.Fields, "")
			}
		})
	}
}

// isSentence: starts with an upper-case letter, a digit or a quote/backtick
// (option names such as `path` may open a sentence) and ends with '.'.
func isSentence(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || !strings.HasSuffix(s, ".") || len(s) < 4 {
		return false
	}
	r := []rune(s)[0]
	return (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || strings.ContainsRune("`'\"(", r) || r > 127
}

func checkFields(t *testing.T, where string, fs []sdk.Field, prefix string) {
	t.Helper()
	for _, f := range fs {
		path := prefix + f.Name
		if !conventionNameRE.MatchString(f.Name) {
			t.Errorf("%s: field %s: name does not match %s", where, path, conventionNameRE)
		}
		if !isSentence(f.Description) {
			t.Errorf("%s: field %s: description %q is not a sentence (capital letter ... '.')", where, path, f.Description)
		}
		if f.Default != nil {
			if err := checkValue(f, f.Default); err != nil {
				t.Errorf("%s: field %s: default %#v: %v", where, path, f.Default, err)
			}
			if f.Required {
				t.Errorf("%s: field %s: required and with a default", where, path)
			}
		}
		if f.Type == sdk.TypeEnum || f.Elem == sdk.TypeEnum {
			seen := map[string]bool{}
			for _, e := range f.Enum {
				if seen[e] {
					t.Errorf("%s: field %s: enum value %q twice", where, path, e)
				}
				seen[e] = true
			}
		}
		if f.Type == "" {
			t.Errorf("%s: field %s: no type", where, path)
		}
		if f.Type == sdk.TypeEnum && len(f.Enum) == 0 {
			t.Errorf("%s: field %s: enum without values", where, path)
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			t.Errorf("%s: field %s: min %d > max %d", where, path, *f.Min, *f.Max)
		}
		checkFields(t, where, f.Children, path+".")
	}
}

// checkValue checks a default against its field as the loader checks YAML
// values: type, enum, pattern (anchored), min/max (int value or list
// length). (sdktest.CheckValue does most of this, but sdktest's -update
// flag clashes with this package's.)
func checkValue(f sdk.Field, v any) error {
	bounds := func(n int64, what string) error {
		if f.Min != nil && n < *f.Min {
			return fmt.Errorf("%s %d below min %d", what, n, *f.Min)
		}
		if f.Max != nil && n > *f.Max {
			return fmt.Errorf("%s %d above max %d", what, n, *f.Max)
		}
		return nil
	}
	switch f.Type {
	case sdk.TypeString:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T", v)
		}
		if f.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err != nil {
				return fmt.Errorf("pattern: %v", err)
			}
			if !re.MatchString(s) {
				return fmt.Errorf("does not match %s", f.Pattern)
			}
		}
	case sdk.TypeInt:
		switch x := v.(type) {
		case int:
			return bounds(int64(x), "value")
		case int64:
			return bounds(x, "value")
		default:
			return fmt.Errorf("want an int, got %T", v)
		}
	case sdk.TypeBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("want a bool, got %T", v)
		}
	case sdk.TypeDecimal:
		if _, err := record.ParseDecimal(fmt.Sprint(v), '.'); err != nil {
			return err
		}
	case sdk.TypeDuration:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a duration string, got %T", v)
		}
		if _, err := time.ParseDuration(s); err != nil {
			return err
		}
	case sdk.TypeEnum:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T", v)
		}
		for _, e := range f.Enum {
			if e == s {
				return nil
			}
		}
		return fmt.Errorf("not one of %v", f.Enum)
	case sdk.TypeList:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			return fmt.Errorf("want a list, got %T", v)
		}
		if err := bounds(int64(rv.Len()), "length"); err != nil {
			return err
		}
		if f.Elem != "" && f.Elem != sdk.TypeAny && len(f.Children) == 0 {
			for i := 0; i < rv.Len(); i++ {
				if err := checkValue(sdk.Field{Type: f.Elem, Enum: f.Enum, Pattern: f.Pattern}, rv.Index(i).Interface()); err != nil {
					return fmt.Errorf("entry %d: %v", i, err)
				}
			}
		}
	case sdk.TypeObject, sdk.TypeMap:
		if rv := reflect.ValueOf(v); rv.Kind() != reflect.Map {
			return fmt.Errorf("want a mapping, got %T", v)
		}
	}
	return nil
}

// qaPlugin provides a source and a sink without options and without a
// schema, so an example step can be wrapped into a minimal pipeline and its
// expressions compile against an unknown (dynamic) input schema.
func qaPlugin() sdk.Plugin {
	return sdk.Plugin{
		Name: "qa", Version: "0.0.0", Description: "Test scaffolding.",
		Components: []sdk.Component{
			{Name: "src", Kind: sdk.KindSource, Summary: "Any records.",
				NewSource: func(context.Context, sdk.Config, sdk.Env) (sdk.Source, error) { return nil, nil }},
			{Name: "sink", Kind: sdk.KindSink, Summary: "Takes any records.",
				NewSink: func(context.Context, sdk.Config, sdk.Env) (sdk.Sink, error) { return nil, nil }},
		},
	}
}

// TestComponentExamples loads every component example, wrapped into a
// minimal pipeline, with the real loader: unknown keys, wrong types, enum
// values, expressions and old syntax (a nested config: block, {{date}}
// templates) fail here.
func TestComponentExamples(t *testing.T) {
	reg, err := pluginhost.NewRegistry(append(builtins(), qaPlugin())...)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[sdk.Kind]string{sdk.KindSource: "source", sdk.KindTransform: "transforms", sdk.KindSink: "sinks"}
	for _, p := range builtins() {
		for _, c := range p.Components {
			typ := pluginhost.TypeName(p.Name, c.Name)
			if len(c.Examples) == 0 {
				t.Errorf("%s: no example", typ)
			}
			if strings.Contains(c.Description, "{{") {
				t.Errorf("%s: description uses {{...}} templates; path templates are {date} {time} {run} {name}", typ)
			}
			for i, ex := range c.Examples {
				t.Run(fmt.Sprintf("%s/%d", typ, i), func(t *testing.T) {
					problem := exampleProblem(reg, ex, sections[c.Kind], typ, t.TempDir())
					if why, pending := pendingExamples[typ]; pending {
						if problem == "" {
							t.Errorf("%s is listed in pendingExamples (%s) but its example loads now: remove it from the list", typ, why)
						} else {
							t.Logf("known bad example of %s (%s):\n%s", typ, why, problem)
						}
						return
					}
					if problem != "" {
						t.Error(problem)
					}
				})
			}
		}
	}
}

// pendingExamples lists components whose examples are known not to load
// and are waiting for their owner; the test fails once one loads, so the
// entry is removed. Keep this empty whenever possible.
var pendingExamples = map[string]string{}

// exampleProblem returns why example ex of component typ does not load as
// a step of section, or "".
func exampleProblem(reg spec.Registry, ex, section, typ, dir string) string {
	var b strings.Builder
	if strings.Contains(ex, "{{") {
		b.WriteString("example uses {{...}} templates; path templates are {date} {time} {run} {name}\n")
	}
	src, err := wrapExample(ex, section, typ)
	if err != nil {
		return fmt.Sprintf("%s: %v\n%s", typ, err, ex)
	}
	env := func(name string) (string, bool) { return "x", true }
	read := func(string) ([]byte, error) { return []byte("x"), nil }
	_, ds := spec.Load(filepath.Join(dir, "example.yaml"), src, reg, spec.LoadOptions{Env: env, ReadFile: read})
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("example of %s does not load cleanly:\n%s--- pipeline:\n%s", typ, b.String(), src)
}

// wrapExample turns an example (a step mapping, or a pipeline fragment with
// source/transforms/sinks) into a pipeline that contains the step.
func wrapExample(ex, section, typ string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(ex), &doc); err != nil {
		return nil, fmt.Errorf("example is no YAML: %v", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("example must be a step mapping or a pipeline fragment")
	}
	m := doc.Content[0]
	var keys []string
	for i := 0; i < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	isStep := false
	for _, k := range keys {
		if k == "type" {
			isStep = true
		}
	}
	parts := map[string]*yaml.Node{}
	if isStep {
		if section == "source" {
			parts["source"] = m
		} else {
			parts[section] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{m}}
		}
	} else {
		for i := 0; i < len(m.Content); i += 2 {
			parts[m.Content[i].Value] = m.Content[i+1]
		}
		if parts[section] == nil {
			return nil, fmt.Errorf("example has neither type: nor a %s: section (keys %v)", section, keys)
		}
		if !strings.Contains(ex, "type: "+typ) && !strings.Contains(ex, "type: \""+typ+"\"") {
			return nil, fmt.Errorf("example does not contain a step of type %s", typ)
		}
	}
	qa := func(kind string) *yaml.Node {
		var n yaml.Node
		if kind == "sinks" {
			_ = yaml.Unmarshal([]byte("type: qa.sink"), &n)
			return &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n.Content[0]}}
		}
		_ = yaml.Unmarshal([]byte("type: qa.src"), &n)
		return n.Content[0]
	}
	if parts["source"] == nil {
		parts["source"] = qa("source")
	}
	if parts["sinks"] == nil {
		parts["sinks"] = qa("sinks")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: example\n")
	order := []string{"source", "transforms", "sinks"}
	for k := range parts {
		if k != "source" && k != "transforms" && k != "sinks" {
			order = append(order, k)
		}
	}
	sort.Strings(order[3:])
	for _, k := range order {
		n := parts[k]
		if n == nil {
			continue
		}
		out, err := yaml.Marshal(map[string]*yaml.Node{k: n})
		if err != nil {
			return nil, err
		}
		b.Write(out)
	}
	return []byte(b.String()), nil
}

// TestImportRules checks DESIGN.md's import rules on the package graph
// (go list -deps): format plugins and the SDK depend on no engine package
// but engine/record and engine/diag; only engine/staging and engine/state
// packages import DuckDB; only cmd/ imports plugins/all.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("go list over the module takes a few seconds")
	}
	const mod = "github.com/kontor-etl/kontor/"
	cmd := exec.Command("go", "list", "-deps=false", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath                               string
		Imports, Deps, TestImports, XTestImports []string
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	leaf := map[string]bool{mod + "engine/record": true, mod + "engine/diag": true}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, mod)
		// plugins/... (formats, SDK, example) except plugins/all, which
		// lists them and may therefore see what they see.
		if strings.HasPrefix(rel, "plugins/") && rel != "plugins/all" {
			for _, d := range p.Deps {
				if strings.HasPrefix(d, mod+"engine/") && !leaf[d] {
					t.Errorf("%s depends on %s (plugins may use only engine/record and engine/diag)", rel, strings.TrimPrefix(d, mod))
				}
			}
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/duckdb/") || strings.HasPrefix(imp, "github.com/marcboeker/go-duckdb") {
				if !strings.HasPrefix(rel, "engine/staging") && !strings.HasPrefix(rel, "engine/state") {
					t.Errorf("%s imports %s (only engine/staging and engine/state may import DuckDB)", rel, imp)
				}
			}
			if imp == mod+"plugins/all" && !strings.HasPrefix(rel, "cmd/") {
				t.Errorf("%s imports plugins/all (only cmd/ may)", rel)
			}
		}
	}
}
