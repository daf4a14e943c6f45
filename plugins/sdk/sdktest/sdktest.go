// Package sdktest is the conformance kit for Kontor plugins. Plugin authors
// call it from their own tests; Kontor runs it over every built-in plugin.
//
//	func TestConformance(t *testing.T) {
//		sdktest.LintPlugin(t, vat.Plugin())
//		sdktest.CheckConfig(t, vat.SplitSpec, vat.SplitConfig{})
//		remote := sdktest.Loopback(t, vat.Plugin()) // over the real gRPC protocol, in process
//		sdktest.SameTransform(t, vat.Plugin(), remote, "vat_split", cfg, batches)
//	}
//
// What it checks:
//   - LintPlugin: plugin, component and field names match ^[a-z][a-z0-9_]*$;
//     summaries and field descriptions are sentences ending with '.';
//     defaults validate against their own field (type, enum, pattern,
//     bounds); the constructor that matches Kind and IO is set.
//   - CheckConfig: the component's config struct and its spec agree (same
//     yaml keys, inline option groups included) and the spec's defaults
//     decode into the struct.
//   - Loopback: the plugin served by sdk.Serve's server and used through
//     the host's adapters inside the test process (plugin.TestPluginGRPCConn)
//     — specs must survive Describe unchanged.
//   - SameTransform, SameDecoder, SameEncoder: the same cases run in process
//     and through the protocol give the same records, rejects (with origins)
//     and bytes.
//   - Golden: one folder per case with a want file and an -update flag.
package sdktest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/pluginrpc"
)

// Update is the -update flag of Golden (rewrite want files).
var Update = flag.Bool("update", false, "rewrite golden want files")

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LintPlugin checks the conventions of p's names, texts and specs.
func LintPlugin(t testing.TB, p sdk.Plugin) {
	t.Helper()
	for _, e := range LintErrors(p) {
		t.Errorf("%s", e)
	}
}

// LintErrors returns what LintPlugin reports, one message per problem.
func LintErrors(p sdk.Plugin) []string {
	var es []string
	add := func(format string, args ...any) { es = append(es, fmt.Sprintf(format, args...)) }
	if p.Name != "" && !nameRE.MatchString(p.Name) {
		add("plugin name %q must match %s", p.Name, nameRE)
	}
	seen := map[string]bool{}
	for _, c := range p.Components {
		where := p.Name + "." + c.Name
		if !nameRE.MatchString(c.Name) {
			add("%s: component name must match %s", where, nameRE)
		}
		if seen[c.Name] {
			add("%s: duplicate component", where)
		}
		seen[c.Name] = true
		if !sentence(c.Summary) {
			add("%s: summary %q must be a sentence ending with '.'", where, c.Summary)
		}
		if err := constructorFor(c); err != "" {
			add("%s: %s", where, err)
		}
		for _, e := range lintFields(c.Spec.Fields, "") {
			add("%s: %s", where, e)
		}
	}
	return es
}

func sentence(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && strings.HasSuffix(s, ".")
}

func constructorFor(c sdk.Component) string {
	var ok bool
	switch {
	case c.Kind == sdk.KindSource && c.IO == sdk.IOFile:
		ok = c.NewDecoder != nil
	case c.Kind == sdk.KindSource:
		ok = c.NewSource != nil
	case c.Kind == sdk.KindTransform:
		ok = c.NewTransform != nil
	case c.Kind == sdk.KindSink && c.IO == sdk.IOFile:
		ok = c.NewEncoder != nil
	case c.Kind == sdk.KindSink:
		ok = c.NewSink != nil
	default:
		return fmt.Sprintf("unknown kind %q", c.Kind)
	}
	if !ok {
		return fmt.Sprintf("no constructor for kind %q with io %q", c.Kind, c.IO)
	}
	return ""
}

func lintFields(fs []sdk.Field, prefix string) []string {
	var es []string
	seen := map[string]bool{}
	for _, f := range fs {
		path := prefix + f.Name
		add := func(format string, args ...any) {
			es = append(es, path+": "+fmt.Sprintf(format, args...))
		}
		if !nameRE.MatchString(f.Name) {
			add("name must match %s", nameRE)
		}
		if seen[f.Name] {
			add("duplicate field")
		}
		seen[f.Name] = true
		if !sentence(f.Description) {
			add("description %q must be a sentence ending with '.'", f.Description)
		}
		if f.Type == "" {
			add("no type")
		}
		if f.Type == sdk.TypeEnum && len(f.Enum) == 0 {
			add("enum without values")
		}
		if f.Pattern != "" {
			if _, err := regexp.Compile(f.Pattern); err != nil {
				add("pattern: %v", err)
			}
		}
		if f.Required && f.Default != nil {
			add("required field with a default")
		}
		if f.Default != nil {
			if err := CheckValue(f, f.Default); err != nil {
				add("default %#v: %v", f.Default, err)
			}
		}
		if len(f.Children) > 0 {
			es = append(es, lintFields(f.Children, path+".")...)
		}
	}
	return es
}

// CheckValue checks a plain value (as in a Config) against its field: the
// check the host does for YAML values, used for defaults.
func CheckValue(f sdk.Field, v any) error {
	switch f.Type {
	case sdk.TypeString:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string")
		}
		if f.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err == nil && !re.MatchString(s) {
				return fmt.Errorf("does not match %s", f.Pattern)
			}
		}
	case sdk.TypeInt:
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		default:
			return fmt.Errorf("want an int")
		}
		if f.Min != nil && n < *f.Min {
			return fmt.Errorf("below min %d", *f.Min)
		}
		if f.Max != nil && n > *f.Max {
			return fmt.Errorf("above max %d", *f.Max)
		}
	case sdk.TypeBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("want a bool")
		}
	case sdk.TypeDecimal:
		s := fmt.Sprint(v)
		if _, err := record.ParseDecimal(s, '.'); err != nil {
			return err
		}
	case sdk.TypeDuration:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a duration string")
		}
		if _, err := time.ParseDuration(s); err != nil {
			return err
		}
	case sdk.TypeEnum:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string")
		}
		for _, e := range f.Enum {
			if e == s {
				return nil
			}
		}
		return fmt.Errorf("not one of %v", f.Enum)
	case sdk.TypeList:
		l, ok := v.([]any)
		if !ok {
			if rv := reflect.ValueOf(v); rv.Kind() != reflect.Slice {
				return fmt.Errorf("want a list")
			}
			return nil
		}
		if f.Min != nil && int64(len(l)) < *f.Min {
			return fmt.Errorf("fewer than %d entries", *f.Min)
		}
	case sdk.TypeObject, sdk.TypeMap:
		if rv := reflect.ValueOf(v); rv.Kind() != reflect.Map {
			return fmt.Errorf("want a mapping")
		}
	}
	return nil
}

// CheckConfig checks that the yaml keys of config struct cfg (a struct
// value or pointer; inline embedded structs count) are exactly the spec's
// field names, and that the spec's defaults decode into it.
func CheckConfig(t testing.TB, spec sdk.Spec, cfg any) {
	t.Helper()
	keys := yamlKeys(reflect.TypeOf(cfg))
	names := spec.Names()
	sort.Strings(keys)
	sort.Strings(names)
	if strings.Join(keys, ",") != strings.Join(names, ",") {
		t.Errorf("config struct keys %v differ from spec fields %v", keys, names)
	}
	ptr := reflect.New(reflect.TypeOf(cfg))
	if reflect.TypeOf(cfg).Kind() == reflect.Pointer {
		ptr = reflect.New(reflect.TypeOf(cfg).Elem())
	}
	if err := sdk.ApplyDefaults(spec, sdk.Config{}).Decode(ptr.Interface()); err != nil {
		t.Errorf("defaults do not decode into %T: %v", cfg, err)
	}
}

func yamlKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			out = append(out, yamlKeys(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, name)
	}
	return out
}

// Loopback returns p as the host sees it when p runs out of process: served
// over the real gRPC protocol inside this process, specs from Describe,
// constructors that build remote adapters. It also checks that every spec
// survived the protocol unchanged.
func Loopback(t testing.TB, p sdk.Plugin) sdk.Plugin {
	t.Helper()
	rp, _ := pluginrpc.Loopback(t, p)
	if rp.Name != p.Name || rp.Version != p.Version || len(rp.Components) != len(p.Components) {
		t.Fatalf("describe: got %s %s with %d components, want %s %s with %d", rp.Name, rp.Version, len(rp.Components), p.Name, p.Version, len(p.Components))
	}
	for i, c := range p.Components {
		rc := rp.Components[i]
		if rc.Name != c.Name || rc.Kind != c.Kind || rc.IO != c.IO || rc.Summary != c.Summary || rc.Description != c.Description {
			t.Errorf("%s: component header changed over the protocol", c.Name)
		}
		if a, b := specText(c.Spec.Fields), specText(rc.Spec.Fields); a != b {
			t.Errorf("%s: spec changed over the protocol:\n in process: %s\n remote:     %s", c.Name, a, b)
		}
	}
	return rp
}

// specText renders fields for comparison by meaning: defaults and examples
// as text (YAML turns []string into []any), bounds by value.
func specText(fs []sdk.Field) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "{%s %s req=%v def=%s enum=%v pat=%q min=%s max=%s desc=%q ex=%s expr=%q secret=%v dep=%q elem=%q children=[%s]}",
			f.Name, f.Type, f.Required, norm(f.Default), f.Enum, f.Pattern, bound(f.Min), bound(f.Max), f.Description,
			norm(f.Example), f.Expr, f.Secret, f.Deprecated, f.Elem, specText(f.Children))
	}
	return b.String()
}

func bound(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func norm(v any) string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprint(v)
}

// Env returns an Env for component tests: a discarding logger, in-memory
// state, a fixed clock (2026-01-01 12:00 UTC) and no expressions.
func Env(step string) sdk.Env {
	return sdk.Env{Step: step, Pipeline: "test", Logger: slog.New(slog.DiscardHandler), BatchSize: 1000,
		Now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), State: &sdk.MemState{},
		Expressions: func(string) sdk.Evaluator { return nil }}
}

// RunTransform runs the component named comp of p over the batches and
// returns everything it emitted (records and rejects, Flush included).
func RunTransform(ctx context.Context, p sdk.Plugin, comp string, cfg sdk.Config, in []*record.Batch) (*record.Batch, error) {
	c, ok := p.Component(comp)
	if !ok {
		return nil, fmt.Errorf("no component %q", comp)
	}
	t, err := c.NewTransform(ctx, sdk.ApplyDefaults(c.Spec, cfg), Env("transforms[0]"))
	if err != nil {
		return nil, err
	}
	defer t.Close()
	out := &record.Batch{}
	for _, b := range in {
		cp := &record.Batch{Records: cloneRecords(b.Records)}
		if err := t.Process(ctx, cp, out); err != nil {
			return out, err
		}
	}
	if f, ok := t.(sdk.Flusher); ok {
		err := f.Flush(ctx, func(b *record.Batch) error {
			out.Records = append(out.Records, b.Records...)
			out.Rejects = append(out.Rejects, b.Rejects...)
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, t.Close()
}

func cloneRecords(rs []record.Record) []record.Record {
	out := make([]record.Record, len(rs))
	for i, r := range rs {
		out[i] = r.Clone()
	}
	return out
}

// RunDecoder reads input (named name) with the file source comp of p and
// returns all batches merged.
func RunDecoder(ctx context.Context, p sdk.Plugin, comp string, cfg sdk.Config, name string, input []byte) (*record.Batch, error) {
	c, ok := p.Component(comp)
	if !ok {
		return nil, fmt.Errorf("no component %q", comp)
	}
	d, err := c.NewDecoder(ctx, sdk.ApplyDefaults(c.Spec, cfg), Env("source"))
	if err != nil {
		return nil, err
	}
	src, err := d.Open(ctx, sdk.Input{Name: name, R: bytes.NewReader(input), Size: int64(len(input))})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	out := &record.Batch{}
	for {
		b, err := src.Next(ctx)
		if err == io.EOF {
			return out, src.Close()
		}
		if err != nil {
			return out, err
		}
		out.Records = append(out.Records, b.Records...)
		out.Rejects = append(out.Rejects, b.Rejects...)
	}
}

// RunEncoder writes the batches with the file sink comp of p and returns
// the bytes written and the rejects.
func RunEncoder(ctx context.Context, p sdk.Plugin, comp string, cfg sdk.Config, in []*record.Batch) ([]byte, []record.Reject, error) {
	c, ok := p.Component(comp)
	if !ok {
		return nil, nil, fmt.Errorf("no component %q", comp)
	}
	e, err := c.NewEncoder(ctx, sdk.ApplyDefaults(c.Spec, cfg), Env("sinks[0]"))
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	tmpDir, err := os.MkdirTemp("", "sdktest-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmpDir)
	s, err := e.Create(ctx, sdk.Output{Name: "out.txt", W: &buf, Temp: func() (sdk.TempFile, error) {
		return os.CreateTemp(tmpDir, "tmp-")
	}})
	if err != nil {
		return nil, nil, err
	}
	var rejects []record.Reject
	for _, b := range in {
		rj, err := s.Write(ctx, &record.Batch{Records: cloneRecords(b.Records)})
		if err != nil {
			s.Close(ctx)
			return buf.Bytes(), rejects, err
		}
		rejects = append(rejects, rj...)
	}
	if err := s.Close(ctx); err != nil {
		return buf.Bytes(), rejects, err
	}
	return buf.Bytes(), rejects, nil
}

// Dump renders a batch as stable text: one line per record (origin, then
// fields with kinds) and per reject (origin, step, field, reason), for
// comparisons and golden files.
func Dump(b *record.Batch) string {
	var s strings.Builder
	if b == nil {
		return ""
	}
	for _, r := range b.Records {
		s.WriteString(r.Origin.String())
		s.WriteString(" ")
		s.WriteString(dumpRecord(r))
		s.WriteByte('\n')
	}
	for _, rj := range b.Rejects {
		fmt.Fprintf(&s, "REJECT %s %s %s: %s %s\n", rj.Record.Origin, rj.Step, rj.Field, rj.Reason, dumpRecord(rj.Record))
	}
	return s.String()
}

func dumpRecord(r record.Record) string {
	var s strings.Builder
	s.WriteByte('{')
	for i, v := range r.Values {
		if i > 0 {
			s.WriteString(", ")
		}
		if r.Schema != nil && i < r.Schema.Len() {
			s.WriteString(r.Schema.Field(i).Name)
		}
		s.WriteString(": ")
		s.WriteString(v.GoString())
	}
	s.WriteByte('}')
	return s.String()
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// SameTransform runs the transform comp of local (in process) and of remote
// (Loopback) over the same batches and fails when records, rejects or
// errors differ.
func SameTransform(t testing.TB, local, remote sdk.Plugin, comp string, cfg sdk.Config, in []*record.Batch) {
	t.Helper()
	ctx := context.Background()
	a, aerr := RunTransform(ctx, local, comp, cfg, in)
	b, berr := RunTransform(ctx, remote, comp, cfg, in)
	compare(t, comp, Dump(a)+errText(aerr), Dump(b)+errText(berr))
}

// SameDecoder reads input with the file source comp in process and through
// the protocol and compares.
func SameDecoder(t testing.TB, local, remote sdk.Plugin, comp string, cfg sdk.Config, name string, input []byte) {
	t.Helper()
	ctx := context.Background()
	a, aerr := RunDecoder(ctx, local, comp, cfg, name, input)
	b, berr := RunDecoder(ctx, remote, comp, cfg, name, input)
	compare(t, comp, Dump(a)+errText(aerr), Dump(b)+errText(berr))
}

// SameEncoder writes the batches with the file sink comp in process and
// through the protocol and compares bytes and rejects.
func SameEncoder(t testing.TB, local, remote sdk.Plugin, comp string, cfg sdk.Config, in []*record.Batch) {
	t.Helper()
	ctx := context.Background()
	ab, arj, aerr := RunEncoder(ctx, local, comp, cfg, in)
	bb, brj, berr := RunEncoder(ctx, remote, comp, cfg, in)
	compare(t, comp, string(ab)+Dump(&record.Batch{Rejects: arj})+errText(aerr), string(bb)+Dump(&record.Batch{Rejects: brj})+errText(berr))
}

func compare(t testing.TB, comp, local, remote string) {
	t.Helper()
	if local != remote {
		t.Errorf("%s: in process and over the protocol differ:\n--- in process\n%s\n--- remote\n%s", comp, local, remote)
	}
}

// Golden runs run for every case folder under dir (each subdirectory) and
// compares its output with the case's want file (byte-exact); with -update
// it rewrites the want files instead.
func Golden(t *testing.T, dir, want string, run func(t *testing.T, caseDir string) []byte) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		caseDir := filepath.Join(dir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			got := run(t, caseDir)
			wf := filepath.Join(caseDir, want)
			if *Update {
				if err := os.WriteFile(wf, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(wf)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(w, got) {
				t.Errorf("%s differs (run with -update):\n--- got\n%s\n--- want\n%s", wf, got, w)
			}
		})
	}
}
