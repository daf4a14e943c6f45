package layout

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files")

func env() sdk.Env {
	return sdk.Env{Step: "sinks[0] layout.write", Logger: slog.New(slog.DiscardHandler), BatchSize: 2,
		Now: time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC), State: &sdk.MemState{}}
}

type tempFile struct{ *os.File }

func output(t *testing.T, w io.Writer) sdk.Output {
	return sdk.Output{Name: "out.txt", W: w, Temp: func() (sdk.TempFile, error) {
		f, err := os.CreateTemp(t.TempDir(), "tmp")
		return tempFile{f}, err
	}}
}

func toRecords(t *testing.T, rows []map[string]any) []record.Record {
	var out []record.Record
	for i, m := range rows {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sc, _ := record.StringSchema(names...)
		r := record.New(sc, record.Origin{File: "in.yaml", Line: i + 1})
		for j, n := range names {
			v, err := record.FromAny(m[n])
			if err != nil {
				t.Fatal(err)
			}
			r.Values[j] = v
		}
		out = append(out, r)
	}
	return out
}

func writeRecords(t *testing.T, lay *Layout, recs []record.Record) ([]byte, []record.Reject, error) {
	var buf bytes.Buffer
	s, err := NewEncoder(lay, env()).Create(context.Background(), output(t, &buf))
	if err != nil {
		return nil, nil, err
	}
	var rej []record.Reject
	for i := 0; i < len(recs); i += 2 {
		rr, err := s.Write(context.Background(), &record.Batch{Records: recs[i:min(i+2, len(recs))]})
		if err != nil {
			return nil, nil, err
		}
		rej = append(rej, rr...)
	}
	err = s.Close(context.Background())
	return buf.Bytes(), rej, err
}

func readRecords(t *testing.T, lay *Layout, data []byte) ([]record.Record, []record.Reject, error) {
	src, err := NewDecoder(lay, env()).Open(context.Background(), sdk.Input{Name: "in.txt", R: bytes.NewReader(data)})
	if err != nil {
		return nil, nil, err
	}
	var recs []record.Record
	var rejs []record.Reject
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return recs, rejs, nil
		}
		if err != nil {
			return recs, rejs, err
		}
		recs = append(recs, b.Records...)
		rejs = append(rejs, b.Rejects...)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got %q\nwant %q", path, got, want)
	}
}

// TestGolden writes each case's records with its layout and compares want.txt (bytes) and
// want.rejects; then reads want.txt back and checks trailer, counts and sums.
func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/case.yaml")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range dirs {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var tc struct {
				Layout  string           `yaml:"layout"`
				Records []map[string]any `yaml:"records"`
			}
			b, _ := os.ReadFile(c)
			if err := yaml.Unmarshal(b, &tc); err != nil {
				t.Fatal(err)
			}
			lay, err := Load(filepath.Join(dir, tc.Layout))
			if err != nil {
				t.Fatal(err)
			}
			recs := toRecords(t, tc.Records)
			out, rej, err := writeRecords(t, lay, recs)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "want.txt"), out)
			var rb strings.Builder
			for _, r := range rej {
				rb.WriteString(r.Error() + "\n")
			}
			golden(t, filepath.Join(dir, "want.rejects"), []byte(rb.String()))
			text, _ := io.ReadAll(must(sdk.NewTextReader(bytes.NewReader(out), lay.Encoding)))
			lines := strings.Split(strings.TrimSuffix(string(text), lay.Newline()), lay.Newline())
			if lay.Format == "fixed" {
				for i, l := range lines {
					if n := utf8.RuneCountInString(l); n != lay.RecordWidth {
						t.Fatalf("line %d has %d characters, want %d: %q", i+1, n, lay.RecordWidth, l)
					}
				}
			}
			back, brej, err := readRecords(t, lay, out)
			if err != nil {
				t.Fatalf("reading back: %v", err)
			}
			if len(brej) > 0 || len(back) != len(recs)-len(rej) {
				t.Fatalf("read back %d records, %d rejects (%v); wrote %d", len(back), len(brej), brej, len(recs)-len(rej))
			}
			// Round trip: the records read back write the same bytes.
			again, rej2, err := writeRecords(t, lay, back)
			if err != nil || len(rej2) > 0 {
				t.Fatalf("rewrite: %v %v", err, rej2)
			}
			if !bytes.Equal(again, out) {
				t.Fatalf("round trip differs:\n%q\n%q", again, out)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestTrailerMismatch(t *testing.T) {
	lay, err := Load("../../pipelines/layouts/sollstellung-fixed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/fixed_ok/want.txt")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte("\r\n900000005"), []byte("\r\n900000006"), 1)
	if bytes.Equal(bad, data) {
		t.Fatal("fixture has no trailer count 5")
	}
	_, _, err = readRecords(t, lay, bad)
	if err == nil || !strings.Contains(err.Error(), "in.txt:5:2: trailer anzahl is 6, but the records give 5") {
		t.Fatalf("got %v", err)
	}
	// Drop a record line: count and sum mismatch.
	lines := bytes.Split(data, []byte("\r\n"))
	short := bytes.Join(append(append([][]byte{}, lines[:2]...), lines[3:]...), []byte("\r\n"))
	if _, _, err = readRecords(t, lay, short); err == nil {
		t.Fatal("missing record not detected")
	}
}

func TestLayoutErrors(t *testing.T) {
	src := `format: fixed
record:
  fields:
    - {name: a, width: 3, typ: int}
    - {name: b, type: amount}
    - {name: c, width: 2, value: sum(a)}
trailer:
  fields:
    - {name: s, width: 10, value: sum(x)}
delimitr: ";"
`
	_, err := Parse("l.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	got := err.Error()
	for _, want := range []string{
		`l.yaml:4:27: error: record.fields[0].typ: unknown key (did you mean "type"?)`,
		`l.yaml:5:7: error: record.fields[1].width: required and > 0 for fixed-width layouts`,
		`l.yaml:6:7: error: record.fields[2].value: sum is only allowed in header and trailer`,
		`l.yaml:9:7: error: trailer.fields[0].value: "x" is not an amount field of the record`,
		`l.yaml:10:1: error: delimitr: unknown key (did you mean "delimiter"?)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	_, err = Parse("s.yaml", []byte("record: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:") {
		t.Fatalf("syntax error without position: %v", err)
	}
}

func FuzzLayoutReader(f *testing.F) {
	lay, err := Load("../../pipelines/layouts/sollstellung-fixed.yaml")
	if err != nil {
		f.Fatal(err)
	}
	csv, _ := Load("../../pipelines/layouts/sollstellung-csv.yaml")
	for _, p := range []string{"testdata/fixed_ok/want.txt", "testdata/csv_ok/want.txt"} {
		b, _ := os.ReadFile(p)
		f.Add(b, p == "testdata/csv_ok/want.txt")
	}
	f.Add([]byte("1\r\n9"), false)
	f.Fuzz(func(t *testing.T, data []byte, useCSV bool) {
		l := lay
		if useCSV {
			l = csv
		}
		_, _, _ = readRecords(t, l, data)
	})
}
