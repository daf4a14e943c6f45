package pluginhost

import (
	"context"
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
	if p.Name != "example" || len(p.Components) != 1 || p.Components[0].Name != "vat_split" {
		t.Fatalf("described %+v", p)
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
