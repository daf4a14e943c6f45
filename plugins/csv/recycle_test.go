package csv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/charmap"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/csv/csvbench"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// TestRecycle reads the same input with and without handing batches back
// (sdk.BatchRecycler); recycled batches are poisoned first, so a value
// that a reused batch did not overwrite shows up in the rendering.
func TestRecycle(t *testing.T) {
	var in bytes.Buffer
	if err := csvbench.GenerateBenchCSV(&in, 500, 7); err != nil {
		t.Fatal(err)
	}
	// Some rejects in between: a bad amount, a missing required id, a ragged line.
	input := strings.Replace(in.String(), "\n17,", "\n17x,", 1)
	input = strings.Replace(input, "\n40,", "\n,", 1)
	input = strings.Replace(input, "\n77,", "\n77,only,three\n78,", 1)
	cfgText := `columns:
  - {name: id, type: int, required: true}
  - {name: name}
  - {name: iban}
  - {name: amount, type: decimal}
  - {name: date, type: date}
`
	read := func(recycle bool) (string, int) {
		ctx := context.Background()
		rc, _ := Plugin().Component("read")
		cfg, err := sdk.ParseConfig(rc.Spec, cfgText)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := rc.NewDecoder(ctx, cfg, sdk.Env{BatchSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		src, err := dec.Open(ctx, sdk.Input{Name: "f.csv", R: strings.NewReader(input), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var out strings.Builder
		recycled := 0
		for {
			b, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range b.Records {
				out.WriteString(r.Origin.String() + " " + renderRecord(r) + "\n")
			}
			for _, rj := range b.Rejects {
				out.WriteString("reject " + rj.Error() + "\n")
			}
			if recycle {
				for _, r := range b.Records {
					for i := range r.Values {
						r.Values[i] = record.String("POISON")
					}
				}
				src.(sdk.BatchRecycler).Recycle(b)
				recycled++
			}
		}
		return out.String(), recycled
	}
	want, _ := read(false)
	got, n := read(true)
	if n < 30 || strings.Count(want, "reject ") != 3 {
		t.Fatalf("%d batches recycled, rejects:\n%s", n, want)
	}
	if got != want {
		t.Errorf("with recycling:\n%s\nwant:\n%s", got, want)
	}
}

// TestValuesOutliveBuffer checks that no value or reject keeps a view of
// the reader's buffer: the records of many batches, read through a reader
// that returns small chunks (so the buffer is refilled and compacted all
// the time), render the same at the end as record by record right after
// reading. Windows-1252 and quoted fields take the decoding paths.
func TestValuesOutliveBuffer(t *testing.T) {
	var in bytes.Buffer
	if err := csvbench.GenerateBenchCSV(&in, 3000, 11); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(in.String(), "\n300,", "\n300x,", 1) // a reject
	text = strings.Replace(text, "\n900,", "\n900,\"a \"\"quoted\"\" \nname\",DE1,x1,2026-01-01\n901,", 1)
	latin, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	cols := `
  - {name: id, type: int}
  - {name: name}
  - {name: iban, trim: true}
  - {name: amount, type: decimal}
  - {name: date, type: date}
  - {name: at, type: datetime, source: "5", format: "YYYY-MM-DD"}`
	for _, tc := range []struct{ cfg, input string }{
		{"columns:" + cols, text},
		{"encoding: windows-1252\ncolumns:" + cols, latin},
		{"header: true", text}, // all columns as strings from the header
	} {
		read := func(batch int, keep bool) string {
			ctx := context.Background()
			rc, _ := Plugin().Component("read")
			cfg, err := sdk.ParseConfig(rc.Spec, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := rc.NewDecoder(ctx, cfg, sdk.Env{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			src, err := dec.Open(ctx, sdk.Input{Name: "f.csv", R: iotest.HalfReader(strings.NewReader(tc.input)), Size: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var out strings.Builder
			var kept []*record.Batch
			render := func(b *record.Batch) {
				for _, r := range b.Records {
					out.WriteString(renderRecord(r) + "\n")
				}
				for _, rj := range b.Rejects {
					out.WriteString("reject " + rj.Error() + " " + renderRecord(rj.Record) + "\n")
				}
			}
			for {
				b, err := src.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if keep {
					kept = append(kept, b)
				} else {
					render(b)
				}
			}
			for _, b := range kept {
				render(b)
			}
			lines := strings.Split(out.String(), "\n")
			sort.Strings(lines) // records and rejects of a batch are rendered apart
			return strings.Join(lines, "\n")
		}
		want := read(1, false)
		if strings.Count(want, "\n") < 3000 || strings.Contains(tc.cfg, "columns") != strings.Contains(want, "reject ") {
			t.Fatalf("%s: reference:\n%.500s", tc.cfg, want)
		}
		if got := read(1000, true); got != want {
			g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
			for i := range min(len(g), len(w)) {
				if g[i] != w[i] {
					t.Errorf("%s: values changed after reading on, line %d:\n%s\nwant\n%s", tc.cfg, i+1, g[i], w[i])
					break
				}
			}
		}
	}
}
