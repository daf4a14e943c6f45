package pluginhost

import (
	"context"
	"fmt"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// BenchmarkVATSplit runs example.vat_split in process and out of process
// (kontor-plugin-example as a child process over gRPC), one batch of 1000
// records per iteration. Over 1,000,000 records:
//
//	go test -run=NONE -bench=VATSplit -benchtime=1000x ./engine/pluginhost/
func BenchmarkVATSplit(b *testing.B) {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "performance", Kind: record.KindString})
	in := &record.Batch{}
	for i := 0; i < 1000; i++ {
		in.Records = append(in.Records, record.Record{Schema: s, Values: []record.Value{record.Int(int64(i)),
			record.Dec(record.MustDecimal(fmt.Sprintf("%d.%02d", i*7%5000, i%100))), record.String("Tosca, 28.11.2026, Parkett links")},
			Origin: record.Origin{File: "in/sales.csv", Line: i + 2, Col: 1, Index: int64(i + 1)}})
	}
	run := func(b *testing.B, p sdk.Plugin) {
		c, _ := p.Component("vat_split")
		tr, err := c.NewTransform(context.Background(), sdk.ApplyDefaults(c.Spec, sdk.Config{"gross": "amount"}),
			sdk.Env{Step: "vat", Logger: slogDiscard(), State: &sdk.MemState{}})
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		out := &record.Batch{}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out.Reset()
			if err := tr.Process(context.Background(), in, out); err != nil {
				b.Fatal(err)
			}
			if len(out.Records) != 1000 {
				b.Fatalf("%d records out", len(out.Records))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("in_process", func(b *testing.B) { run(b, vat.Plugin()) })
	b.Run("out_of_process", func(b *testing.B) {
		bin := buildPlugin(&testing.T{}, "plugins/example", "example")
		h := NewHost(ExternalOptions{})
		defer h.Close()
		p, err := h.Load(context.Background(), PluginRef{Path: bin})
		if err != nil {
			b.Fatal(err)
		}
		run(b, p)
	})
}
