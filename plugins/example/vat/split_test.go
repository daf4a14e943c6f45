package vat

import (
	"context"
	"fmt"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ gross, rate, net, vat string }{
		{"119.00", "19", "100.00", "19.00"},
		{"100.00", "19", "84.03", "15.97"}, // 84.0336... rounds down
		{"10.70", "7", "10.00", "0.70"},
		{"0.01", "19", "0.01", "0.00"},
		{"-119.00", "19", "-100.00", "-19.00"},
		{"1.19", "0", "1.19", "0.00"},
		{"0.595", "19", "0.50", "0.095"}, // 0.5 exactly: half away from zero keeps .50
		{"2.975", "19", "2.50", "0.475"},
		{"0.0595", "19", "0.05", "0.0095"},    // 0.05
		{"0.00595", "19", "0.01", "-0.00405"}, // 0.005 -> half up -> 0.01
	} {
		net, vat, err := Split(record.MustDecimal(tc.gross), record.MustDecimal(tc.rate), 2)
		if err != nil {
			t.Fatal(err)
		}
		if net.String() != tc.net || vat.String() != tc.vat {
			t.Errorf("Split(%s, %s) = %s, %s; want %s, %s", tc.gross, tc.rate, net, vat, tc.net, tc.vat)
		}
		if sum, _ := net.Add(vat); !sum.Equal(record.MustDecimal(tc.gross)) {
			t.Errorf("net + vat = %s, want %s", sum, tc.gross)
		}
	}
}

func TestConformance(t *testing.T) {
	sdktest.LintPlugin(t, Plugin())
	sdktest.CheckConfig(t, SplitSpec, SplitConfig{})
	remote := sdktest.Loopback(t, Plugin())
	sdktest.SameTransform(t, Plugin(), remote, "vat_split", sdk.Config{"gross": "amount", "rate_field": "rate"}, testBatches(3, 1000))
	// constructor field errors arrive with their paths
	c, _ := remote.Component("vat_split")
	_, err := c.NewTransform(context.Background(), sdk.Config{"gross": "", "rate": "x", "net": "n", "vat": "v", "scale": 2}, sdktest.Env("t"))
	if fes, ok := sdk.AsFieldErrors(err); !ok || len(fes) != 2 || fes[0].Path != "gross" || fes[1].Path != "rate" {
		t.Errorf("remote constructor error = %v", err)
	}
}

var testSchema = record.MustSchema(
	record.Field{Name: "id", Kind: record.KindInt},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "rate", Kind: record.KindDecimal},
	record.Field{Name: "text", Kind: record.KindString},
)

// testBatches returns n batches of size records with a few bad ones.
func testBatches(n, size int) []*record.Batch {
	rates := []record.Value{record.Dec(record.MustDecimal("19")), record.Dec(record.MustDecimal("7")), record.Null, record.String("x"), record.Dec(record.MustDecimal("-1"))}
	var out []*record.Batch
	id := 0
	for i := 0; i < n; i++ {
		b := &record.Batch{}
		for j := 0; j < size; j++ {
			id++
			amount := record.Dec(record.MustDecimal(fmt.Sprintf("%d.%02d", id%5000, id%100)))
			if id%97 == 0 {
				amount = record.String("n/a")
			}
			b.Records = append(b.Records, record.Record{Schema: testSchema,
				Values: []record.Value{record.Int(int64(id)), amount, rates[id%len(rates)], record.String(fmt.Sprintf("Vorstellung %d äöü", id))},
				Origin: record.Origin{File: "in/sales.csv", Line: id + 1, Col: 1, Index: int64(id)}})
		}
		out = append(out, b)
	}
	return out
}

// BenchmarkSplitInProcess is the in-process baseline of the out-of-process
// benchmark in engine/pluginhost (BenchmarkVATSplit).
func BenchmarkSplitInProcess(b *testing.B) {
	in := testBatches(1, 1000)[0]
	tr, err := NewSplit(context.Background(), sdk.ApplyDefaults(SplitSpec, sdk.Config{"gross": "amount"}), sdktest.Env("t"))
	if err != nil {
		b.Fatal(err)
	}
	out := &record.Batch{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out.Reset()
		if err := tr.Process(context.Background(), in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}
