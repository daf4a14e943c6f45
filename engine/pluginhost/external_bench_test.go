package pluginhost

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// benchRecords is the size of one run of BenchmarkVATSplit per side.
const benchRecords = 1_000_000

// BenchmarkVATSplit is the acceptance benchmark of external plugins: the
// same transform (example.vat_split) over 1,000,000 records in process and
// out of process (kontor-plugin-example as a child process over gRPC), in
// batches of 1000. One op is one million records on each side; the two
// sides alternate in blocks of 50 batches so that both see the same load
// on a shared machine (the remote transform pipelines: each block ends
// with its Flush, so the plugin's work never spills into the other
// side's time). It reports per record:
//
//	in-ns/record, out-ns/record          wall time
//	in-cpu-ns/record, out-cpu-ns/record  CPU time (out: host + plugin process)
//	plugin-cpu-ns/record                 the plugin process's part of out-cpu
//	ratio                                out-of-process throughput / in-process (wall)
//	cpu-ratio                            the same by CPU time
//
// Run it alone with
//
//	go test -run=NONE -bench=VATSplit ./engine/pluginhost/
//
// (`make bench` runs it with all other benchmarks.)
func BenchmarkVATSplit(b *testing.B) {
	in := benchBatch()
	bin := buildPlugin(&testing.T{}, "plugins/example", "example")
	h := NewHost(ExternalOptions{})
	defer h.Close()
	ext, err := h.Load(context.Background(), PluginRef{Path: bin})
	if err != nil {
		b.Fatal(err)
	}
	local := newVAT(b, vat.Plugin())
	defer local.Close()
	remote := newVAT(b, ext)
	defer remote.Close()
	pid := h.pids()
	if len(pid) != 1 {
		b.Fatalf("%d plugin processes", len(pid))
	}
	var sides [2]benchSide // 0 in process, 1 out of process
	out := &record.Batch{}
	const block = 50
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for done := 0; done < benchRecords/len(in.Records); done += block {
			for s, tr := range []sdk.Transform{local, remote} {
				sides[s].start(pid[0], s == 1)
				got := 0
				for i := 0; i < block; i++ {
					out.Records = make([]record.Record, 0, len(in.Records)) // as the runner does
					out.Rejects = out.Rejects[:0]
					if err := tr.Process(context.Background(), in, out); err != nil {
						b.Fatal(err)
					}
					got += len(out.Records)
				}
				// the remote transform holds the batch in flight back
				// until the next Process or Flush: a block ends with
				// nothing left in flight, so each side is timed for
				// exactly its own work
				if f, ok := tr.(sdk.Flusher); ok {
					err := f.Flush(context.Background(), func(r *record.Batch) error {
						got += len(r.Records)
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				sides[s].stop(pid[0], s == 1)
				if got != block*len(in.Records) {
					b.Fatalf("%d records out of %d", got, block*len(in.Records))
				}
			}
		}
	}
	b.StopTimer()
	recs := float64(b.N) * benchRecords
	inNS, outNS := float64(sides[0].wall)/recs, float64(sides[1].wall)/recs
	inCPU, outCPU := float64(sides[0].cpu)/recs, float64(sides[1].cpu)/recs
	b.ReportMetric(inNS, "in-ns/record")
	b.ReportMetric(outNS, "out-ns/record")
	b.ReportMetric(inCPU, "in-cpu-ns/record")
	b.ReportMetric(outCPU, "out-cpu-ns/record")
	b.ReportMetric(float64(sides[1].child)/recs, "plugin-cpu-ns/record")
	b.ReportMetric(inNS/outNS, "ratio")
	if outCPU > 0 {
		b.ReportMetric(inCPU/outCPU, "cpu-ratio")
	}
}

func benchBatch() *record.Batch {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "performance", Kind: record.KindString})
	in := &record.Batch{}
	for i := 0; i < 1000; i++ {
		in.Records = append(in.Records, record.Record{Schema: s, Values: []record.Value{record.Int(int64(i)),
			record.Dec(record.MustDecimal(fmt.Sprintf("%d.%02d", i*7%5000, i%100))), record.String("Tosca, 28.11.2026, Parkett links")},
			Origin: record.Origin{File: "in/sales.csv", Line: i + 2, Col: 1, Index: int64(i + 1)}})
	}
	return in
}

func newVAT(b *testing.B, p sdk.Plugin) sdk.Transform {
	c, _ := p.Component("vat_split")
	tr, err := c.NewTransform(context.Background(), sdk.ApplyDefaults(c.Spec, sdk.Config{"gross": "amount"}),
		sdk.Env{Step: "vat", Logger: slogDiscard(), State: &sdk.MemState{}})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// benchSide sums wall and CPU time of one side over its blocks.
type benchSide struct {
	wall, cpu, child time.Duration
	t0               time.Time
	c0, ch0          time.Duration
}

func (s *benchSide) start(pid int, child bool) {
	s.c0, s.ch0 = selfCPU(), 0
	if child {
		s.ch0 = procCPU(pid)
	}
	s.t0 = time.Now()
}

func (s *benchSide) stop(pid int, child bool) {
	s.wall += time.Since(s.t0)
	s.cpu += selfCPU() - s.c0
	if child {
		ch := procCPU(pid) - s.ch0
		s.cpu += ch
		s.child += ch
	}
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user+system CPU time of process pid from /proc (Linux;
// 0 elsewhere), in clock ticks of 10 ms.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	return time.Duration(ut+st) * 10 * time.Millisecond
}
