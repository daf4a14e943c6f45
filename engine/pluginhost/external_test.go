package pluginhost

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var (
	buildMu  sync.Mutex
	builtDir string
	built    = map[string]string{}
)

// buildPlugin builds the plugin main package pkg (relative to the module
// root) once per test binary and returns the path of kontor-plugin-<name>.
func buildPlugin(t *testing.T, pkg, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if builtDir == "" {
		d, err := os.MkdirTemp("", "kontor-plugins-")
		if err != nil {
			t.Fatal(err)
		}
		builtDir = d
	}
	out := filepath.Join(builtDir, pkg[strings.LastIndex(pkg, "/")+1:], PluginPrefix+name)
	cmd := exec.Command("go", "build", "-o", out, "github.com/kontor-etl/kontor/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

func testHost(t *testing.T, opts ExternalOptions) *Host {
	h := NewHost(opts)
	t.Cleanup(h.Close)
	return h
}

func vatBatch(t *testing.T, n int) *record.Batch {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal})
	b := &record.Batch{}
	for i := 0; i < n; i++ {
		b.Records = append(b.Records, record.Record{Schema: s, Values: []record.Value{record.Int(int64(i + 1)), record.Dec(record.MustDecimal("119.00"))},
			Origin: record.Origin{File: "in.csv", Line: i + 2, Index: int64(i + 1)}})
	}
	return b
}

func TestExternalExamplePlugin(t *testing.T) {
	bin := buildPlugin(t, "plugins/example", "example")
	cache := t.TempDir()
	h := testHost(t, ExternalOptions{CacheDir: cache})
	p, err := h.Load(context.Background(), PluginRef{Path: bin})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "example" || len(p.Components) != 2 || p.Components[0].Name != "vat_split" || p.Components[1].Name != "ticket_fixed" {
		t.Fatalf("described %+v", p)
	}
	// the fixed-width reader: input streamed to the process in chunks
	rc := p.Components[1]
	dec, err := rc.NewDecoder(context.Background(), sdk.ApplyDefaults(rc.Spec, sdk.Config{"encoding": "utf-8",
		"columns":       []any{map[string]any{"name": "id", "start": 2, "length": 4, "type": "int"}, map[string]any{"name": "amount", "start": 6, "length": 6, "type": "decimal", "scale": 2}},
		"trailer_count": map[string]any{"start": 2, "length": 4}}), sdk.Env{Step: "source", Logger: slogDiscard(), State: &sdk.MemState{}, BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	file.WriteString("H\n")
	for i := 1; i <= 2500; i++ {
		fmt.Fprintf(&file, "D%04d%06d\n", i, i*100)
	}
	file.WriteString("T2500\n")
	src, err := dec.Open(context.Background(), sdk.Input{Name: "in/tix.txt", R: strings.NewReader(file.String())})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var last record.Record
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(b.Records)
		last = b.Records[len(b.Records)-1]
	}
	src.Close()
	if n != 2500 || last.String() != "{id: 2500, amount: 2500.00}" || last.Origin.Line != 2501 {
		t.Errorf("read %d records, last %s at %v", n, last, last.Origin)
	}
	c := p.Components[0]
	if f, ok := c.Spec.Lookup("scale"); !ok || f.Default != 2 {
		t.Errorf("scale default %#v (want int 2 kept exactly)", f.Default)
	}
	cfg := sdk.ApplyDefaults(c.Spec, sdk.Config{"gross": "amount", "rate": "19"})
	tr, err := c.NewTransform(context.Background(), cfg, sdk.Env{Step: "transforms[0]", Logger: slogDiscard(), State: &sdk.MemState{}})
	if err != nil {
		t.Fatal(err)
	}
	in := vatBatch(t, 3)
	in.Records[1].Values[1] = record.String("n/a")
	var out record.Batch
	if err := tr.Process(context.Background(), in, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 2 || len(out.Rejects) != 1 {
		t.Fatalf("got %d records, %d rejects", len(out.Records), len(out.Rejects))
	}
	if got := out.Records[0].String(); got != "{id: 1, amount: 119.00, net: 100.00, vat: 19.00}" {
		t.Errorf("record = %s", got)
	}
	if o := out.Records[1].Origin; o.File != "in.csv" || o.Line != 4 || o.Index != 3 {
		t.Errorf("origin = %+v", o)
	}
	if rj := out.Rejects[0]; rj.Field != "amount" || !strings.Contains(rj.Reason, "not a number") || rj.Record.Origin.Line != 3 {
		t.Errorf("reject = %+v", rj)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	// constructor field errors keep their paths
	_, err = c.NewTransform(context.Background(), sdk.Config{"gross": "amount", "rate": "-1", "net": "x", "vat": "x", "scale": 2}, sdk.Env{})
	fes, ok := sdk.AsFieldErrors(err)
	if !ok || len(fes) != 2 || fes[0].Path != "rate" || fes[1].Path != "vat" {
		t.Errorf("constructor error = %v", err)
	}
	// the describe answer is cached per sha256
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".describe.pb") {
		t.Errorf("cache holds %v", ents)
	}
}

func TestExternalPinMismatch(t *testing.T) {
	bin := buildPlugin(t, "plugins/example", "example")
	h := testHost(t, ExternalOptions{})
	_, err := h.Load(context.Background(), PluginRef{Path: bin, SHA256: strings.Repeat("ab", 32)})
	pe, ok := err.(*PinError)
	if !ok {
		t.Fatalf("err = %v, want *PinError", err)
	}
	if !strings.Contains(pe.Error(), "does not match the pinned") {
		t.Errorf("message %q", pe.Error())
	}
	h.mu.Lock()
	n := len(h.clients)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d processes started for a refused binary", n)
	}
	sum, _ := fileSHA256(bin)
	if _, err := h.Load(context.Background(), PluginRef{Path: bin, SHA256: strings.ToUpper(sum)}); err != nil {
		t.Errorf("matching pin refused: %v", err)
	}
}

func TestDiscover(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	for _, f := range []struct {
		dir, name string
		mode      os.FileMode
	}{{d1, "kontor-plugin-vat", 0o755}, {d2, "kontor-plugin-vat", 0o755}, {d2, "kontor-plugin-tix", 0o755},
		{d1, "kontor-plugin-noexec", 0o644}, {d1, "other", 0o755}, {d1, "kontor-plugin-Bad", 0o755}} {
		if err := os.WriteFile(filepath.Join(f.dir, f.name), []byte("x"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := Discover(d1, filepath.Join(d1, "missing"), d2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.Name+"="+r.Path)
	}
	want := []string{"tix=" + filepath.Join(d2, "kontor-plugin-tix"), "vat=" + filepath.Join(d1, "kontor-plugin-vat")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Discover = %v, want %v", got, want)
	}
}

var _ = time.Second

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// redactHandler stands in for the runner's redacting log handler: it
// replaces secret in every message and string attribute.
type redactHandler struct {
	mu     *sync.Mutex
	secret string
	attrs  []slog.Attr
	lines  *[]string
}

func (h *redactHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *redactHandler) Handle(_ context.Context, r slog.Record) error {
	red := func(s string) string { return strings.ReplaceAll(s, h.secret, "***") }
	s := r.Level.String() + " " + red(r.Message)
	for _, a := range h.attrs {
		s += " " + a.Key + "=" + red(a.Value.String())
	}
	r.Attrs(func(a slog.Attr) bool { s += " " + a.Key + "=" + red(a.Value.String()); return true })
	h.mu.Lock()
	*h.lines = append(*h.lines, s)
	h.mu.Unlock()
	return nil
}
func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}
func (h *redactHandler) WithGroup(string) slog.Handler { return h }

// TestExternalLogsRedactedAndRestart: what a plugin logs — through
// Env.Logger or raw on stderr — reaches the step's logger (the runner's,
// which redacts secrets), never the host's plain logger; after the plugin
// process dies, the next component gets a fresh process.
func TestExternalLogsRedactedAndRestart(t *testing.T) {
	const secret = "tok-7f3a9c"
	bin := buildPlugin(t, "engine/pluginhost/testdata/plugins/chatty", "chatty")
	var mu sync.Mutex
	var hostLines, stepLines []string
	hostLog := slog.New(&redactHandler{mu: &mu, secret: "\x00never", lines: &hostLines}) // does not redact
	h := testHost(t, ExternalOptions{Logger: hostLog})
	p, err := h.Load(context.Background(), PluginRef{Path: bin})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := p.Component("pass")
	env := sdk.Env{Step: "transforms[0]", State: &sdk.MemState{},
		Logger: slog.New(&redactHandler{mu: &mu, secret: secret, lines: &stepLines}).With("step", "transforms[0]")}
	tr, err := c.NewTransform(context.Background(), sdk.Config{"token": secret}, env)
	if err != nil {
		t.Fatal(err)
	}
	// the raw stderr line arrives asynchronously
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		all := strings.Join(stepLines, "\n")
		mu.Unlock()
		if strings.Contains(all, "raw stderr line") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	step, host := strings.Join(stepLines, "\n"), strings.Join(hostLines, "\n")
	mu.Unlock()
	for _, want := range []string{"INFO connecting with token *** step=transforms[0] plugin=chatty token=*** attempt=1", "raw stderr line: token=***"} {
		if !strings.Contains(step, want) {
			t.Errorf("step log lacks %q:\n%s", want, step)
		}
	}
	if strings.Contains(step, secret) || strings.Contains(host, secret) {
		t.Errorf("secret leaked:\nstep log:\n%s\nhost log:\n%s", step, host)
	}

	// crash the process, then build the component again
	s := record.MustSchema(record.Field{Name: "v"})
	crash := &record.Batch{Records: []record.Record{{Schema: s, Values: []record.Value{record.String("crash")}}}}
	if err := tr.Process(context.Background(), crash, &record.Batch{}); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("crash: err = %v", err)
	}
	tr.Close()
	tr2, err := c.NewTransform(context.Background(), sdk.Config{"token": secret}, env)
	if err != nil {
		t.Fatalf("after a crash: %v", err)
	}
	defer tr2.Close()
	ok := &record.Batch{Records: []record.Record{{Schema: s, Values: []record.Value{record.String("fine")}}}}
	var out record.Batch
	if err := tr2.Process(context.Background(), ok, &out); err != nil || len(out.Records) != 1 {
		t.Fatalf("after restart: %v, %d records", err, len(out.Records))
	}
	if n := len(h.pids()); n != 2 {
		t.Errorf("%d processes started, want 2", n)
	}
}
