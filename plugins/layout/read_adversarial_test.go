package layout

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestReadAdversarial feeds layout.read the damaged files integrators
// meet: every case must end in a positioned file error or in rejects that
// name line, column and reason and keep the line's text; nothing is
// dropped or repaired silently.
func TestReadAdversarial(t *testing.T) {
	fx, err := Load("../../pipelines/layouts/sollstellung-fixed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Load("../../pipelines/layouts/sollstellung-csv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fixed, _ := os.ReadFile("testdata/fixed_ok/want.txt")
	csvd, _ := os.ReadFile("testdata/csv_ok/want.txt")
	flines := strings.Split(strings.TrimSuffix(string(fixed), "\r\n"), "\r\n")
	clines := strings.Split(strings.TrimSuffix(string(csvd), "\r\n"), "\r\n")
	edit := func(l []string, i int, old, new string) string {
		c := append([]string{}, l...)
		if !strings.Contains(c[i], old) {
			t.Fatalf("fixture line %d has no %q", i+1, old)
		}
		c[i] = strings.Replace(c[i], old, new, 1)
		return strings.Join(c, "\r\n") + "\r\n"
	}
	cases := []struct {
		name    string
		lay     *Layout
		data    string
		records int
		err     string   // substring of the file error ("" none)
		rejects []string // substrings of the rejects, in order
		raw     string   // substring of the first reject's record text
	}{
		{name: "blank lines after the trailer", lay: fx, data: string(fixed) + "\r\n\r\n", records: 3},
		{name: "no final line end", lay: fx, data: strings.TrimSuffix(string(fixed), "\r\n"), records: 3},
		{name: "blank line between records", lay: fx, data: edit(flines, 2, "", "\r\n"), records: 3,
			rejects: []string{"in.txt:3:1: layout.read: line has 0 characters, the layout 120"}},
		{name: "undefined windows-1252 byte", lay: fx, data: edit(flines, 2, "Abo Konzert", "Abo Konz\x81rt"), records: 2,
			err:     "control record mismatch",
			rejects: []string{"in.txt:3:85: layout.read: a byte that is not a character in windows-1252"}, raw: "Abo Konz"},
		{name: "UTF-8 BOM in a windows-1252 file", lay: fx, data: "\xef\xbb\xbf" + string(fixed),
			err: "in.txt:1:1: file starts with a UTF-8 byte order mark but the layout's encoding is windows-1252"},
		{name: "truncated: no trailer", lay: fx, data: strings.Join(flines[:3], "\r\n") + "\r\n", records: 1,
			err: `in.txt:3:1: trailer record (the last line): satzart: "2", want "9" (is the file truncated?)`},
		{name: "bad amount keeps the line's text", lay: fx, data: edit(flines, 2, "000000009950", "00000000x950"), records: 2,
			err:     "control record mismatch",
			rejects: []string{`in.txt:3:56: layout.read: betrag: "00000000x950" is not an amount`}, raw: "Abo Konzert"},
		{name: "bad S/H indicator", lay: fx, data: edit(flines, 2, "000000009950S", "000000009950X"), records: 2,
			err: "control record mismatch", rejects: []string{`in.txt:3:68: layout.read: sh: "X" is neither "S" nor "H"`}},
		{name: "CR-only line ends", lay: fx, data: strings.Join(flines, "\r") + "\r",
			err: "in.txt:1:121: header record: carriage return (CR) without line feed"},
		{name: "empty file", lay: fx, data: "", err: "in.txt:1:1: missing header record"},
		{name: "caption in another order", lay: cs, data: edit(clines, 0, "name;vorname", "vorname;name"),
			err: `in.txt:1:118: caption line: column 11 is "vorname", the layout has "name"`},
		{name: "caption with a missing column", lay: cs, data: edit(clines, 0, ";mandatsdatum", ""),
			err: "in.txt:1:1: caption line: line has 18 fields, the layout 19"},
		{name: "more decimals than the layout", lay: cs, data: edit(clines, 2, "-12,50", "-12,505"), records: 1,
			rejects: []string{`in.txt:3:26: layout.read: betrag: "-12,505" has 3 decimal places, the layout 2`}, raw: "-12,505"},
		{name: "more digits than a decimal holds", lay: cs, data: edit(clines, 2, "-12,50", "-1234567890123456789,5"), records: 1,
			rejects: []string{`betrag: "-1234567890123456789,5" has more digits than a decimal holds exactly`}},
		{name: "29 February of a common year", lay: cs, data: edit(clines, 2, "01.02.2025", "29.02.2025"), records: 1,
			rejects: []string{`in.txt:3:33: layout.read: faelligkeit: "29.02.2025" is not a date TT.MM.JJJJ`}},
		{name: "NUL byte", lay: cs, data: edit(clines, 2, "Wei", "W\x00ei"), records: 1,
			rejects: []string{"in.txt:3:46: layout.read: NUL byte (0x00)"}},
		{name: "required amount empty", lay: cs, data: edit(clines, 2, "-12,50", ""), records: 1,
			rejects: []string{"in.txt:3:26: layout.read: betrag: required value missing"}},
		{name: "reject indexes stay unique", lay: cs, data: edit(clines, 1, "240,00", "x") + clines[2] + "\r\n", records: 2,
			rejects: []string{`in.txt:2:`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, rejs, err := readRecords(t, tc.lay, []byte(tc.data))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if tc.err == "" && len(recs) != tc.records {
				t.Errorf("%d records, want %d", len(recs), tc.records)
			}
			if len(rejs) != len(tc.rejects) {
				t.Fatalf("rejects %v, want %d", rejs, len(tc.rejects))
			}
			seen := map[int64]bool{}
			for _, r := range recs {
				seen[r.Origin.Index] = true
			}
			for i, r := range rejs {
				if !strings.Contains(r.Error(), tc.rejects[i]) {
					t.Errorf("reject %d: %q, want %q", i, r.Error(), tc.rejects[i])
				}
				if seen[r.Record.Origin.Index] {
					t.Errorf("reject %d reuses index %d", i, r.Record.Origin.Index)
				}
			}
			if tc.raw != "" {
				var txt []string
				for _, v := range rejs[0].Record.Values {
					txt = append(txt, v.Str())
				}
				if !strings.Contains(strings.Join(txt, "|"), tc.raw) {
					t.Errorf("reject record %q lacks the line's text %q", txt, tc.raw)
				}
			}
		})
	}
}

// TestReadSumOverflow: records whose control sum exceeds the 19 digits a
// decimal holds exactly make the trailer check report the overflow at the
// trailer's sum field, not a mismatch against a sum that silently lost
// records (it used to restart at 0 and report "the records give 0").
func TestReadSumOverflow(t *testing.T) {
	const big = "60000000000000000,00" // 19 digits; twice that needs 20
	const layout = `format: delimited
record:
  fields:
    - {name: betrag, type: amount, sign: none}
    - {name: sh, type: sh, source: betrag, debit: S, credit: H}
trailer:
  fields:
    - {name: n, value: count}
    - {name: s, value: "sum(betrag)"}
    - {name: a, value: "sum_abs(betrag)"}
    - {name: h, value: "sum_sh(betrag, sh)"}
`
	lay, err := Parse("d.yaml", []byte(layout))
	if err != nil {
		t.Fatal(err)
	}
	shOnly, err := Parse("d.yaml", []byte(strings.Split(layout, "    - {name: s,")[0]+`    - {name: h, value: "sum_sh(betrag, sh)"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		lay   *Layout // nil: lay
		lines []string
		err   string // "" none
	}{
		{name: "sum_sh", lay: shOnly, lines: []string{big + ";H", big + ";H", "2;1"},
			err: "in.txt:3:3: trailer h: control sum of betrag does not fit in 19 digits"},
		{name: "sum", lines: []string{big + ";S", big + ";S", "2;1;1;1"},
			err: "in.txt:3:3: trailer s: control sum of betrag does not fit in 19 digits"},
		{name: "sum_abs with a sum that fits", lines: []string{big + ";S", big + ";H", "2;0,00;1;0,00"},
			err: "in.txt:3:8: trailer a: control sum of betrag does not fit in 19 digits"},
		{name: "sum overflows after a record that fits", lines: []string{"1,00;S", big + ";S", big + ";S", "3;1;1;1"},
			err: "in.txt:4:3: trailer s: control sum of betrag does not fit in 19 digits"},
		{name: "sums that fit are checked", lines: []string{big + ";S", "1,00;H", "2;59999999999999999,00;60000000000000001,00;59999999999999999,00"}},
		{name: "a mismatch stays a mismatch", lines: []string{big + ";S", "1,00;H", "2;1,00;60000000000000001,00;59999999999999999,00"},
			err: "in.txt:3:3: trailer s is 1.00, but the records give 59999999999999999.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lay
			if tc.lay != nil {
				l = tc.lay
			}
			recs, rejs, err := readRecords(t, l, []byte(strings.Join(tc.lines, "\r\n")+"\r\n"))
			if tc.err == "" {
				if err != nil || len(recs) != len(tc.lines)-1 || len(rejs) != 0 {
					t.Fatalf("%d records, rejects %v, error %v", len(recs), rejs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrControl) {
				t.Fatalf("error %v, want ErrControl with %q", err, tc.err)
			}
		})
	}
}

// TestReadImpliedAmountDigits: an implied-decimal amount (9(17)V99) is read
// exactly for every value of up to 19 digits, also those above the int64
// range, which used to be "is not an amount"; more digits are reported as
// more than a decimal holds, as in the explicit-decimal path.
func TestReadImpliedAmountDigits(t *testing.T) {
	lay, err := Parse("d.yaml", []byte(`format: delimited
record:
  fields:
    - {name: betrag, type: amount, implied: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want string // want: the amount, or a substring of the reject
	}{
		{"9999999999999999999", "99999999999999999.99"},
		{"9223372036854775808", "92233720368547758.08"}, // int64 max + 1
		{"-9999999999999999999", "-99999999999999999.99"},
		{"9999999999999999999-", "-99999999999999999.99"},
		{"000000000000000000000000012345", "123.45"},
		{"1", "0.01"},
		{"0000", "0.00"},
		{"12345678901234567890", "123456789012345678.9"}, // 20 digits, but the last is a trailing zero after the point: exact
		{"99999999999999999999", `betrag: "99999999999999999999" has more digits than a decimal holds exactly`},
		{"--500", `betrag: "--500" is not an amount`},
		{"12.34", `betrag: "12.34" is not an amount`},
		{"1 2", `betrag: "1 2" is not an amount`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			recs, rejs, err := readRecords(t, lay, []byte(tc.in+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tc.want, "betrag") {
				if len(rejs) != 1 || !strings.Contains(rejs[0].Error(), "in.txt:1:1: layout.read: "+tc.want) {
					t.Fatalf("records %v, rejects %v, want %q", recs, rejs, tc.want)
				}
				return
			}
			if len(recs) != 1 || len(rejs) != 0 || recs[0].Values[0].Decimal().String() != tc.want {
				t.Fatalf("records %v, rejects %v, want %s", recs, rejs, tc.want)
			}
		})
	}
}

// TestSumSHOncePerRecord: a sum_sh control sum shown by several header and
// trailer fields is added once per record. It used to be added once per
// field that showed it (header + two trailer fields wrote -3,00 for 1,00 S
// and 2,00 H), and the reader counted only trailer fields, so writer and
// reader disagreed and the file failed its own trailer check.
func TestSumSHOncePerRecord(t *testing.T) {
	lay, err := Parse("d.yaml", []byte(`format: delimited
header:
  fields:
    - {name: kopf, value: "sum_sh(betrag, sh)"}
record:
  fields:
    - {name: betrag, type: amount, sign: none}
    - {name: sh, type: sh, source: betrag, debit: S, credit: H}
trailer:
  fields:
    - {name: n, value: count}
    - {name: h1, value: "sum_sh(betrag, sh)"}
    - {name: h2, value: "sum_sh(betrag, sh)"}
`))
	if err != nil {
		t.Fatal(err)
	}
	out, rej, err := writeRecords(t, lay, toRecords(t, []map[string]any{{"betrag": "1.00"}, {"betrag": "-2.00"}}))
	if err != nil || len(rej) != 0 {
		t.Fatalf("write: %v, rejects %v", err, rej)
	}
	if want := "-1,00\r\n1,00;S\r\n2,00;H\r\n2;-1,00;-1,00\r\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	recs, rejs, err := readRecords(t, lay, out)
	if err != nil || len(recs) != 2 || len(rejs) != 0 {
		t.Fatalf("read back: %d records, rejects %v, error %v", len(recs), rejs, err)
	}

	// One amount field, two different S/H fields: one control sum cannot
	// serve both, so the layout is refused.
	_, err = Parse("d.yaml", []byte(`format: delimited
record:
  fields:
    - {name: betrag, type: amount, sign: none}
    - {name: sh, type: sh, source: betrag, debit: S, credit: H}
    - {name: sh2, type: sh, source: betrag, debit: S, credit: H}
trailer:
  fields:
    - {name: h1, value: "sum_sh(betrag, sh)"}
    - {name: h2, value: "sum_sh(betrag, sh2)"}
`))
	if err == nil || !strings.Contains(err.Error(), "h2: sum_sh(betrag, ...) is already used with the S/H field sh") {
		t.Fatalf("conflicting sum_sh: %v", err)
	}
}
