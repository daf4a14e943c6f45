package csv

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden want.* files")

// goldenCase is testdata/<case>/config.yaml.
type goldenCase struct {
	Read      map[string]any `yaml:"read"`  // csv.read config
	Write     map[string]any `yaml:"write"` // csv.write config; absent: read-only case
	BatchSize int            `yaml:"batch_size"`
}

// TestGolden runs every folder in testdata: input.csv is read with the
// read config (rendered to want.txt: records with origin, rejects, errors)
// and, for write cases, the records are written with the write config to
// want.csv. Each input is also read one byte at a time, which must give
// the same result (buffer boundaries inside records).
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/config.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var gc goldenCase
			if err := yaml.Unmarshal(raw, &gc); err != nil {
				t.Fatalf("config.yaml: %v", err)
			}
			input, err := os.ReadFile(filepath.Join(dir, "input.csv"))
			if err != nil {
				t.Fatal(err)
			}
			txt, out := runGolden(t, gc, input, nil)
			txt1, out1 := runGolden(t, gc, input, iotest.OneByteReader)
			if txt1 != txt || !bytes.Equal(out1, out) {
				t.Errorf("reading one byte at a time differs:\n%s\nvs\n%s", txt1, txt)
			}
			compareGolden(t, filepath.Join(dir, "want.txt"), []byte(txt))
			if gc.Write != nil {
				compareGolden(t, filepath.Join(dir, "want.csv"), out)
				if strings.HasPrefix(filepath.Base(dir), "roundtrip_") && !bytes.Equal(out, input) {
					t.Errorf("round trip changed the file:\n%q\nwant\n%q", out, input)
				}
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update and review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func runGolden(t *testing.T, gc goldenCase, input []byte, wrap func(io.Reader) io.Reader) (string, []byte) {
	t.Helper()
	ctx := context.Background()
	p := Plugin()
	rc, _ := p.Component("read")
	bs := gc.BatchSize
	if bs == 0 {
		bs = 2
	}
	env := sdk.Env{Step: "csv.read", BatchSize: bs}
	var sb strings.Builder
	cfg := sdk.ApplyDefaults(rc.Spec, sdk.Config(gc.Read))
	if sch, err := rc.Schema(cfg); err != nil {
		fmt.Fprintf(&sb, "config error: %v\n", err)
		return sb.String(), nil
	} else if sch != nil {
		fmt.Fprintf(&sb, "lint schema: %s\n", sch)
	}
	dec, err := rc.NewDecoder(ctx, cfg, env)
	if err != nil {
		fmt.Fprintf(&sb, "config error: %v\n", err)
		return sb.String(), nil
	}
	var r io.Reader = bytes.NewReader(input)
	if wrap != nil {
		r = wrap(r)
	}
	var recs []record.Record
	src, err := dec.Open(ctx, sdk.Input{Name: "input.csv", R: r, Size: int64(len(input))})
	if err != nil {
		fmt.Fprintf(&sb, "open error: %v\n", err)
	} else {
		var schema *record.Schema
		for {
			b, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fmt.Fprintf(&sb, "error: %v\n", err)
				break
			}
			if len(b.Records)+len(b.Rejects) == 0 || len(b.Records)+len(b.Rejects) > bs {
				t.Errorf("batch of %d records and %d rejects, batch size %d", len(b.Records), len(b.Rejects), bs)
			}
			for _, r := range b.Records {
				if r.Schema != schema {
					schema = r.Schema
					fmt.Fprintf(&sb, "schema: %s\n", schema)
				}
				sb.WriteString(renderRecord(r))
				sb.WriteByte('\n')
			}
			for _, rj := range b.Rejects {
				field := rj.Field
				if field != "" {
					field += ": "
				}
				fmt.Fprintf(&sb, "reject %s #%d: %s%s %s\n", rj.Record.Origin, rj.Record.Origin.Index, field, rj.Reason, renderValues(rj.Record))
			}
			recs = append(recs, b.Records...)
		}
		if err := src.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	if gc.Write == nil {
		return sb.String(), nil
	}
	wc, _ := p.Component("write")
	wcfg := sdk.ApplyDefaults(wc.Spec, sdk.Config(gc.Write))
	enc, err := wc.NewEncoder(ctx, wcfg, sdk.Env{Step: "csv.write"})
	if err != nil {
		fmt.Fprintf(&sb, "write config error: %v\n", err)
		return sb.String(), nil
	}
	var out bytes.Buffer
	sink, err := enc.Create(ctx, sdk.Output{Name: "want.csv", W: &out})
	if err != nil {
		t.Fatal(err)
	}
	for len(recs) > 0 {
		n := min(bs, len(recs))
		rejects, err := sink.Write(ctx, &record.Batch{Records: recs[:n]})
		for _, rj := range rejects {
			fmt.Fprintf(&sb, "write reject %s: %s: %s\n", rj.Record.Origin, rj.Field, rj.Reason)
		}
		if err != nil {
			fmt.Fprintf(&sb, "write error: %v\n", err)
			break
		}
		recs = recs[n:]
	}
	if err := sink.Close(ctx); err != nil {
		fmt.Fprintf(&sb, "write close error: %v\n", err)
	}
	return sb.String(), out.Bytes()
}

func renderRecord(r record.Record) string {
	return fmt.Sprintf("%s #%d %s", r.Origin, r.Origin.Index, renderValues(r))
}

func renderValues(r record.Record) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range r.Values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.Schema.Field(i).Name)
		b.WriteByte('=')
		switch v.Kind() {
		case record.KindNull:
			b.WriteString("null")
		case record.KindString:
			b.WriteString(strconv.Quote(v.Str()))
		default:
			fmt.Fprintf(&b, "%s(%s)", v.Kind(), v.String())
		}
	}
	b.WriteByte('}')
	return b.String()
}
