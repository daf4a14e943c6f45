package sepa

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// countWriter counts the bytes of the final file.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// peakRSSMB returns the process's peak resident set (VmHWM) in MB, 0 if unknown.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

var benchSchema = record.MustSchema(
	record.Field{Name: "end_to_end_id", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "debtor_name", Kind: record.KindString},
	record.Field{Name: "debtor_iban", Kind: record.KindString},
	record.Field{Name: "mandate_id", Kind: record.KindString},
	record.Field{Name: "mandate_date", Kind: record.KindDate},
	record.Field{Name: "remittance", Kind: record.KindString},
	record.Field{Name: "sequence_type", Kind: record.KindString},
)

// writePain008 streams n generated transactions through sepa.pain008 in
// batches of 1000 (the records of a batch are reused, as a source would).
func writePain008(tb testing.TB, n int, w *countWriter) {
	cfg := sdk.Config{"creditor": map[string]any{"name": "Stadttheater Musterstadt", "iban": "DE89370400440532013000", "creditor_id": "DE98ZZZ09999999999"}}
	env := sdk.Env{Now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), State: &sdk.MemState{}}
	enc, err := Pain008Component().NewEncoder(context.Background(), sdk.ApplyDefaults(Pain008Spec(), cfg), env)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	bw := bufio.NewWriterSize(w, 256*1024)
	out := sdk.Output{Name: "bench.xml", W: bw, Temp: func() (sdk.TempFile, error) { return os.CreateTemp(dir, "scratch-*") }}
	sink, err := enc.Create(context.Background(), out)
	if err != nil {
		tb.Fatal(err)
	}
	ibans := []string{"DE02120300000000202051", "DE02500105170137075030", "DE12500105170648489890", "AT611904300234573201"}
	seqs := []string{"RCUR", "RCUR", "RCUR", "FRST", "OOFF"}
	batch := &record.Batch{Records: make([]record.Record, 1000)}
	for i := range batch.Records {
		batch.Records[i] = record.New(benchSchema, record.Origin{})
	}
	md := record.DateValue(record.NewDate(2024, 1, 15))
	for done := 0; done < n; {
		k := min(1000, n-done)
		batch.Records = batch.Records[:k]
		for j := 0; j < k; j++ {
			i := done + j
			v := batch.Records[j].Values
			v[0] = record.String("ABO-" + strconv.Itoa(i))
			d, _ := record.NewDecimal(int64(i%50000+100), 2)
			v[1] = record.Dec(d)
			v[2] = record.String("Kundin Müller " + strconv.Itoa(i%1000))
			v[3] = record.String(ibans[i%len(ibans)])
			v[4] = record.String("M-" + strconv.Itoa(i))
			v[5] = md
			v[6] = record.String("Abo Dezember 2026 Vertrag " + strconv.Itoa(i))
			v[7] = record.String(seqs[i%len(seqs)])
		}
		rej, err := sink.Write(context.Background(), batch)
		if err != nil || len(rej) != 0 {
			tb.Fatalf("write: %v %v", err, rej)
		}
		done += k
	}
	if err := sink.Close(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPain008 writes 10,000 transactions per op, or 1,000,000 with
// KONTOR_BENCH_LARGE=1; it reports MB/s of the final file and the peak RSS.
func BenchmarkPain008(b *testing.B) {
	n := 10000
	if os.Getenv("KONTOR_BENCH_LARGE") == "1" {
		n = 1000000
	}
	var total int64
	start := time.Now()
	for b.Loop() {
		var w countWriter
		writePain008(b, n, &w)
		total += w.n
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(total)/1e6/el, "MB/s")
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
	b.ReportMetric(float64(n), "tx/op")
}

func TestPain008Streaming(t *testing.T) {
	var w countWriter
	writePain008(t, 5000, &w)
	if w.n < 5000*500 {
		t.Errorf("only %d bytes for 5000 transactions", w.n)
	}
}
