package sepa

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// memFile is an in-memory sdk.TempFile.
type memFile struct {
	buf []byte
	off int
}

func (m *memFile) Write(p []byte) (int, error) { m.buf = append(m.buf, p...); return len(p), nil }
func (m *memFile) Read(p []byte) (int, error) {
	if m.off >= len(m.buf) {
		return 0, io.EOF
	}
	n := copy(p, m.buf[m.off:])
	m.off += n
	return n, nil
}
func (m *memFile) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekStart {
		return 0, errors.New("only SeekStart")
	}
	m.off = int(off)
	return off, nil
}
func (m *memFile) Close() error { return nil }

var fuzzSchema = record.MustSchema(
	record.Field{Name: "end_to_end_id"}, record.Field{Name: "amount"}, record.Field{Name: "debtor_name"},
	record.Field{Name: "debtor_iban"}, record.Field{Name: "debtor_bic"}, record.Field{Name: "mandate_id"},
	record.Field{Name: "mandate_date"}, record.Field{Name: "sequence_type"}, record.Field{Name: "collection_date"},
	record.Field{Name: "remittance"}, record.Field{Name: "original_mandate_id"}, record.Field{Name: "original_creditor_name"},
)

func fuzzRecord(vals ...string) record.Record {
	r := record.New(fuzzSchema, record.Origin{File: "fuzz", Line: 1})
	for i, v := range vals {
		r.Values[i] = record.String(v)
	}
	return r
}

var (
	idRE   = regexp.MustCompile(`^[A-Za-z0-9+?/\-:().,' ]{1,35}$`)
	textRE = regexp.MustCompile(`^[A-Za-z0-9+?/\-:().,' ]*$`)
)

// checkPainDoc parses a written file and checks the rules the XSD cannot
// (or checks weakly): ids, text charset and lengths, control sums.
func checkPainDoc(t testing.TB, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []string
	var nb, sum, txSum, ntx int64
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			s := strings.TrimSpace(string(tok))
			if s == "" || len(stack) == 0 {
				continue
			}
			switch el := stack[len(stack)-1]; el {
			case "MsgId", "PmtInfId", "EndToEndId", "MndtId", "OrgnlMndtId":
				if !idRE.MatchString(s) || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
					t.Fatalf("%s %q violates the id rules", el, s)
				}
			case "Nm", "Ustrd":
				max := 70
				if el == "Ustrd" {
					max = 140
				}
				if !textRE.MatchString(s) || utf8.RuneCountInString(s) > max {
					t.Fatalf("%s %q violates the text rules", el, s)
				}
			case "InstdAmt":
				c, err := cents(record.String(s))
				if err != nil {
					t.Fatalf("amount %q: %v", s, err)
				}
				txSum += c
				ntx++
			case "CtrlSum":
				if len(stack) >= 2 && stack[len(stack)-2] == "GrpHdr" {
					// Not cents(): a control sum may exceed the maximum
					// of one transaction (999999999.99).
					d, err := record.ParseDecimal(s, '.')
					if err != nil || d.Round(2).Cmp(d) != 0 {
						t.Fatalf("CtrlSum %q: not an amount with 2 decimals (%v)", s, err)
					}
					coef, scale := d.Round(2).Coef()
					for ; scale < 2; scale++ {
						coef *= 10
					}
					sum = int64(coef)
				}
			case "NbOfTxs":
				if len(stack) >= 2 && stack[len(stack)-2] == "GrpHdr" {
					nb, _ = strconv.ParseInt(s, 10, 64)
				}
			}
		}
	}
	if nb == 0 || nb != ntx || sum != txSum {
		t.Fatalf("group header NbOfTxs %d / CtrlSum %d != %d transactions summing to %d", nb, sum, ntx, txSum)
	}
}

func writeFuzz(t testing.TB, recs ...record.Record) ([]byte, []record.Reject, error) {
	cfg := sdk.Config{"creditor": map[string]any{"name": "Stadttheater", "iban": "DE89370400440532013000", "creditor_id": "DE98ZZZ09999999999"}}
	env := sdk.Env{Now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), State: &sdk.MemState{}}
	enc, err := Pain008Component().NewEncoder(context.Background(), sdk.ApplyDefaults(Pain008Spec(), cfg), env)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, err := enc.Create(context.Background(), sdk.Output{Name: "f.xml", W: &buf, Temp: func() (sdk.TempFile, error) { return &memFile{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	rej, err := s.Write(context.Background(), &record.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Close(context.Background())
	return buf.Bytes(), rej, err
}

// FuzzPain008 feeds arbitrary field values next to a valid record: the
// writer never panics, refuses or accepts each record, and what it writes
// is well-formed and keeps the id, charset, length and control-sum rules.
func FuzzPain008(f *testing.F) {
	f.Add("E-1", "10.00", "Jürgen Müßig", "DE02120300000000202051", "", "M-1", "2025-01-01", "RCUR", "", "Abo & <mehr>", "", "")
	f.Add("/x", "0,01", "\x00\xff", "de02 1203 0000 0000 2020 51", "COBADEFF", "M_1", "01.01.2025", "frst", "2026-11-24", strings.Repeat("ä", 80), "M-0", "Alt\u00a0GmbH")
	f.Add("", "999999999.99", "O'Brien", "AT611904300234573201", "ABNANL2A", "M 1", "2026-11-23", "", "2026-12-25", "\u202e\u200b", "", "€uro")
	f.Fuzz(func(t *testing.T, e2e, amt, name, iban, bic, mandate, mdate, seq, cdate, remit, omandate, ocname string) {
		good := fuzzRecord("GOOD-1", "1.00", "Anna", "DE02500105170137075030", "", "M-GOOD", "2025-01-01", "", "", "", "", "")
		doc, rej, err := writeFuzz(t, good, fuzzRecord(e2e, amt, name, iban, bic, mandate, mdate, seq, cdate, remit, omandate, ocname))
		if err != nil {
			t.Fatalf("close: %v", err)
		}
		if len(rej) > 1 || (len(rej) == 1 && (rej[0].Field == "" || rej[0].Reason == "")) {
			t.Fatalf("rejects %v", rej)
		}
		checkPainDoc(t, doc)
	})
}

// TestPainRandomXSD writes 300 records with random Unicode names, texts and
// amounts and validates the one file against the ISO and GBIC_5 schemas.
func TestPainRandomXSD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pool := []rune("abcXYZ 019äöüÄÖÜßéèçñøåæœłžšč&<>\"'_@€%*$#!{}[]|\\~^`\t\n/-?:().,+ẞ東京\u00a0")
	text := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteRune(pool[rng.IntN(len(pool))])
		}
		return b.String()
	}
	ibans := []string{"DE02120300000000202051", "AT611904300234573201", "NL91ABNA0417164300", "FR1420041010050500013M02606", "DE12500105170648489890"}
	seqs := []string{"", "FRST", "RCUR", "OOFF", "FNAL"}
	var recs []record.Record
	for i := 0; i < 300; i++ {
		amt := record.Dec(record.MustDecimal("0.01"))
		if i%7 != 0 {
			d, _ := record.NewDecimal(int64(rng.IntN(10000000)+1), 2)
			amt = record.Dec(d)
		}
		r := fuzzRecord("R-"+string(rune('A'+i%26))+"-"+strconv.Itoa(i), "", text(rng.IntN(75)+1), ibans[i%len(ibans)], "", "M/"+strconv.Itoa(i), "2024-02-29", seqs[i%5], "", text(rng.IntN(150)), "", "")
		r.Values[1] = amt
		recs = append(recs, r)
	}
	doc, rej, err := writeFuzz(t, recs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) == 0 || len(rej) > 200 {
		t.Errorf("%d of 300 rejected; want some (too long after transliteration) but not most", len(rej))
	}
	t.Logf("%d of 300 records rejected", len(rej))
	for _, r := range rej {
		if r.Field != "debtor_name" && r.Field != "remittance" {
			t.Errorf("unexpected reject %s: %s", r.Field, r.Reason)
		}
	}
	checkPainDoc(t, doc)
	validateXSD(t, doc, Pain008V08)
}
