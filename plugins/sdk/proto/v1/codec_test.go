package pluginv1

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

func benchBatch() *record.Batch {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "performance", Kind: record.KindString})
	b := &record.Batch{}
	for i := 0; i < 1000; i++ {
		b.Records = append(b.Records, record.Record{Schema: s, Values: []record.Value{record.Int(int64(i)),
			record.Dec(record.MustDecimal(fmt.Sprintf("%d.%02d", i*7%5000, i%100))), record.String("Tosca, 28.11.2026, Parkett links")},
			Origin: record.Origin{File: "in/sales.csv", Line: i + 2, Col: 1, Index: int64(i + 1)}})
	}
	return b
}

func BenchmarkEncode(b *testing.B) {
	in := benchBatch()
	var e Encoder
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Encode(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}

func BenchmarkDecode(b *testing.B) {
	var e Encoder
	data, _ := e.Encode(benchBatch())
	var d Decoder
	b.ReportAllocs()
	var out record.Batch
	for i := 0; i < b.N; i++ {
		out = record.Batch{}
		if err := d.Decode(data, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}

func TestRoundTrip(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	s := record.MustSchema(record.Field{Name: "s", Kind: record.KindString}, record.Field{Name: "v"})
	big, _ := record.ParseDecimal("-9999999999999999999", '.')
	vals := []record.Value{
		record.Null, record.String(""), record.String("Grüße; \"quoted\"\n\x00"), record.Int(-1 << 63), record.Int(1<<63 - 1),
		record.Dec(record.MustDecimal("0.10")), record.Dec(record.MustDecimal("-12345678901234.5678")), record.Dec(big),
		record.Dec(record.MustDecimal("0.0000000000000000001")),
		record.Bool(true), record.Bool(false), record.DateValue(record.NewDate(1899, 12, 30)), record.DateValue(record.NewDate(2026, 11, 23)),
		record.DateTime(time.Date(2026, 10, 25, 2, 30, 0, 1, berlin)),                      // the hour that happens twice
		record.DateTime(time.Date(2026, 10, 25, 2, 30, 0, 1, berlin).Add(time.Hour)),       // second 02:30
		record.DateTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("XYZ", -3*3600))), // a zone without IANA name
		record.DateTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		record.List([]record.Value{record.Int(1), record.List(nil), record.Map(map[string]record.Value{"a": record.String("b")})}),
		record.Map(map[string]record.Value{}),
	}
	b := &record.Batch{}
	for i, v := range vals {
		b.Records = append(b.Records, record.Record{Schema: s, Values: []record.Value{record.String(fmt.Sprint(i)), v},
			Origin: record.Origin{File: fmt.Sprintf("f%d.csv", i%3), Line: i, Col: i * 2, Path: "Document/Ntry[3]", Index: int64(i)}})
	}
	b.Rejects = []record.Reject{{Record: b.Records[2], Step: "vat", Field: "v", Reason: "zu groß"}, {Record: record.Record{}, Reason: "no record"}}
	var e Encoder
	data, err := e.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	var got record.Batch
	if err := d.Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != len(b.Records) || len(got.Rejects) != 2 {
		t.Fatalf("got %d records %d rejects", len(got.Records), len(got.Rejects))
	}
	for i, r := range got.Records {
		w := b.Records[i]
		if r.Origin != w.Origin || r.Schema.String() != w.Schema.String() || !r.Values[1].Equal(w.Values[1]) || r.Values[1].String() != w.Values[1].String() {
			t.Errorf("record %d: got %v %v, want %v %v", i, r.Origin, r.Values[1].GoString(), w.Origin, w.Values[1].GoString())
		}
		if r.Schema != got.Records[0].Schema {
			t.Errorf("record %d: schema not shared", i)
		}
	}
	if rj := got.Rejects[0]; rj.Step != "vat" || rj.Field != "v" || rj.Reason != "zu groß" || rj.Record.Origin.Line != 2 {
		t.Errorf("reject = %+v", rj)
	}
	if got.Rejects[1].Record.Schema != nil || got.Rejects[1].Reason != "no record" {
		t.Errorf("reject without record = %+v", got.Rejects[1])
	}
	// a second batch with the same schema reuses the cached *Schema
	var again record.Batch
	if err := d.Decode(data, &again); err != nil || again.Records[0].Schema != got.Records[0].Schema {
		t.Errorf("schema cache: %v", err)
	}
	// bad values count
	if _, err := e.Encode(&record.Batch{Records: []record.Record{{Schema: s, Values: []record.Value{record.Null}}}}); err == nil {
		t.Error("encoding a record with too few values succeeded")
	}
}

func TestDecodeMalformed(t *testing.T) {
	var e Encoder
	good, _ := e.Encode(benchBatch())
	good = append([]byte(nil), good...)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"version":   {2},
		"truncated": good[:len(good)/2],
		"trailing":  append(append([]byte(nil), good...), 0),
		"count":     {1, 0, 0, 0xff, 0xff, 0x03},
		"schema":    {1, 0, 1, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0},
		"kind":      {1, 1, 1, 1, 'a', 42, 0, 0, 0},
		"varint":    {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		var d Decoder
		if err := d.Decode(data, &record.Batch{}); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecode: any bytes either decode into records whose values match
// their schemas, or fail with ErrMalformed; never a panic or a hang.
func FuzzDecode(f *testing.F) {
	var e Encoder
	data, _ := e.Encode(benchBatch())
	f.Add(append([]byte(nil), data...))
	small, _ := e.Encode(&record.Batch{Records: benchBatch().Records[:2], Rejects: []record.Reject{{Reason: "x"}}})
	f.Add(append([]byte(nil), small...))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{1, 1, 1, 1, 'a', 8, 1, 0, 1, 0, 0, 0, 0, 0, 1, 8, 2, 8, 0, 9, 1, 1, 'k', 6, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var b record.Batch
		err := d.Decode(data, &b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		for _, r := range b.Records {
			if len(r.Values) != r.Schema.Len() {
				t.Fatalf("record with %d values for %d fields", len(r.Values), r.Schema.Len())
			}
		}
		// what decoded must encode and decode to the same text
		var e Encoder
		again, err := e.Encode(&b)
		if err != nil {
			t.Fatal(err)
		}
		var b2 record.Batch
		if err := (&Decoder{}).Decode(again, &b2); err != nil || len(b2.Records) != len(b.Records) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestResultRoundTrip(t *testing.T) {
	req := benchBatch()
	req.Records = req.Records[:6]
	out := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "performance", Kind: record.KindString}, record.Field{Name: "tags"})
	res := &record.Batch{}
	for i, r := range req.Records {
		if i == 1 { // filtered out
			continue
		}
		vals := append(append([]record.Value(nil), r.Values...), record.List([]record.Value{record.Int(int64(i))}))
		if i == 2 {
			vals[2] = record.String("changed")
		}
		if i == 3 {
			vals[1] = record.Dec(record.MustDecimal("1.50")) // 1.5 with another scale: not the same
		}
		res.Records = append(res.Records, record.Record{Schema: out, Values: vals, Origin: r.Origin})
	}
	// a record of its own (no source) and one out of order
	res.Records = append(res.Records, record.Record{Schema: out, Values: []record.Value{record.Int(99), record.Null, record.String("new"), record.Null},
		Origin: record.Origin{File: "gen", Index: 1}})
	res.Records = append(res.Records, record.Record{Schema: out, Values: append(append([]record.Value(nil), req.Records[0].Values...), record.Null), Origin: req.Records[0].Origin})
	res.Rejects = []record.Reject{{Record: req.Records[1], Step: "t", Field: "amount", Reason: "bad"}}

	var e Encoder
	data, err := e.EncodeResult(res, req)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := (&Encoder{}).Encode(res)
	if len(data) >= len(plain) {
		t.Errorf("result encoding %d bytes, plain %d: expected smaller", len(data), len(plain))
	}
	var got record.Batch
	if err := (&Decoder{}).DecodeResult(append([]byte(nil), data...), req, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != len(res.Records) || len(got.Rejects) != 1 {
		t.Fatalf("got %d records, %d rejects", len(got.Records), len(got.Rejects))
	}
	for i, r := range got.Records {
		w := res.Records[i]
		if r.Origin != w.Origin || r.String() != w.String() {
			t.Errorf("record %d: got %v %s, want %v %s", i, r.Origin, r, w.Origin, w)
		}
	}
	if got.Records[2].Values[1].String() != "1.50" {
		t.Errorf("scale lost: %s", got.Records[2].Values[1])
	}
	if rj := got.Rejects[0]; rj.Record.String() != req.Records[1].String() || rj.Record.Origin != req.Records[1].Origin || rj.Reason != "bad" {
		t.Errorf("reject = %+v", rj)
	}
	// a result refers to request records: without them it is malformed
	if err := (&Decoder{}).DecodeResult(data, &record.Batch{}, &record.Batch{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("decoding against no request: %v", err)
	}
	// and a plain decoder refuses it
	if err := (&Decoder{}).Decode(data, &record.Batch{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("plain decode of a result: %v", err)
	}
}

func BenchmarkDecodeResult(b *testing.B) {
	req := benchBatch()
	out := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "performance", Kind: record.KindString}, record.Field{Name: "net", Kind: record.KindDecimal})
	res := &record.Batch{}
	for _, r := range req.Records {
		res.Records = append(res.Records, record.Record{Schema: out, Values: append(append([]record.Value(nil), r.Values...), record.Dec(record.MustDecimal("1.23"))), Origin: r.Origin})
	}
	var e Encoder
	data, _ := e.EncodeResult(res, req)
	var d Decoder
	got := record.Batch{Records: make([]record.Record, 0, 1000)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		got.Records = got.Records[:0]
		if err := d.DecodeResult(data, req, &got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}

// FuzzDecodeResult: result batches against a fixed request decode or fail
// with ErrMalformed, never panic; source references stay in range.
func FuzzDecodeResult(f *testing.F) {
	req := benchBatch()
	req.Records = req.Records[:4]
	var e Encoder
	data, _ := e.EncodeResult(&record.Batch{Records: req.Records[1:], Rejects: []record.Reject{{Record: req.Records[0], Reason: "x"}}}, req)
	f.Add(append([]byte(nil), data...))
	f.Add([]byte{2, 0, 0, 1, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b record.Batch
		err := (&Decoder{}).DecodeResult(data, req, &b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		for _, r := range b.Records {
			if len(r.Values) != r.Schema.Len() {
				t.Fatalf("record with %d values for %d fields", len(r.Values), r.Schema.Len())
			}
		}
	})
}
