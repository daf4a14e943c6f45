package fibu

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

// TestWriterAdversarialText: messy text and dates from integrators either
// land in the Buchungsstapel exactly as DATEV reads them (Windows-1252,
// quotes doubled, NFC) or reject the record naming the DATEV column.
func TestWriterAdversarialText(t *testing.T) {
	sc := record.MustSchema(append(bookingSchema.Fields(), record.Field{Name: "leistung", Kind: record.KindDate})...)
	cfg := strings.Replace(bookingCfg, "kost1: kost1}", "kost1: kost1, leistungsdatum: leistung}", 1)
	rec := func(text any, leistung record.Date) record.Record {
		r := record.New(sc, record.Origin{File: "in.csv", Line: 3})
		vals := append(good(), leistung)
		vals[6] = text
		for i, v := range vals {
			x, err := record.FromAny(v)
			if err != nil {
				t.Fatal(err)
			}
			r.Values[i] = x
		}
		return r
	}
	ok := record.NewDate(2024, 11, 23)
	cases := []struct {
		name     string
		text     any
		leistung record.Date
		cell     string // expected cells `Buchungstext` (Windows-1252 bytes) ... ; "" rejected
		field    string
		reason   string
	}{
		{"decomposed accent is normalised to é", "Cafe\u0301", ok, "\"Caf\xe9\"", "", ""},
		{"€ is windows-1252", "Preis 5 €", ok, "\"Preis 5 \x80\"", "", ""},
		{"no-break space is windows-1252", "a\u00a0b", ok, "\"a\xa0b\"", "", ""},
		{"quotes are doubled", `Abo "Premiere"`, ok, `"Abo ""Premiere"""`, "", ""},
		{"delimiter inside the quotes", "Oper; Ballett", ok, `"Oper; Ballett"`, "", ""},
		{"60 characters with umlauts fit", strings.Repeat("ä", 60), ok, "\"" + strings.Repeat("\xe4", 60) + "\"", "", ""},
		{"formula characters are text", "=SUMME(A1)", ok, `"=SUMME(A1)"`, "", ""},
		{"invalid UTF-8", "Ab\xffo", ok, "", "Buchungstext (buchungstext)", "invalid UTF-8 at position 3"},
		{"carriage return", "a\rb", ok, "", "Buchungstext (buchungstext)", "control character"},
		{"U+FFFE", "a\ufffeb", ok, "", "Buchungstext (buchungstext)", "not representable in windows-1252"},
		{"Leistungsdatum in year 10000", "x", record.NewDate(10000, 1, 1), "", "Leistungsdatum (leistungsdatum)", "the year 10000 does not fit the four digits of TTMMJJJJ"},
		{"Leistungsdatum in year 0", "x", record.NewDate(0, 12, 31), "", "Leistungsdatum (leistungsdatum)", "the year 0 does not fit"},
		{"Leistungsdatum 31.12.9999", "x", record.NewDate(9999, 12, 31), "31129999", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, rej := writeAll(t, cfg, []record.Record{rec("ok", ok), rec(tc.text, tc.leistung)})
			lines := bytes.Split(bytes.TrimSuffix(out, []byte("\r\n")), []byte("\r\n"))
			if tc.reason != "" {
				if len(rej) != 1 || rej[0].Field != tc.field || !strings.Contains(rej[0].Reason, tc.reason) || rej[0].Record.Origin.Line != 3 {
					t.Fatalf("rejects %v, want %s: %q", rej, tc.field, tc.reason)
				}
				if len(lines) != 3 {
					t.Fatalf("want header, captions and the good row, got %d lines", len(lines))
				}
				return
			}
			if len(rej) > 0 {
				t.Fatalf("rejects %v", rej)
			}
			if len(lines) != 4 || !bytes.Contains(lines[3], []byte(";"+tc.cell+";")) {
				t.Fatalf("row %q lacks %q", lines[len(lines)-1], tc.cell)
			}
		})
	}
}
