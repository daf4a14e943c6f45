package csv

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/csv/csvbench"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

const benchRows = 100_000

const benchReadConfig = `
columns:
  - {name: id, type: int}
  - {name: name}
  - {name: iban}
  - {name: amount, type: decimal}
  - {name: date, type: date}
`

func benchInput(b *testing.B) []byte {
	var buf bytes.Buffer
	if err := csvbench.GenerateBenchCSV(&buf, benchRows, 1); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// perRow reports ns/row and allocs/row; run calls fn b.N times, each over rows rows.
func perRow(b *testing.B, rows int, fn func()) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	c0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	c1 := cpuTime()
	runtime.ReadMemStats(&m1)
	n := float64(b.N) * float64(rows)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	if c1 > c0 {
		b.ReportMetric(float64((c1-c0).Nanoseconds())/n, "cpu-ns/row")
	}
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/row")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/row")
}

func readBatches(b *testing.B, cfgText string, input []byte, keep bool) []*record.Batch {
	ctx := context.Background()
	rc, _ := Plugin().Component("read")
	cfg, err := sdk.ParseConfig(rc.Spec, cfgText)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := rc.NewDecoder(ctx, cfg, sdk.Env{BatchSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	src, err := dec.Open(ctx, sdk.Input{Name: "bench.csv", R: bytes.NewReader(input), Size: int64(len(input))})
	if err != nil {
		b.Fatal(err)
	}
	var out []*record.Batch
	n := 0
	for {
		bt, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if len(bt.Rejects) > 0 {
			b.Fatalf("reject: %v", bt.Rejects[0].Error())
		}
		n += len(bt.Records)
		if keep {
			out = append(out, bt)
		}
	}
	if n != benchRows {
		b.Fatalf("read %d rows, want %d", n, benchRows)
	}
	return out
}

// BenchmarkRead5Cols reads the benchmark file (id int, name, iban, amount
// decimal, date date) into 1000-record batches.
func BenchmarkRead5Cols(b *testing.B) {
	input := benchInput(b)
	b.SetBytes(int64(len(input)))
	perRow(b, benchRows, func() { readBatches(b, benchReadConfig, input, false) })
}

// BenchmarkRead5ColsStrings reads the same file without declared columns
// (all strings).
func BenchmarkRead5ColsStrings(b *testing.B) {
	input := benchInput(b)
	b.SetBytes(int64(len(input)))
	perRow(b, benchRows, func() { readBatches(b, `{}`, input, false) })
}

// BenchmarkStdlibSplit5Cols is the reference: encoding/csv with
// ReuseRecord, only splitting (one string per field, no types, no origins).
func BenchmarkStdlibSplit5Cols(b *testing.B) {
	input := benchInput(b)
	b.SetBytes(int64(len(input)))
	perRow(b, benchRows, func() {
		r := stdcsv.NewReader(bytes.NewReader(input))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err != nil {
				break
			}
		}
	})
}

// BenchmarkWrite5Cols writes 1000-record batches of the benchmark records.
func BenchmarkWrite5Cols(b *testing.B) {
	benchWrite(b, `{}`)
}

// BenchmarkWrite5ColsGerman writes them as Windows-1252, ';', decimal
// comma, DD.MM.YYYY, CRLF.
func BenchmarkWrite5ColsGerman(b *testing.B) {
	benchWrite(b, `{encoding: windows-1252, delimiter: ";", decimal: ",", date_format: DD.MM.YYYY, line_ending: crlf, decimal_scale: 2}`)
}

// BenchmarkWrite5ColsGermanGrouped writes them German with thousands "."
// for the amounts and the ids.
func BenchmarkWrite5ColsGermanGrouped(b *testing.B) {
	benchWrite(b, `{encoding: windows-1252, delimiter: ";", decimal: ",", date_format: DD.MM.YYYY, line_ending: crlf, decimal_scale: 2,
	  thousands: ".", columns: [{name: id, thousands: "."}, {name: name}, {name: iban}, {name: amount}, {name: date}]}`)
}

func benchWrite(b *testing.B, cfgText string) {
	input := benchInput(b)
	batches := readBatches(b, benchReadConfig, input, true)
	ctx := context.Background()
	wc, _ := Plugin().Component("write")
	cfg, err := sdk.ParseConfig(wc.Spec, cfgText)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := wc.NewEncoder(ctx, cfg, sdk.Env{})
	if err != nil {
		b.Fatal(err)
	}
	var cw countWriter
	perRow(b, benchRows, func() {
		sink, err := enc.Create(ctx, sdk.Output{Name: "out.csv", W: &cw})
		if err != nil {
			b.Fatal(err)
		}
		for _, bt := range batches {
			rj, err := sink.Write(ctx, bt)
			if err != nil || len(rj) > 0 {
				b.Fatal(err, rj)
			}
		}
		if err := sink.Close(ctx); err != nil {
			b.Fatal(err)
		}
	})
	b.SetBytes(cw.n / int64(b.N))
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkReadFilterUpperWrite is the csv share of the end-to-end
// benchmark without the engine: read the 5 columns, keep amount > 10,
// upper-case the name into a new record, write CSV. It is the lower bound
// for the whole pipeline.
func BenchmarkReadFilterUpperWrite(b *testing.B) {
	input := benchInput(b)
	b.SetBytes(int64(len(input)))
	ctx := context.Background()
	rc, _ := Plugin().Component("read")
	wc, _ := Plugin().Component("write")
	rcfg, _ := sdk.ParseConfig(rc.Spec, benchReadConfig)
	wcfg, _ := sdk.ParseConfig(wc.Spec, `{}`)
	dec, err := rc.NewDecoder(ctx, rcfg, sdk.Env{BatchSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := wc.NewEncoder(ctx, wcfg, sdk.Env{})
	if err != nil {
		b.Fatal(err)
	}
	ten := record.MustDecimal("10")
	perRow(b, benchRows, func() {
		src, err := dec.Open(ctx, sdk.Input{Name: "bench.csv", R: bytes.NewReader(input), Size: int64(len(input))})
		if err != nil {
			b.Fatal(err)
		}
		sink, err := enc.Create(ctx, sdk.Output{Name: "out.csv", W: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		out := &record.Batch{}
		for {
			bt, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			out.Reset()
			for _, r := range bt.Records {
				if r.Values[3].Decimal().Cmp(ten) <= 0 {
					continue
				}
				r = r.Clone()
				r.Values[1] = record.String(strings.ToUpper(r.Values[1].Str()))
				out.Records = append(out.Records, r)
			}
			if _, err := sink.Write(ctx, out); err != nil {
				b.Fatal(err)
			}
		}
		if err := sink.Close(ctx); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkRead5ColsGerman reads the benchmark rows converted to
// Windows-1252, ';', decimal comma and DD.MM.YYYY with CRLF.
func BenchmarkRead5ColsGerman(b *testing.B) {
	benchReadGerman(b, "", "")
}

// BenchmarkRead5ColsGermanGrouped reads the German rows with thousands
// ".": the ids are written grouped (1.234, about 99% of them), the amounts
// (below 1000) are not, so both the grouped int and the plain decimal path
// with the option set are measured.
func BenchmarkRead5ColsGermanGrouped(b *testing.B) {
	benchReadGerman(b, `, thousands: ".", columns: [{name: id, thousands: "."}, {name: name}, {name: iban}, {name: amount}, {name: date}]`,
		"\nthousands: \".\"")
}

func benchReadGerman(b *testing.B, writeExtra, readExtra string) {
	input := benchInput(b)
	batches := readBatches(b, benchReadConfig, input, true)
	ctx := context.Background()
	wc, _ := Plugin().Component("write")
	wcfg, err := sdk.ParseConfig(wc.Spec, `{encoding: windows-1252, delimiter: ";", decimal: ",", date_format: DD.MM.YYYY, line_ending: crlf`+writeExtra+`}`)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := wc.NewEncoder(ctx, wcfg, sdk.Env{})
	if err != nil {
		b.Fatal(err)
	}
	var german bytes.Buffer
	sink, _ := enc.Create(ctx, sdk.Output{Name: "german.csv", W: &german})
	for _, bt := range batches {
		if _, err := sink.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	if err := sink.Close(ctx); err != nil {
		b.Fatal(err)
	}
	cfg := `encoding: windows-1252
delimiter: ";"
decimal: ","
date_format: DD.MM.YYYY` + readExtra + benchReadConfig
	b.SetBytes(int64(german.Len()))
	perRow(b, benchRows, func() { readBatches(b, cfg, german.Bytes(), false) })
}
