package sepa

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// renderCamt prints records with their origin and non-null fields, one per
// line, and rejects after them: the golden format of the camt tests.
func renderCamt(recs []record.Record, rejs []record.Reject) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.Origin.String())
		for i, v := range r.Values {
			if !v.IsNull() {
				fmt.Fprintf(&b, "\n  %s: %s", r.Schema.Field(i).Name, v)
			}
		}
		b.WriteString("\n")
	}
	for _, r := range rejs {
		b.WriteString("REJECT " + r.Error() + "\n")
	}
	return b.String()
}

// TestCamtGolden reads every sample in testdata/camt and compares all
// records with testdata/camt/golden/<sample>.txt.
func TestCamtGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/camt/*.xml")
	if len(files) < 9 {
		t.Fatalf("want the 9 camt samples, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			recs, rejs, err := readCamtFile(t, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "camt", "golden", strings.TrimSuffix(filepath.Base(f), ".xml")+".txt"), []byte(renderCamt(recs, rejs)))
		})
	}
}

// gnode is a generic DOM for the independent cross-check below.
type gnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []gnode    `xml:",any"`
}

func (n *gnode) kids(name string) []*gnode {
	var out []*gnode
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == name {
			out = append(out, &n.Nodes[i])
		}
	}
	return out
}

func (n *gnode) path(names ...string) *gnode {
	for _, p := range names {
		k := n.kids(p)
		if len(k) == 0 {
			return nil
		}
		n = k[0]
	}
	return n
}

// TestCamtSamplesTotals checks, for every sample, the records against the
// file itself read with a plain DOM: the number of entries per statement,
// their signed sum, TxsSummry totals and opening + entries = closing where
// the file has them. Only the known-inconsistent Rücklastschrift fixture
// yields a balance reject.
func TestCamtSamplesTotals(t *testing.T) {
	files, _ := filepath.Glob("testdata/camt/*.xml")
	files = append(files, "gen:camt053-250")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var data []byte
			if f == "gen:camt053-250" {
				data = genCamt053(250, false)
			} else {
				var err error
				if data, err = os.ReadFile(f); err != nil {
					t.Fatal(err)
				}
			}
			recs, rejs, err := readCamt(t, f, bytes.NewReader(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			var doc gnode
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			msg := doc.Nodes[0]
			type tot struct {
				n   int
				sum record.Decimal
			}
			got := map[string]*tot{}
			seen := map[string]bool{}
			for _, r := range recs {
				key := r.Value("statement_id").Str()
				if got[key] == nil {
					got[key] = &tot{}
				}
				ek := fmt.Sprintf("%s/%d", key, r.Value("entry_index").Int())
				if seen[ek] {
					continue
				}
				seen[ek] = true
				got[key].n++
				v := r.Value("entry_amount").Decimal()
				if r.Value("credit_debit").Str() == "DBIT" {
					v = v.Neg()
				}
				got[key].sum, _ = got[key].sum.Add(v)
			}
			wantRejects := 0
			for _, name := range []string{"Stmt", "Rpt", "Ntfctn"} {
				for _, st := range msg.kids(name) {
					id := strings.TrimSpace(st.path("Id").Text)
					var sum record.Decimal
					entries := st.kids("Ntry")
					for _, e := range entries {
						v := record.MustDecimal(strings.TrimSpace(e.path("Amt").Text))
						if strings.TrimSpace(e.path("CdtDbtInd").Text) == "DBIT" {
							v = v.Neg()
						}
						sum, _ = sum.Add(v)
					}
					g := got[id]
					if g == nil {
						g = &tot{}
					}
					if g.n != len(entries) || !g.sum.Equal(sum) {
						t.Errorf("statement %s: records give %d entries summing to %s, file has %d summing to %s", id, g.n, g.sum, len(entries), sum)
					}
					if n := st.path("TxsSummry", "TtlNtries", "NbOfNtries"); n != nil && strings.TrimSpace(n.Text) != fmt.Sprint(g.n) {
						t.Errorf("statement %s: TxsSummry says %s entries, records give %d", id, n.Text, g.n)
					}
					// Opening + entries = closing, computed from the file.
					var open, closing *gnode
					for _, b := range st.kids("Bal") {
						switch strings.TrimSpace(b.path("Tp", "CdOrPrtry", "Cd").Text) {
						case "OPBD", "PRCD":
							if open == nil {
								open = b
							}
						case "CLBD":
							closing = b
						}
					}
					if open != nil && closing != nil {
						signed := func(b *gnode) record.Decimal {
							v := record.MustDecimal(strings.TrimSpace(b.path("Amt").Text))
							if strings.TrimSpace(b.path("CdtDbtInd").Text) == "DBIT" {
								return v.Neg()
							}
							return v
						}
						s, _ := signed(open).Add(sum)
						if open.path("Amt").Attrs[0].Value == closing.path("Amt").Attrs[0].Value && !s.Equal(signed(closing)) {
							wantRejects++
						}
					}
				}
			}
			if len(rejs) != wantRejects {
				t.Errorf("got %d rejects, want %d: %v", len(rejs), wantRejects, rejs)
			}
			if strings.Contains(f, "ruecklastschrift") && wantRejects != 1 {
				t.Errorf("the Rücklastschrift fixture is known to be unbalanced")
			}
		})
	}
}

func TestCamtRuecklastschrift(t *testing.T) {
	recs, rejs, err := readCamtFile(t, "testdata/camt/hbci4java_test-camt-ruecklastschrift.xml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("want 1 record, got %d", len(recs))
	}
	r := recs[0]
	want := map[string]string{
		"amount": "53.00", "entry_amount": "53.00", "original_amount": "50.00", "fees": "3.00",
		"signed_amount": "-53.00", "credit_debit": "DBIT", "return_reason": "MS03",
		"mandate_id": "TEST1234", "counterparty_name": "Sven Schuldner", "counterparty_iban": "DES1234567890",
		"entry_info": "LS RUECKBELASTUNG", "status": "BOOK", "booking_date": "2021-03-26",
		"message": "camt.052.001.02", "return_info": "RUECKLASTSCHRIFT Sonstige Gruende",
	}
	for k, v := range want {
		if got := r.Value(k).String(); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// 53.00 = 50.00 + 3.00
	sum, _ := r.Value("original_amount").Decimal().Add(r.Value("fees").Decimal())
	if !sum.Equal(r.Value("amount").Decimal()) {
		t.Errorf("original %s + fees %s != amount %s", r.Value("original_amount"), r.Value("fees"), r.Value("amount"))
	}
	if got := r.Origin.String(); got != "testdata/camt/hbci4java_test-camt-ruecklastschrift.xml:72:6 (Document/BkToCstmrAcctRpt/Rpt[1]/Ntry[1]/NtryDtls/TxDtls[1])" {
		t.Errorf("origin %s", got)
	}
	if len(rejs) != 1 || rejs[0].Reason != "statement camt052_ONLINEBA: balance mismatch: PRCD 100.00 + entries -53.00 != CLBD 100.00" {
		t.Errorf("rejects: %v", rejs)
	}
}

// camtDoc053 builds a small camt.053 with the given balances and entries.
func camtDoc053(ns, opening, closing string, entries ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if ns != "" {
		b.WriteString(`<Document xmlns="` + ns + `">`)
	} else {
		b.WriteString(`<Document>`)
	}
	b.WriteString("\n<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId></GrpHdr>\n<Stmt><Id>S-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n")
	bal := func(code, amt string) {
		cd := "CRDT"
		if strings.HasPrefix(amt, "-") {
			cd, amt = "DBIT", amt[1:]
		}
		fmt.Fprintf(&b, "<Bal><Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>\n", code, amt, cd)
	}
	if opening != "" {
		bal("OPBD", opening)
	}
	if closing != "" {
		bal("CLBD", closing)
	}
	for _, e := range entries {
		b.WriteString(e + "\n")
	}
	b.WriteString("</Stmt>\n</BkToCstmrStmt>\n</Document>\n")
	return b.String()
}

func ntry(amt, cd, name string) string {
	return fmt.Sprintf(`<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><DtTm>2026-11-21T10:00:00+01:00</DtTm></ValDt>`+
		`<NtryDtls><TxDtls><Refs><EndToEndId>E-%s</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>%s</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>EREF: 1 MREF: M</Ustrd><Ustrd>-1 CRED: DE98</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`, amt, cd, amt, name)
}

func TestCamtBalanceMismatch(t *testing.T) {
	doc := camtDoc053("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "100.00", "130.00", ntry("25.00", "CRDT", "A"), ntry("5.00", "DBIT", "B"))
	recs, rejs, err := readCamt(t, "stmt.xml", strings.NewReader(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Errorf("entries must still be emitted, got %d", len(recs))
	}
	if len(rejs) != 1 {
		t.Fatalf("want one reject, got %v", rejs)
	}
	r := rejs[0]
	if r.Field != "balance" || r.Reason != "statement S-1: balance mismatch: OPBD 100.00 + entries 20.00 != CLBD 130.00" {
		t.Errorf("reject %q %q", r.Field, r.Reason)
	}
	if r.Record.Origin.String() != "stmt.xml:4:1 (Document/BkToCstmrStmt/Stmt[1])" {
		t.Errorf("origin %s", r.Record.Origin)
	}
	// Balanced: no reject; check_balance false: no reject either.
	doc = camtDoc053("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "100.00", "120.00", ntry("25.00", "CRDT", "A"), ntry("5.00", "DBIT", "B"))
	if _, rejs, _ := readCamt(t, "stmt.xml", strings.NewReader(doc), nil); len(rejs) != 0 {
		t.Errorf("balanced statement rejected: %v", rejs)
	}
	doc = camtDoc053("", "100.00", "130.00", ntry("25.00", "CRDT", "A"))
	if _, rejs, _ := readCamt(t, "stmt.xml", strings.NewReader(doc), map[string]any{"check_balance": false}); len(rejs) != 0 {
		t.Errorf("check_balance false still rejected: %v", rejs)
	}
}

func TestCamtLenient(t *testing.T) {
	// Latin-1 bytes without an XML declaration, no namespace (FinTS camt.052).
	doc := camtDoc053("", "", "", ntry("1.00", "CRDT", "M\xfcller & S\xf6hne"))
	doc = strings.TrimPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	recs, _, err := readCamt(t, "latin1.xml", strings.NewReader(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0].Value("counterparty_name").Str(); got != "Müller & Söhne" {
		t.Errorf("name %q", got)
	}
	if got := recs[0].Value("message").Str(); got != "camt.053" {
		t.Errorf("message %q", got)
	}
	if got := recs[0].Value("value_date").String(); got != "2026-11-21" {
		t.Errorf("value date from DtTm: %q", got)
	}
	if got := recs[0].Value("remittance").Str(); got != "EREF: 1 MREF: M -1 CRED: DE98" {
		t.Errorf("remittance %q", got)
	}
	// Declared ISO-8859-1.
	doc2 := `<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n" + doc
	recs, _, err = readCamt(t, "declared.xml", strings.NewReader(doc2), map[string]any{"remittance_separator": ""})
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0].Value("counterparty_name").Str(); got != "Müller & Söhne" {
		t.Errorf("declared latin-1 name %q", got)
	}
	if got := recs[0].Value("remittance").Str(); got != "EREF: 1 MREF: M-1 CRED: DE98" {
		t.Errorf("remittance without separator %q", got)
	}
	// UTF-8 BOM and a prefixed namespace.
	doc3 := "\xef\xbb\xbf" + strings.ReplaceAll(camtDoc053("", "", "", ntry("2.00", "DBIT", "Zoë")), "<Document>", `<n0:Document xmlns:n0="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">`)
	doc3 = strings.ReplaceAll(doc3, "</Document>", "</n0:Document>")
	recs, _, err = readCamt(t, "bom.xml", strings.NewReader(doc3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Value("message").Str() != "camt.053.001.02" || recs[0].Value("debtor_name").Str() != "Zoë" || !recs[0].Value("counterparty_name").IsNull() {
		t.Errorf("got %v", recs[0])
	}
}

func TestCamtErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"truncated", camtDoc053("", "", "", ntry("1.00", "CRDT", "A"))[:300], "truncated.xml:"},
		{"not camt", `<Document><CstmrDrctDbtInitn/></Document>`, "not camt:1:11: <CstmrDrctDbtInitn> is not a camt.052/053/054 message"},
		{"empty", ``, "empty: no XML element found"},
		{"bad amount", camtDoc053("", "", "", ntry("1,00", "CRDT", "A")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name
			if name == "truncated" {
				name = "truncated.xml"
			}
			recs, rejs, err := readCamt(t, name, strings.NewReader(tc.doc), nil)
			if tc.want == "" {
				if err != nil || len(recs) != 0 || len(rejs) != 1 || rejs[0].Field != "entry_amount" {
					t.Errorf("bad amount: err %v, %d records, rejects %v", err, len(recs), rejs)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestCamtZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"b/hbci4java_test-camt-parse-05200102.xml", "a/genkgo_camt053.v2.multi.statement.xml"} {
		data, err := os.ReadFile("testdata/camt/" + filepath.Base(name))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Create("b/") // a directory entry is skipped
	zw.Close()
	recs, rejs, err := readCamt(t, "in/auszug.zip", bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || len(rejs) != 0 {
		t.Fatalf("got %d records %d rejects", len(recs), len(rejs))
	}
	want := []string{
		"in/auszug.zip!a/genkgo_camt053.v2.multi.statement.xml:83:21 (Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/NtryDtls/TxDtls[1])",
		"in/auszug.zip!a/genkgo_camt053.v2.multi.statement.xml:162:21 (Document/BkToCstmrStmt/Stmt[2]/Ntry[1]/NtryDtls/TxDtls[1])",
		"in/auszug.zip!b/hbci4java_test-camt-parse-05200102.xml:73:11 (Document/BkToCstmrAcctRpt/Rpt[1]/Ntry[1]/NtryDtls/TxDtls[1])",
		"in/auszug.zip!b/hbci4java_test-camt-parse-05200102.xml:140:11 (Document/BkToCstmrAcctRpt/Rpt[1]/Ntry[2]/NtryDtls/TxDtls[1])",
	}
	for i, r := range recs {
		if r.Origin.String() != want[i] {
			t.Errorf("record %d origin %s, want %s", i, r.Origin, want[i])
		}
	}
}

// genCamt053 generates a camt.053.001.08 with n entries, consistent
// balances and TxsSummry (or a wrong closing balance when broken is set).
func genCamt053(n int, broken bool) []byte {
	var b bytes.Buffer
	b.Grow(n * 900)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>GEN-1</MsgId><CreDtTm>2026-11-23T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>GEN-STMT-1</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
`)
	var total, abs int64 = 0, 0
	var entries bytes.Buffer
	for i := 1; i <= n; i++ {
		c := int64(i%9973 + 1)
		cd := "CRDT"
		if i%5 == 0 {
			cd = "DBIT"
			total -= c
		} else {
			total += c
		}
		abs += c
		fmt.Fprintf(&entries, `      <Ntry>
        <Amt Ccy="EUR">%s</Amt>
        <CdtDbtInd>%s</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-11-20</Dt></BookgDt>
        <ValDt><Dt>2026-11-20</Dt></ValDt>
        <AcctSvcrRef>REF-%d</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>ESDD</SubFmlyCd></Fmly></Domn><Prtry><Cd>NDDT+171+9200</Cd><Issr>DK</Issr></Prtry></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>ABO-%d</EndToEndId><MndtId>M-%d</MndtId></Refs>
            <Amt Ccy="EUR">%s</Amt>
            <RltdPties><Dbtr><Pty><Nm>Kunde %d</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
            <RmtInf><Ustrd>Abo Dezember Kunde %d</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>SEPA-BASISLASTSCHRIFT</AddtlNtryInf>
      </Ntry>
`, appendCents(nil, c), cd, i, i, i, appendCents(nil, c), i, i)
	}
	open := int64(100000)
	closing := open + total
	if broken {
		closing++
	}
	bal := func(code string, v int64) {
		cd := "CRDT"
		if v < 0 {
			cd, v = "DBIT", -v
		}
		fmt.Fprintf(&b, `      <Bal><Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>
`, code, appendCents(nil, v), cd)
	}
	bal("OPBD", open)
	bal("CLBD", closing)
	fmt.Fprintf(&b, "      <TxsSummry><TtlNtries><NbOfNtries>%d</NbOfNtries><Sum>%s</Sum></TtlNtries></TxsSummry>\n", n, appendCents(nil, abs))
	b.Write(entries.Bytes())
	b.WriteString("    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n")
	return b.Bytes()
}

func TestCamtGenerated(t *testing.T) {
	recs, rejs, err := readCamt(t, "gen.xml", bytes.NewReader(genCamt053(1000, false)), nil)
	if err != nil || len(recs) != 1000 || len(rejs) != 0 {
		t.Fatalf("err %v, %d records, rejects %v", err, len(recs), rejs)
	}
	if g := recs[0].Value("gvc").Str(); g != "171" {
		t.Errorf("gvc %q", g)
	}
	_, rejs, err = readCamt(t, "gen.xml", bytes.NewReader(genCamt053(10, true)), nil)
	if err != nil || len(rejs) != 1 || !strings.Contains(rejs[0].Reason, "balance mismatch: OPBD 1000.00 + entries") {
		t.Fatalf("broken: err %v rejects %v", err, rejs)
	}
}

func FuzzCamt(f *testing.F) {
	files, _ := filepath.Glob("testdata/camt/*.xml")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(genCamt053(3, true))
	f.Add([]byte(camtDoc053("", "1", "2", ntry("1.00", "CRDT", "A"))))
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("x.xml")
	w.Write(genCamt053(2, false))
	zw.Close()
	f.Add(zb.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() { // a hang is a bug too
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("camt reader hangs on %q", data))
			}
		}()
		recs, rejs, err := readCamt(t, "fuzz.xml", bytes.NewReader(data), nil)
		if err != nil && (len(recs) > 0 || len(rejs) > 0) {
			return // partial output before a syntax error is fine
		}
		for _, r := range recs {
			if r.Origin.File == "" || r.Schema != camtSchema {
				t.Fatalf("record without origin/schema: %v", r)
			}
		}
	})
}

func BenchmarkCamt053(b *testing.B) {
	data := genCamt053(100000, false)
	dec, err := CamtComponent().NewDecoder(context.Background(), sdk.ApplyDefaults(CamtSpec(), nil), sdk.Env{BatchSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := dec.Open(context.Background(), sdk.Input{Name: "bench.xml", R: bytes.NewReader(data), Size: int64(len(data))})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch, err := src.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(batch.Records) + len(batch.Rejects)
		}
		src.Close()
		if n != 100000 {
			b.Fatalf("%d records", n)
		}
	}
	b.ReportMetric(100000, "entries/op")
}

// ntryAt builds an entry with amount, currency, direction ("" leaves
// CdtDbtInd out) and extra elements after it.
func ntryAt(amt, ccy, cd, extra string) string {
	cdx := ""
	if cd != "" {
		cdx = "<CdtDbtInd>" + cd + "</CdtDbtInd>"
	}
	return fmt.Sprintf(`<Ntry><Amt Ccy="%s">%s</Amt>%s%s<BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>`, ccy, amt, cdx, extra)
}

// TestCamtMessy feeds the reader what banks and integrators really
// deliver and checks records, rejects and errors exactly. Each case lists
// the records as "origin-path amount signed status counterparty" and the
// rejects as "field: reason".
func TestCamtMessy(t *testing.T) {
	ns8 := "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
	book := "<Sts><Cd>BOOK</Cd></Sts>"
	stripDecl := func(s string) string { return strings.TrimPrefix(s, `<?xml version="1.0" encoding="UTF-8"?>`+"\n") }
	for _, tc := range []struct {
		name, doc string
		recs      []string
		rejs      []string
		err       string
	}{
		{name: "utf-8 declared, latin-1 bytes",
			doc:  camtDoc053(ns8, "", "", ntry("1.00", "CRDT", "J\xfcrgen M\xfc\xdfig")),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 1.00 1.00 BOOK Jürgen Müßig"}},
		{name: "latin-1 without declaration, umlauts",
			doc:  stripDecl(camtDoc053("", "", "", ntry("1.00", "CRDT", "B\xe4ckerei \xd6ztürk"))),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 1.00 1.00 BOOK Bäckerei Öztürk"}},
		{name: "version .10 read",
			doc:  camtDoc053("urn:iso:std:iso:20022:tech:xsd:camt.053.001.10", "", "", ntry("1.00", "CRDT", "A")),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 1.00 1.00 BOOK A"}},
		{name: "version .13 read",
			doc:  camtDoc053("urn:iso:std:iso:20022:tech:xsd:camt.053.001.13", "", "", ntry("1.00", "CRDT", "A")),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 1.00 1.00 BOOK A"}},
		{name: "unknown version",
			doc: camtDoc053("urn:iso:std:iso:20022:tech:xsd:camt.053.001.14", "", "", ntry("1.00", "CRDT", "A")),
			err: `x.xml:3:16: camt.053.001.14 (namespace "urn:iso:std:iso:20022:tech:xsd:camt.053.001.14") is not supported: this reader knows versions .001.02 to .001.13`},
		{name: "namespace of another camt message",
			doc: camtDoc053("urn:iso:std:iso:20022:tech:xsd:camt.054.001.08", "", "", ntry("1.00", "CRDT", "A")),
			err: `x.xml:3:16: namespace "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08" is camt.054 but <BkToCstmrStmt> is the root of a camt.053 message`},
		{name: "namespace of a pain message",
			doc: camtDoc053("urn:iso:std:iso:20022:tech:xsd:pain.008.001.08", "", "", ntry("1.00", "CRDT", "A")),
			err: `x.xml:3:16: namespace "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08" is not a camt.052/053/054 namespace (root element <BkToCstmrStmt>)`},
		{name: "amount spellings",
			doc:  camtDoc053(ns8, "", "", ntryAt("1.5", "EUR", "CRDT", book), ntryAt("001.50", "EUR", "DBIT", book), ntryAt("1E2", "EUR", "CRDT", book), ntryAt("-5.00", "EUR", "CRDT", book), ntryAt("", "EUR", "CRDT", book)),
			recs: []string{"Ntry[1] 1.5 1.5 BOOK ", "Ntry[2] 1.50 -1.50 BOOK "},
			rejs: []string{`entry_amount: Ntry/Amt: invalid amount "1E2"`, `entry_amount: Ntry/Amt: negative amount "-5.00" (the direction belongs in CdtDbtInd)`, `entry_amount: Ntry/Amt: missing amount`}},
		{name: "foreign currency entry",
			doc:  camtDoc053(ns8, "0.00", "10.00", ntryAt("10.00", "USD", "CRDT", book)),
			recs: []string{"Ntry[1] 10.00 10.00 BOOK "},
			rejs: []string{"balance: statement S-1: balance mismatch: OPBD 0.00 + entries 0.00 != CLBD 10.00 (1 booked entries in a currency other than EUR not counted)"}},
		{name: "missing or invalid CdtDbtInd",
			doc:  camtDoc053(ns8, "0.00", "10.00", ntryAt("10.00", "EUR", "", book), ntryAt("10.00", "EUR", "CR", book)),
			rejs: []string{"credit_debit: entry has no CdtDbtInd (CRDT or DBIT): its direction is unknown", `credit_debit: invalid CdtDbtInd "CR" (want CRDT or DBIT)`}},
		{name: "pending entry is emitted with its status, not balanced",
			doc:  camtDoc053(ns8, "0.00", "5.00", ntryAt("10.00", "EUR", "CRDT", "<Sts><Cd>PDNG</Cd></Sts>"), ntryAt("5.00", "EUR", "CRDT", book)),
			recs: []string{"Ntry[1] 10.00 10.00 PDNG ", "Ntry[2] 5.00 5.00 BOOK "}},
		{name: "reversal of a credit names the customer",
			doc: camtDoc053(ns8, "20.00", "10.00", `<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts>`+
				`<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Kunde</Nm></Pty></Dbtr><Cdtr><Pty><Nm>Theater</Nm></Pty></Cdtr></RltdPties></TxDtls></NtryDtls></Ntry>`),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 10.00 -10.00 BOOK Kunde"}},
		{name: "batch entry: several TxDtls with and without amounts, and none",
			doc: camtDoc053(ns8, "0.00", "60.00",
				`<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls><TxDtls><Amt Ccy="EUR">10.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">20.00</Amt></TxDtls></NtryDtls></Ntry>`,
				`<Ntry><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch><TxDtls><Refs><EndToEndId>A</EndToEndId></Refs></TxDtls><TxDtls><Refs><EndToEndId>B</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>`,
				`<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls><Btch><NbOfTxs>4</NbOfTxs></Btch></NtryDtls></Ntry>`),
			// Ntry[2]: the bank gives no amount per transaction, so amount
			// stays null and entry_amount holds the total.
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 10.00 10.00 BOOK ", "Ntry[1]/NtryDtls/TxDtls[2] 20.00 20.00 BOOK ",
				"Ntry[2]/NtryDtls/TxDtls[1]   BOOK ", "Ntry[2]/NtryDtls/TxDtls[2]   BOOK ", "Ntry[3] 10.00 10.00 BOOK "}},
		{name: "batch entry whose transactions do not add up",
			doc: camtDoc053(ns8, "", "",
				`<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls><TxDtls><Amt Ccy="EUR">10.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">25.00</Amt></TxDtls></NtryDtls></Ntry>`),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 10.00 10.00 BOOK ", "Ntry[1]/NtryDtls/TxDtls[2] 25.00 25.00 BOOK "},
			rejs: []string{"amount: entry 1: its 2 transactions add up to 35.00, the entry amount is 30.00 (the transactions are still read)"}},
		{name: "two different closing balances",
			doc: strings.Replace(camtDoc053(ns8, "0.00", "10.00", ntryAt("10.00", "EUR", "CRDT", book)), "<Ntry>",
				`<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal><Ntry>`, 1),
			recs: []string{"Ntry[1] 10.00 10.00 BOOK "},
			rejs: []string{"balance: statement S-1: 2 CLBD balances with different amounts (10.00 and 99.00): balance not checked"}},
		{name: "unreadable opening balance",
			doc:  strings.Replace(camtDoc053(ns8, "0.00", "10.00", ntryAt("10.00", "EUR", "CRDT", book)), ">0.00<", ">abc<", 1),
			recs: []string{"Ntry[1] 10.00 10.00 BOOK "},
			rejs: []string{`balance: statement S-1: balance OPBD: invalid amount "abc"`}},
		{name: "no balances at all",
			doc:  camtDoc053(ns8, "", "", ntryAt("10.00", "EUR", "CRDT", book)),
			recs: []string{"Ntry[1] 10.00 10.00 BOOK "}},
		{name: "external entity and DTD are not resolved",
			doc: `<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY lol "lol">]>` +
				stripDecl(camtDoc053(ns8, "", "", ntry("1.00", "CRDT", "&xxe;&lol;"))),
			recs: []string{"Ntry[1]/NtryDtls/TxDtls[1] 1.00 1.00 BOOK &xxe;&lol;"}},
		{name: "a megabyte of text without markup",
			doc: camtDoc053(ns8, "", "", ntry("1.00", "CRDT", strings.Repeat("A", maxTextRun+10))),
			err: "x.xml:5:",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, rejs, err := readCamt(t, "x.xml", strings.NewReader(tc.doc), nil)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error %v, want prefix %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				p := r.Origin.Path[strings.Index(r.Origin.Path, "Ntry["):]
				got = append(got, fmt.Sprintf("%s %s %s %s %s", p, r.Value("amount"), r.Value("signed_amount"), r.Value("status"), r.Value("counterparty_name")))
			}
			if strings.Join(got, "\n") != strings.Join(tc.recs, "\n") {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.recs, "\n"))
			}
			got = got[:0]
			for _, r := range rejs {
				got = append(got, r.Field+": "+r.Reason)
			}
			if strings.Join(got, "\n") != strings.Join(tc.rejs, "\n") {
				t.Errorf("rejects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.rejs, "\n"))
			}
		})
	}
}

// TestCamtFees: the charges of a transaction are summed into fees; a
// charge that is not a valid amount or charges whose sum exceeds the 19
// digits a decimal holds reject the record (field fees) instead of being
// left out of the total silently (an overflowing charge used to be dropped).
func TestCamtFees(t *testing.T) {
	ns8 := "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
	rcrd := func(amts ...string) string {
		var b strings.Builder
		for _, a := range amts {
			b.WriteString(`<Rcrd><Amt Ccy="EUR">` + a + `</Amt></Rcrd>`)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, chrgs string
		fees        string // the record's fees ("": null), or
		rej         string // the reject "field: reason"
	}{
		{name: "no charges", chrgs: ""},
		{name: "records summed", chrgs: `<Chrgs>` + rcrd("1.00", "0.50") + `</Chrgs>`, fees: "1.50"},
		{name: "total wins over records", chrgs: `<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">2.00</TtlChrgsAndTaxAmt>` + rcrd("1.00") + `</Chrgs>`, fees: "2.00"},
		{name: ".02 list", chrgs: `<Chrgs><Amt Ccy="EUR">0.30</Amt></Chrgs><Chrgs><Amt Ccy="EUR">0.20</Amt></Chrgs>`, fees: "0.50"},
		{name: "19 digits fit", chrgs: `<Chrgs>` + rcrd("99999999999999999.98", "0.01") + `</Chrgs>`, fees: "99999999999999999.99"},
		{name: "sum overflows", chrgs: `<Chrgs>` + rcrd("99999999999999999.99", "0.01", "1.00") + `</Chrgs>`,
			rej: "fees: the charges add up to more than the 19 digits a decimal holds exactly (99999999999999999.99 + 0.01)"},
		{name: "sum overflows in decimals", chrgs: `<Chrgs>` + rcrd("99999999999999999.99", "0.001") + `</Chrgs>`,
			rej: "fees: the charges add up to more than the 19 digits a decimal holds exactly (99999999999999999.99 + 0.001)"},
		{name: "charge with too many digits", chrgs: `<Chrgs>` + rcrd("1.00", "123456789012345678901") + `</Chrgs>`,
			rej: `fees: charge: amount "123456789012345678901" has more digits than a decimal holds exactly`},
		{name: "invalid charge", chrgs: `<Chrgs>` + rcrd("1.00", "abc") + `</Chrgs>`,
			rej: `fees: charge: invalid amount "abc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := camtDoc053(ns8, "", "", `<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>`+
				`<NtryDtls><TxDtls><Amt Ccy="EUR">10.00</Amt>`+tc.chrgs+`</TxDtls></NtryDtls></Ntry>`)
			recs, rejs, err := readCamt(t, "x.xml", strings.NewReader(doc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.rej != "" {
				if len(recs) != 0 || len(rejs) != 1 || rejs[0].Field+": "+rejs[0].Reason != tc.rej ||
					!strings.HasSuffix(rejs[0].Record.Origin.Path, "Ntry[1]/NtryDtls/TxDtls[1]") {
					t.Fatalf("records %v, rejects %v, want the reject %q", recs, rejs, tc.rej)
				}
				return
			}
			if len(rejs) != 0 || len(recs) != 1 || recs[0].Value("fees").String() != tc.fees || recs[0].Value("fees").IsNull() != (tc.fees == "") {
				t.Fatalf("records %v, rejects %v, want fees %s", recs, rejs, tc.fees)
			}
		})
	}
}

// TestCamtTruncatedAfterRecords: a file cut in the middle of an entry
// fails with the position after the entries before it were delivered in
// earlier batches; the runner then ends the run ERROR and commits nothing.
func TestCamtTruncatedAfterRecords(t *testing.T) {
	full := string(genCamt053(20, false))
	i := strings.LastIndex(full, "<CdtDbtInd>")
	recs, _, err := readCamt(t, "cut.xml", strings.NewReader(full[:i+13]), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "cut.xml:") || !strings.Contains(err.Error(), "unexpected end of file inside <CdtDbtInd>") {
		t.Fatalf("error %v", err)
	}
	if len(recs) != 14 { // two batches of 7 before the failing one
		t.Errorf("%d records before the error, want 14", len(recs))
	}
}

func TestCamtZipMessy(t *testing.T) {
	ns8 := "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
	mk := func(members map[string][]byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range members {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		zw.Close()
		return buf.Bytes()
	}
	z := mk(map[string][]byte{
		"2026/11/auszug.xml": []byte(camtDoc053(ns8, "", "", ntry("1.00", "CRDT", "A"))),
		"readme.txt":         []byte("Kontoauszug November"),
		"auszug.pdf":         []byte("%PDF-1.4\x00\x01"),
		"2026/":              nil,
	})
	recs, rejs, err := readCamt(t, "in.zip", bytes.NewReader(z), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Origin.File != "in.zip!2026/11/auszug.xml" {
		t.Errorf("records %v", recs)
	}
	var got []string
	for _, r := range rejs {
		got = append(got, r.Record.Origin.File+": "+r.Field+": "+r.Reason)
	}
	want := "in.zip!auszug.pdf: file: ZIP member auszug.pdf is not an XML file; skipped\nin.zip!readme.txt: file: ZIP member readme.txt is not an XML file; skipped"
	if strings.Join(got, "\n") != want {
		t.Errorf("rejects:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	// A member inflating beyond max_zip_member_mib fails before it is read.
	bomb := mk(map[string][]byte{"bomb.xml": bytes.Repeat([]byte("<a>"), 1<<20)})
	_, _, err = readCamt(t, "bomb.zip", bytes.NewReader(bomb), map[string]any{"max_zip_member_mib": 2})
	if err == nil || !strings.HasPrefix(err.Error(), "bomb.zip!bomb.xml: uncompressed size 3145728 bytes exceeds max_zip_member_mib 2 (") {
		t.Errorf("bomb: %v", err)
	}
	if _, _, err := readCamt(t, "bomb.zip", bytes.NewReader(bomb), map[string]any{"max_zip_member_mib": 4}); err == nil || !strings.Contains(err.Error(), "bomb.zip!bomb.xml:") {
		t.Errorf("within the limit the member is read (and is no camt): %v", err)
	}
}
