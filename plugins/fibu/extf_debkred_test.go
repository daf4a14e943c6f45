package fibu

import (
	"os"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

const debKredCfg = `{kind: debitoren_kreditoren, berater: 29098, mandant: 55003, wj_beginn: "20240101", erzeugt_am: "20240130140659583"}`

// TestDebKredFieldRules: one negative case per rule group of Debitoren/Kreditoren, applied to
// a record of DATEV's official sample; the reject names the DATEV field. The unchanged record
// is written without a reject.
func TestDebKredFieldRules(t *testing.T) {
	in, err := os.ReadFile("testdata/datev-official-sample_EXTF_DebKred_Stamm.cp1252-lf.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := readAll(t, "debkred.csv", in, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		val    any
		reason string
	}{
		{"konto", "0", "must not be 0"},
		{"konto", "1234567890", "max 9"},
		{"name_adressattyp_unternehmen", strings.Repeat("x", 51), "max 50"},
		{"name_adressattyp_natuerl_person", strings.Repeat("x", 31), "max 30"},
		{"kurzbezeichnung", strings.Repeat("x", 16), "max 15"},
		{"eu_land", "de", "not allowed (allowed: A-Z)"},
		{"eu_ustid", strings.Repeat("1", 14), "max 13"},
		{"adressattyp", "3", "not one of 0, 1, 2"},
		{"adressart", "HAUS", "not one of STR, PF, GK"},
		{"strasse", strings.Repeat("x", 37), "max 36"},
		{"postleitzahl", "12345678901", "max 10"},
		{"land", "DEU", "max 2"},
		{"land_rechnungsadresse", "D", "min 2"},
		{"kennz_korrespondenzadresse", "12", "max 1"},
		{"adresse_gueltig_von", "31022024", "not a date TTMMJJJJ"},
		{"e_mail", strings.Repeat("x", 61), "max 60"},
		{"bemerkung_e_mail", strings.Repeat("x", 41), "max 40"},
		{"bankleitzahl_1", "5009050A", "not allowed (allowed: digits)"},
		{"bankleitzahl_3", "500905000", "max 8"},
		{"laenderkennzeichen_2", "XYZ", "max 2"},
		{"iban_nr_1", "DE4910010222000222222X_", "is not an IBAN"},
		{"iban_nr_10", "de49", "is not an IBAN"},
		{"swift_code_1", "GENODEF1S1", "is not a BIC"},
		{"abw_kontoinhaber_1", strings.Repeat("x", 71), "max 70"},
		{"kennz_hauptbankverb_1", "2", "not one of 0, 1"},
		{"briefanrede", strings.Repeat("x", 101), "max 100"},
		{"kunden_lief_nr", strings.Repeat("x", 16), "max 15"},
		{"steuernummer", strings.Repeat("1", 21), "max 20"},
		{"kreditlimit_debitor", "1,000", "not allowed (allowed: digits and .)"},
		{"skonto_in_prozent_debitor", record.MustDecimal("100"), `does not match \d{1,2},\d{2}`},
		{"kreditoren_ziel_1_tg", "1000", "max 3"},
		{"mahntext_1", strings.Repeat("x", 41), "max 40"},
		{"mahnlimit_betrag", record.MustDecimal("1.234"), "more than 2 decimal places"},
		{"mahnzinssatz_1", record.MustDecimal("100"), `does not match \d{1,2}(,\d{0,2})`},
		{"zinsberechnung", "3", "not one of 0, 1, 2"},
		{"indiv_feld_15", strings.Repeat("x", 41), "max 40"},
		{"sepa_mandatsreferenz_1", strings.Repeat("x", 36), "max 35"},
		{"verknuepftes_opos_konto", "1234567890", "max 9"},
		{"mahnsperre_bis", "2024-12-01", "not a date TTMMJJJJ"},
		{"mahngebuehr_1", record.MustDecimal("123456789"), `does not match \d{1,8}(,\d{0,2})`},
		{"status", "4", "not one of 1, 2, 3"},
		{"anschrift_manuell_geaendert_rechnungsadresse", "2", "not one of 0, 1"},
		{"insolvent", "2", "not one of 0, 1"},
		{"fristberechnung_bei_debitor", "3", "not one of 1, 2"},
		{"letzte_frist", "1000", "max 3"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			col, ok := DebitorenKreditoren.column(tc.key)
			if !ok {
				t.Fatalf("no column %q", tc.key)
			}
			r := recs[0].Clone()
			v, err := record.FromAny(tc.val)
			if err != nil {
				t.Fatal(err)
			}
			r.Values[col.Num-1] = v
			_, rej := writeAll(t, debKredCfg, []record.Record{recs[0], r})
			if len(rej) != 1 {
				t.Fatalf("want 1 reject, got %d", len(rej))
			}
			if want := colName(col); rej[0].Field != want || !strings.Contains(rej[0].Reason, tc.reason) {
				t.Fatalf("reject %q: %q; want %q: %q", rej[0].Field, rej[0].Reason, want, tc.reason)
			}
		})
	}
}

// TestDebKredRuleCoverage: every DebKred column that carries data has a rule or a kind that
// validates it (dates, amounts); only Leerfeld columns are unchecked.
func TestDebKredRuleCoverage(t *testing.T) {
	for _, c := range debKredColumns {
		if _, ok := debKredRules[c.Num]; ok || c.Kind == KindDate || c.Caption == "Leerfeld" {
			continue
		}
		t.Errorf("column %d %q (%s) has no rule", c.Num, c.Caption, c.Key)
	}
}
