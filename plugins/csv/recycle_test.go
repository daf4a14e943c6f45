package csv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

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
