package fibu

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

var bookingSchema = record.MustSchema(
	record.Field{Name: "betrag", Kind: record.KindDecimal}, record.Field{Name: "sh"}, record.Field{Name: "konto"},
	record.Field{Name: "gegenkonto"}, record.Field{Name: "datum", Kind: record.KindDate}, record.Field{Name: "fibu_nr"},
	record.Field{Name: "text"}, record.Field{Name: "kost1"},
)

const bookingCfg = `
berater: 29098
mandant: 55003
datum_vom: "2024-11-01"
datum_bis: "2024-11-30"
erzeugt_am: "20241201080000000"
mapping: {umsatz: betrag, soll_haben_kennzeichen: sh, konto: konto, gegenkonto: gegenkonto, belegdatum: datum, belegfeld_1: fibu_nr, "Auftragsnummer": fibu_nr, buchungstext: text, kost1: kost1}
`

func booking(vals ...any) record.Record {
	r := record.New(bookingSchema, record.Origin{File: "in.csv", Line: 2})
	for i, v := range vals {
		x, err := record.FromAny(v)
		if err != nil {
			panic(err)
		}
		r.Values[i] = x
	}
	return r
}

func good() []any {
	return []any{record.MustDecimal("1234.5"), "S", "1000", "8400", record.NewDate(2024, 11, 23), "V-2024-0815", "Don Carlos 23.11.", "Oper"}
}

func TestWriterValid(t *testing.T) {
	out, rej := writeAll(t, bookingCfg, []record.Record{booking(good()...)})
	if len(rej) > 0 {
		t.Fatal(rej[0].Error())
	}
	checkWrittenRows(t, out, 125)
	lines := strings.Split(decode1252(out), "\r\n")
	if !strings.HasPrefix(lines[0], `"EXTF";700;21;"Buchungsstapel";13;20241201080000000;;"RE";"";"";29098;55003;20240101;4;20241101;20241130;"Buchungsstapel";"";1;0;0;"EUR";`) {
		t.Fatalf("header: %s", lines[0])
	}
	if !strings.HasPrefix(lines[2], `1234,50;"S";"";;;"";1000;8400;"";2311;"V-2024-0815";"";;"Don Carlos 23.11.";`) {
		t.Fatalf("row: %s", lines[2])
	}
	if !strings.Contains(lines[2], `"Oper";""`) || strings.Count(lines[2], `"V-2024-0815"`) != 2 {
		t.Fatalf("kost1 or auftragsnummer missing: %s", lines[2])
	}
}

func TestWriterFlipNegative(t *testing.T) {
	v := good()
	v[0] = record.MustDecimal("-10")
	out, rej := writeAll(t, bookingCfg+"negative_amounts: flip\n", []record.Record{booking(v...)})
	if len(rej) > 0 {
		t.Fatal(rej[0].Error())
	}
	if !strings.Contains(string(out), "\r\n10,00;\"H\";") {
		t.Fatalf("not flipped: %q", out)
	}
}

// TestWriterFieldRules: one negative case per rule; the reject names the DATEV field.
func TestWriterFieldRules(t *testing.T) {
	tests := []struct {
		idx    int
		val    any
		field  string
		reason string
	}{
		{0, record.MustDecimal("0"), "Umsatz (ohne Soll/Haben-Kz) (umsatz)", "greater than 0"},
		{0, record.MustDecimal("-5"), "Umsatz (ohne Soll/Haben-Kz) (umsatz)", "negative"},
		{0, record.MustDecimal("12345678901"), "Umsatz (ohne Soll/Haben-Kz) (umsatz)", `does not match \d{1,10},\d{2}`},
		{0, record.MustDecimal("1.005"), "Umsatz (ohne Soll/Haben-Kz) (umsatz)", "more than 2 decimal places"},
		{0, "abc", "Umsatz (ohne Soll/Haben-Kz) (umsatz)", "not an amount"},
		{1, "X", "Soll/Haben-Kennzeichen (soll_haben_kennzeichen)", `"X" is not one of S, H`},
		{1, nil, "Soll/Haben-Kennzeichen (soll_haben_kennzeichen)", "required"},
		{2, "12345678", "Konto (konto)", "Sachkontenlänge 4 allows at most 5"},
		{2, "12a4", "Konto (konto)", "not allowed"},
		{2, "0", "Konto (konto)", "must not be 0"},
		{2, "8400", "Konto (konto)", "Konto and Gegenkonto are both 8400"},
		{4, record.NewDate(2024, 10, 31), "Belegdatum (belegdatum)", "outside the period"},
		{4, "3111", "Belegdatum (belegdatum)", "not a day inside the period"},
		{4, "0112", "Belegdatum (belegdatum)", "not a day inside the period"},
		{5, "RE_1", "Belegfeld 1 (belegfeld_1)", "character '_' at position 3 not allowed"},
		{5, strings.Repeat("1", 37), "Belegfeld 1 (belegfeld_1)", "max 36"},
		{6, strings.Repeat("x", 61), "Buchungstext (buchungstext)", "max 60"},
		{6, "line\nbreak", "Buchungstext (buchungstext)", "control character"},
		{6, "Ticket 😀", "Buchungstext (buchungstext)", "not representable in windows-1252"},
		{7, "Oper/Ballett", "KOST1 - Kostenstelle (kost1)", "not allowed"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s=%v", tc.field, tc.val), func(t *testing.T) {
			v := good()
			v[tc.idx] = tc.val
			out, rej := writeAll(t, bookingCfg, []record.Record{booking(good()...), booking(v...)})
			if len(rej) != 1 {
				t.Fatalf("want 1 reject, got %d", len(rej))
			}
			if rej[0].Field != tc.field || !strings.Contains(rej[0].Reason, tc.reason) {
				t.Fatalf("reject %q: %q; want %q: %q", rej[0].Field, rej[0].Reason, tc.field, tc.reason)
			}
			if n := bytes.Count(out, []byte("\r\n")); n != 3 {
				t.Fatalf("want header, captions and one row, got %d lines", n)
			}
		})
	}
}

func TestWriterConfigErrors(t *testing.T) {
	c := ExtfWriterConfig{Berater: 12, Mandant: 1, DatumVom: "2024-11-01", DatumBis: "2024-10-01", Mapping: map[string]string{"belegfeld1": "x"}}
	_, err := buildExtfEncoder(c, testEnv())
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"berater: must be 1001", "datum_bis: 2024-10-01 is before", `mapping.belegfeld1: unknown DATEV column "belegfeld1" (did you mean "belegfeld_1"?)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestReadV9AndDamagedRows(t *testing.T) {
	in, _ := os.ReadFile("testdata/datev-official-sample_EXTF_Buchungsstapel.cp1252-crlf.csv")
	lines := strings.Split(string(in), "\r\n")
	lines[0] = strings.Replace(lines[0], `"Buchungsstapel";13;`, `"Buchungsstapel";9;`, 1)
	for i := 1; i < len(lines)-1; i++ {
		lines[i] = strings.Join(strings.Split(lines[i], ";")[:120], ";")
	}
	lines[3] = "1,2,3"                                            // damaged row
	lines[5] = strings.Replace(lines[5], "531,16;", "531.16;", 1) // wrong decimal
	recs, rejs, err := readAll(t, "v9.csv", []byte(strings.Join(lines, "\r\n")), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 52 || len(rejs) != 2 || recs[0].Schema.Len() != 120 {
		t.Fatalf("records %d rejects %d", len(recs), len(rejs))
	}
	if got := rejs[0].Error(); got != "v9.csv:4:1: fibu.datev_extf_read: row has 1 columns, Buchungsstapel version 9 has 120 (truncated or from another format version?)" {
		t.Errorf("reject 1: %s", got)
	}
	if got := rejs[1].Error(); got != `v9.csv:6:1: fibu.datev_extf_read: umsatz: Umsatz (ohne Soll/Haben-Kz): not an amount with decimal comma: "531.16"` {
		t.Errorf("reject 2: %s", got)
	}
}

// TestReadDamagedBytesAndAmounts: bytes the encoding does not define and
// amounts DATEV cannot hold reject their row with line, column and reason,
// and the reject keeps the whole line (nothing is repaired or rounded).
func TestReadDamagedBytesAndAmounts(t *testing.T) {
	in, _ := os.ReadFile("testdata/datev-official-sample_EXTF_Buchungsstapel.cp1252-crlf.csv")
	base := strings.Split(string(in), "\r\n")
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"undefined windows-1252 byte", ";\"", ";\"\x81", "x.csv:3:"},
		{"NUL byte", ";\"", ";\"\x00", "NUL byte (0x00)"},
		{"three decimals", "100,18;", "100,185;", `umsatz: Umsatz (ohne Soll/Haben-Kz): "100,185" has 3 decimal places, DATEV allows 2`},
		{"more digits than a decimal holds", "100,18;", "1234567890123456789,5;", `"1234567890123456789,5" has more digits than a decimal holds exactly`},
		{"126 columns", "100,18;", "100,18;x;", "row has 126 columns, Buchungsstapel version 13 has 125"},
		{"bare CR", "100,18;", "100,18\r;", "carriage return (CR)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := append([]string{}, base...)
			if !strings.Contains(lines[2], tc.old) {
				t.Fatalf("fixture row has no %q", tc.old)
			}
			lines[2] = strings.Replace(lines[2], tc.old, tc.new, 1)
			recs, rejs, err := readAll(t, "x.csv", []byte(strings.Join(lines, "\r\n")), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(rejs) != 1 || len(recs) != 53 {
				t.Fatalf("records %d rejects %v", len(recs), rejs)
			}
			if got := rejs[0].Error(); !strings.HasPrefix(got, "x.csv:3:") || !strings.Contains(got, tc.want) {
				t.Errorf("reject %q, want x.csv:3:... %q", got, tc.want)
			}
			if got := rejs[0].Record.Values[0].Str(); got != decode1252([]byte(lines[2])) {
				t.Errorf("reject keeps %q, want the whole line", got)
			}
		})
	}
}

func FuzzExtfReader(f *testing.F) {
	in, _ := os.ReadFile("testdata/datev-official-sample_EXTF_Buchungsstapel.cp1252-crlf.csv")
	f.Add(in[:3000])
	f.Add([]byte("\"EXTF\";700;21;\"Buchungsstapel\";13;1;;;;;;;;;;;;;;;;;;;;;;;;;\r\n"))
	oca, _ := os.ReadFile("testdata/oca_datev_export_resaved_comma.csv")
	f.Add(oca[:2000])
	f.Add([]byte("\"EXT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := readAll(t, "f.csv", data, "")
		if err == nil {
			for _, r := range recs {
				if len(r.Values) != r.Schema.Len() {
					t.Fatal("record shorter than schema")
				}
			}
		}
	})
}

// BenchmarkWriteBookings writes bookings through the full validation path. Set
// KONTOR_BENCH_LARGE=1 for one run of 1,000,000 rows (BenchmarkWriteMillion).
func BenchmarkWriteBookings(b *testing.B) {
	benchWrite(b, b.N)
}

func BenchmarkWriteMillion(b *testing.B) {
	if os.Getenv("KONTOR_BENCH_LARGE") != "1" {
		b.Skip("set KONTOR_BENCH_LARGE=1")
	}
	for b.Loop() {
		benchWrite(b, 1_000_000)
	}
}

func benchWrite(b *testing.B, n int) {
	c := ExtfWriterConfig{Berater: 29098, Mandant: 55003, DatumVom: "20241101", DatumBis: "20241130", Sachkontenlaenge: 4,
		Mapping: map[string]string{"umsatz": "betrag", "soll_haben_kennzeichen": "sh", "konto": "konto", "gegenkonto": "gegenkonto",
			"belegdatum": "datum", "belegfeld_1": "fibu_nr", "buchungstext": "text", "kost1": "kost1"}}
	enc, err := buildExtfEncoder(c, testEnv())
	if err != nil {
		b.Fatal(err)
	}
	sink, _ := enc.Create(b.Context(), outputDiscard())
	batch := &record.Batch{}
	for range 1000 {
		batch.Records = append(batch.Records, booking(good()...))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for rows < n {
		k := min(1000, n-rows)
		bb := &record.Batch{Records: batch.Records[:k]}
		if rej, err := sink.Write(b.Context(), bb); err != nil || len(rej) > 0 {
			b.Fatal(err, rej)
		}
		rows += k
	}
	_ = sink.Close(b.Context())
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// CPU time per row does not depend on what else the machine runs (wall time does).
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(max(rows, 1)), "cpu-ns/row")
}
