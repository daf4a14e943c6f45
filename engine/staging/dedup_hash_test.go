package staging

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

// oldContentHash is the content hash as dedup computed it before the
// allocation-free version: the ledgers of earlier runs hold these values,
// so the bytes hashed must never change.
func oldContentHash(r record.Record, fields []string) string {
	var b []byte
	add := func(name string, v record.Value) {
		b = append(b, name...)
		b = append(b, 0x1f, byte(v.Kind()))
		if v.Kind() == record.KindDecimal {
			s := v.Decimal().String()
			if strings.IndexByte(s, '.') >= 0 {
				s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
			}
			b = append(b, s...)
		} else {
			b = append(b, v.String()...)
		}
		b = append(b, 0x1e)
	}
	if len(fields) > 0 {
		for _, f := range fields {
			add(f, r.Value(f))
		}
	} else {
		for i, v := range r.Values {
			add(r.Schema.Field(i).Name, v)
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// TestDedupContentHashStable: the content hash (as stored in the ledger)
// is the same as before for every kind of value, with and without
// hash_fields (also a missing one, and a schema change between records),
// and hashIs compares it with its stored hex form.
func TestDedupContentHashStable(t *testing.T) {
	schema := record.MustSchema(
		record.Field{Name: "s", Kind: record.KindString}, record.Field{Name: "d", Kind: record.KindDecimal},
		record.Field{Name: "i", Kind: record.KindInt}, record.Field{Name: "n", Kind: record.KindString},
		record.Field{Name: "b", Kind: record.KindBool}, record.Field{Name: "t", Kind: record.KindDate})
	other := record.MustSchema(record.Field{Name: "d", Kind: record.KindDecimal}, record.Field{Name: "s", Kind: record.KindString})
	var recs []record.Record
	for _, d := range []string{"29.90", "30.00", "30", "-0.50", "0", "1234567890.123400", "100"} {
		for _, i := range []int64{0, -7, 1 << 40} {
			recs = append(recs, record.Record{Schema: schema, Values: []record.Value{record.String("Müller|\\ x"), record.Dec(record.MustDecimal(d)),
				record.Int(i), record.Null, record.Bool(i > 0), record.DateValue(record.NewDate(2026, 11, 1))}})
		}
		recs = append(recs, record.Record{Schema: other, Values: []record.Value{record.Dec(record.MustDecimal(d)), record.String("")}})
	}
	for _, fields := range [][]string{nil, {"d", "s"}, {"i", "missing", "t"}} {
		d := &dedup{cfg: DedupConfig{HashFields: fields}}
		for _, r := range recs {
			want := oldContentHash(r, fields)
			got := d.contentHash(r)
			if hex.EncodeToString(got[:]) != want {
				t.Fatalf("fields %v, record %v: hash %x, want %s", fields, r.Values, got, want)
			}
			if !hashIs(want, &got) || hashIs(want[:31]+"x", &got) || hashIs(strings.ToUpper(want), &got) && want != strings.ToUpper(want) || hashIs("", &got) {
				t.Fatalf("hashIs(%s, %x) wrong", want, got)
			}
		}
	}
	// One value pinned literally (the statebench SQL computes the same).
	r := record.Record{Schema: record.MustSchema(record.Field{Name: "abo_nr", Kind: record.KindString}, record.Field{Name: "period", Kind: record.KindString},
		record.Field{Name: "amount", Kind: record.KindDecimal}), Values: []record.Value{record.String("A-00000001"), record.String("2026-11"), record.Dec(record.MustDecimal("29.90"))}}
	got := (&dedup{}).contentHash(r)
	if h := hex.EncodeToString(got[:]); h != oldContentHash(r, nil) || h != "42e66720017cee34e663117e5e6b90b2" {
		t.Fatalf("hash of %v = %s", r.Values, h)
	}
}

// TestFpTable: findOrAdd finds every fingerprint added before (across
// growth, with colliding first words) and adds the others.
func TestFpTable(t *testing.T) {
	var tb fpTable
	const n = 20000
	for i := 0; i < n; i++ {
		f := fp{uint64(i % 97), uint64(i)} // many equal first words: long probe runs
		if v, dup := tb.findOrAdd(f, int32(i)); dup || v != int32(i) {
			t.Fatalf("add %d: %d %v", i, v, dup)
		}
	}
	for i := 0; i < n; i++ {
		if v, dup := tb.findOrAdd(fp{uint64(i % 97), uint64(i)}, -1); !dup || v != int32(i) {
			t.Fatalf("find %d: %d %v", i, v, dup)
		}
	}
	if tb.n != n || 4*tb.n > 3*len(tb.slots) {
		t.Fatalf("n %d, slots %d", tb.n, len(tb.slots))
	}
	var b blocks[int]
	for i := 0; i < 3*blockSize+5; i++ {
		b.add(i)
	}
	for i := 0; i < b.len(); i++ {
		if b.at(i) != i {
			t.Fatalf("blocks.at(%d) = %d", i, b.at(i))
		}
	}
}
