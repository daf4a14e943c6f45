package layout

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

// adversarialLayout is a fixed-width ISO-8859-1 layout with the field kinds
// integrators' data trips over: short text, zero-padded signed int and
// implied-decimal amount, four- and two-digit-year dates, and a trailer with
// count and control sum.
const adversarialLayout = `format: fixed
encoding: iso-8859-1
line_ending: lf
record:
  fields:
    - {name: txt, width: 5}
    - {name: i, width: 5, type: int, pad: "0"}
    - {name: betrag, width: 8, type: amount, implied: true, pad: "0"}
    - {name: d, width: 8, type: date, format: JJJJMMTT}
    - {name: d2, width: 6, type: date, format: TTMMJJ}
    - {name: tm, width: 4, type: date, format: TTMM}
trailer:
  fields:
    - {name: n, width: 4, value: count, pad: "0"}
    - {name: s, width: 10, value: "sum(betrag)", pad: "0", implied: true}
    - {name: f, width: 21, const: ""}
`

// TestWriteAdversarial writes one record per messy value next to a good one
// and checks the written line or the reject (field and reason). Every
// written file must read back unchanged with layout.read, and the trailer
// counts only the written records.
func TestWriteAdversarial(t *testing.T) {
	lay, err := Parse("adv.yaml", []byte(adversarialLayout))
	if err != nil {
		t.Fatal(err)
	}
	base := func() map[string]any {
		return map[string]any{"txt": "x", "i": 1, "betrag": "1.00", "d": "2024-01-31", "d2": "2024-01-31", "tm": "2024-01-31"}
	}
	cases := []struct {
		name  string
		field string
		value any
		line  string // the record line written ("" when rejected)
		rej   string // substring of the reject reason
	}{
		{"text exactly at the width", "txt", "abcde", "abcde0000100000100202401313101243101", ""},
		{"text one over the width", "txt", "abcdef", "", `value "abcdef" has 6 characters, the field is 5 wide`},
		{"width counts characters, not UTF-8 bytes", "txt", "ÄÖÜäß", "\xc4\xd6\xdc\xe4\xdf0000100000100202401313101243101", ""},
		{"€ is not in ISO-8859-1", "txt", "5 €", "", "character not representable in iso-8859-1: '€'"},
		{"emoji", "txt", "😀", "", "not representable in iso-8859-1"},
		{"no-break space is ISO-8859-1", "txt", "a\u00a0b", "a\xa0b  0000100000100202401313101243101", ""},
		{"combining accent is normalised to NFC", "txt", "e\u0301", "\xe9    0000100000100202401313101243101", ""},
		{"line feed", "txt", "a\nb", "", "line break at character 2: a layout file has one record per line"},
		{"carriage return", "txt", "a\rb", "", "line break at character 2"},
		{"NUL byte", "txt", "a\x00b", "", "control character U+0000 at character 2"},
		{"tab is text", "txt", "a\tb", "a\tb  0000100000100202401313101243101", ""},
		{"negative int: sign before the zeros", "i", -5, "x    -000500000100202401313101243101", ""},
		{"int exactly at the width", "i", 99999, "x    9999900000100202401313101243101", ""},
		{"int one over the width", "i", 100000, "", "has 6 characters, the field is 5 wide (numbers are never cut)"},
		{"fractional int", "i", record.MustDecimal("1.5"), "", "1.5 is not a whole number"},
		{"negative implied amount", "betrag", "-1.00", "x    00001-000010020240131310124" + "3101", ""},
		{"amount without decimals gets them", "betrag", "5", "x    000010000050020240131310124" + "3101", ""},
		{"-0.00 is zero", "betrag", "-0.00", "x    000010000000020240131310124" + "3101", ""},
		{"more decimals than the field: no rounding", "betrag", "1.005", "", "1.005 has more than 2 decimal places"},
		{"trailing zeros beyond the decimals are exact", "betrag", "1.000", "x    000010000010020240131310124" + "3101", ""},
		{"amount one digit over the width", "betrag", "1000000.00", "", "the field is 8 wide (numbers are never cut)"},
		// A null is written as blanks (null_as: blank, the default), not as the zero padding,
		// which would read back as 0.00: see TestNullAs.
		{"null amount in an optional zero-padded field", "betrag", nil, "x    00001        202401313101243101", ""},
		{"null int in an optional zero-padded field", "i", nil, "x         00000100202401313101243101", ""},
		{"null date", "d", nil, "x    0000100000100        3101243101", ""},
		{"year 10000", "d", record.NewDate(10000, 1, 1), "", "the year 10000 does not fit the four digits of JJJJMMTT"},
		{"year 0", "d", record.NewDate(0, 1, 1), "", "the year 0 does not fit the four digits of JJJJMMTT"},
		{"two-digit year before 1969", "d2", "1960-01-01", "", "holds 1969 to 2068 only, 1960 would read back as another century"},
		{"two-digit year after 2068", "d2", "2069-01-01", "", "2069 would read back"},
		{"no year in the pattern: any year", "tm", "1960-01-31", "x    0000100000100202401313101243101", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := base()
			bad[tc.field] = tc.value
			recs := toRecords(t, []map[string]any{base(), bad, base()})
			out, rej, err := writeRecords(t, lay, recs)
			if err != nil {
				t.Fatal(err)
			}
			good := "x    0000100000100202401313101243101\n"
			if tc.rej != "" {
				if len(rej) != 1 || rej[0].Field != tc.field || !strings.Contains(rej[0].Reason, tc.rej) || rej[0].Record.Origin.Line != 2 {
					t.Fatalf("rejects %v, want %s: %q", rej, tc.field, tc.rej)
				}
				want := good + good + "00020000000200                     \n"
				if string(out) != want {
					t.Fatalf("file\n%q\nwant\n%q", out, want)
				}
			} else {
				if len(rej) != 0 {
					t.Fatalf("rejects %v", rej)
				}
				lines := strings.Split(string(out), "\n")
				if lines[1] != tc.line {
					t.Fatalf("line\n%q\nwant\n%q", lines[1], tc.line)
				}
			}
			back, brej, err := readRecords(t, lay, out)
			if err != nil || len(brej) > 0 || len(back) != 3-len(rej) {
				t.Fatalf("read back: %d records, rejects %v, %v", len(back), brej, err)
			}
			again, _, err := writeRecords(t, lay, back)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("round trip differs (%v):\n%q\n%q", err, again, out)
			}
		})
	}
}

// TestWriteDelimitedAdversarial: what a delimited layout writes must read
// back as the same records. Line breaks are rejected even when the layout
// quotes (layout files are line-oriented and layout.read reads one record
// per line); the delimiter and quotes are quoted; without quoting, a value
// the reader would misread is rejected.
func TestWriteDelimitedAdversarial(t *testing.T) {
	quoted := `format: delimited
encoding: windows-1252
line_ending: crlf
quote: '"'
record:
  fields:
    - {name: a}
    - {name: betrag, type: amount}
trailer:
  fields:
    - {name: n, value: count}
    - {name: s, value: "sum(betrag)"}
`
	never := strings.Replace(quoted, "quote: '\"'", "quote: '\"'\nquoting: never", 1)
	cases := []struct {
		name, layout string
		a            string
		betrag       string
		line         string // written line; "" rejected
		rej          string
	}{
		{"delimiter is quoted", quoted, "a;b", "1", `"a;b";1,00` + "\r\n", ""},
		{"quote is doubled", quoted, `12" Pizza`, "1", `"12"" Pizza";1,00` + "\r\n", ""},
		{"leading formula characters stay text", quoted, "=SUMME(A1)", "1", "=SUMME(A1);1,00\r\n", ""},
		{"line feed even when quoting", quoted, "a\nb", "1", "", "line break at character 2"},
		{"CRLF even when quoting", quoted, "a\r\nb", "1", "", "line break at character 2"},
		{"€ is windows-1252", quoted, "5 €", "1", "5 \x80;1,00\r\n", ""},
		{"Ł is not", quoted, "Łódź", "1", "", "not representable in windows-1252: 'Ł'"},
		{"no quoting: delimiter", never, "a;b", "1", "", `contains the delimiter ";" and the layout does not quote`},
		{"no quoting: leading quote", never, `"x"`, "1", "", "starts with the quote character"},
		{"no quoting: inner quote is text", never, `12" Pizza`, "1", `12" Pizza;1,00` + "\r\n", ""},
		{"negative amount", quoted, "a", "-0.50", "a;-0,50\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lay, err := Parse("d.yaml", []byte(tc.layout))
			if err != nil {
				t.Fatal(err)
			}
			recs := toRecords(t, []map[string]any{{"a": "x", "betrag": "2"}, {"a": tc.a, "betrag": tc.betrag}})
			out, rej, err := writeRecords(t, lay, recs)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimPrefix(string(out), "x;2,00\r\n")
			if tc.rej != "" {
				if len(rej) != 1 || rej[0].Field != "a" || !strings.Contains(rej[0].Reason, tc.rej) {
					t.Fatalf("rejects %v, want %q", rej, tc.rej)
				}
				if got != "1;2,00\r\n" {
					t.Fatalf("trailer must count only the written record: %q", out)
				}
			} else if len(rej) > 0 || !strings.HasPrefix(got, tc.line) {
				t.Fatalf("wrote %q (rejects %v), want line %q", out, rej, tc.line)
			}
			back, brej, err := readRecords(t, lay, out)
			if err != nil || len(brej) > 0 || len(back) != 2-len(rej) {
				t.Fatalf("read back: %d records, rejects %v, %v", len(back), brej, err)
			}
			if tc.rej == "" && back[1].Value("a").Str() != tc.a {
				t.Fatalf("read back %q, wrote %q", back[1].Value("a").Str(), tc.a)
			}
		})
	}
}

// TestWriteSumOverflow: a record whose amount would push the control sum
// beyond what a decimal holds exactly is rejected; the trailer carries the
// exact sum of the written records.
func TestWriteSumOverflow(t *testing.T) {
	lay, err := Parse("d.yaml", []byte(`format: delimited
record:
  fields:
    - {name: betrag, type: amount}
trailer:
  fields:
    - {name: n, value: count}
    - {name: s, value: "sum_abs(betrag)"}
`))
	if err != nil {
		t.Fatal(err)
	}
	big := "60000000000000000.00" // 19 digits; twice that needs 20
	recs := toRecords(t, []map[string]any{{"betrag": big}, {"betrag": big}, {"betrag": "1.00"}})
	out, rej, err := writeRecords(t, lay, recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Record.Origin.Line != 2 || !strings.Contains(rej[0].Reason, "control sum would exceed") {
		t.Fatalf("rejects %v", rej)
	}
	if want := "60000000000000000,00\r\n1,00\r\n2;60000000000000001,00\r\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// TestWriteImpliedAmountDigits: an amount that needs more than 19 digits
// at the field's decimal places is rejected; it used to be written with
// fewer places (an implied-decimal coefficient 10x too small, read back as
// a tenth of the amount). 19 digits, above the int64 range, round-trip.
func TestWriteImpliedAmountDigits(t *testing.T) {
	lay, err := Parse("d.yaml", []byte(`format: delimited
record:
  fields:
    - {name: betrag, type: amount, implied: true}
    - {name: b2, type: amount}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, betrag, b2 string
		want             string // the line, or a substring of the reject
	}{
		{"19 digits", "99999999999999999.99", "99999999999999999.99", "9999999999999999999;99999999999999999,99\r\n"},
		{"above int64", "-92233720368547758.08", "1", "-9223372036854775808;1,00\r\n"},
		{"implied: 18 integer digits", "123456789012345678", "1", "betrag: 123456789012345678 has more digits than a decimal holds exactly with 2 decimal places"},
		{"separator: 18 integer digits", "1", "123456789012345678", "b2: 123456789012345678 has more digits than a decimal holds exactly with 2 decimal places"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, rej, err := writeRecords(t, lay, toRecords(t, []map[string]any{{"betrag": tc.betrag, "b2": tc.b2}}))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tc.want, "\n") {
				if len(rej) != 0 || string(out) != tc.want {
					t.Fatalf("got %q, rejects %v, want %q", out, rej, tc.want)
				}
				back, rejs, err := readRecords(t, lay, out)
				if err != nil || len(rejs) != 0 || len(back) != 1 || back[0].Values[0].Decimal().String() != record.MustDecimal(tc.betrag).Round(2).String() {
					t.Fatalf("read back %v, rejects %v, error %v", back, rejs, err)
				}
				return
			}
			if len(rej) != 1 || !strings.Contains(rej[0].Error(), tc.want) || len(out) != 0 {
				t.Fatalf("got %q, rejects %v, want a reject %q", out, rej, tc.want)
			}
		})
	}
}

// TestNullAs: a null in a fixed-width int, amount or date field is written
// as spaces by default and reads back as null; null_as: zeros writes zeros,
// which read back as 0 (a date as null). Zeros written for a 0 read back as
// 0 in both modes, so null and 0 stay apart unless the layout asks for zeros.
func TestNullAs(t *testing.T) {
	const tmpl = `format: fixed
encoding: utf-8
line_ending: lf
record:
  fields:
    - {name: id, width: 2}
    - {name: i, width: 4, type: int, pad: "0"NULLAS}
    - {name: betrag, width: 6, type: amount, implied: true, pad: "0", sign: none NULLAS}
    - {name: b2, width: 7, type: amount, decimals: 2, pad: " "NULLAS}
    - {name: d, width: 8, type: date, format: JJJJMMTT NULLAS}
`
	rows := []map[string]any{
		{"id": "n", "i": nil, "betrag": nil, "b2": nil, "d": nil},
		{"id": "e", "i": "", "betrag": "", "b2": "", "d": ""},
		{"id": "z", "i": 0, "betrag": "0.00", "b2": "0", "d": "2024-01-31"},
	}
	zero := record.Dec(record.MustDecimal("0.00"))
	for _, tc := range []struct {
		name, nullAs string
		lines        []string
		back         [][]record.Value // i, betrag, b2, d of each line read back
	}{
		{"default blank", "", []string{
			"n                          ",
			"e                          ",
			"z 0000000000   0,0020240131",
		}, [][]record.Value{
			{record.Null, record.Null, record.Null, record.Null},
			{record.Null, record.Null, record.Null, record.Null},
			{record.Int(0), zero, zero, record.DateValue(record.NewDate(2024, 1, 31))},
		}},
		{"blank", ", null_as: blank", []string{
			"n                          ",
			"e                          ",
			"z 0000000000   0,0020240131",
		}, nil},
		{"zeros", ", null_as: zeros", []string{
			"n 0000000000000000000000000",
			"e 0000000000000000000000000",
			"z 0000000000   0,0020240131",
		}, [][]record.Value{
			{record.Int(0), zero, record.Dec(record.MustDecimal("0")), record.Null},
			{record.Int(0), zero, record.Dec(record.MustDecimal("0")), record.Null},
			{record.Int(0), zero, zero, record.DateValue(record.NewDate(2024, 1, 31))},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.ReplaceAll(tmpl, "NULLAS", tc.nullAs)
			src = strings.ReplaceAll(src, "none ,", "none,")
			src = strings.ReplaceAll(src, "JJJJMMTT ,", "JJJJMMTT,")
			lay, err := Parse("null.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			out, rej, err := writeRecords(t, lay, toRecords(t, rows))
			if err != nil || len(rej) != 0 {
				t.Fatalf("write: %v, rejects %v", err, rej)
			}
			if want := strings.Join(tc.lines, "\n") + "\n"; string(out) != want {
				t.Fatalf("file\n%q\nwant\n%q", out, want)
			}
			back, brej, err := readRecords(t, lay, out)
			if err != nil || len(brej) != 0 || len(back) != len(rows) {
				t.Fatalf("read back: %d records, rejects %v, %v", len(back), brej, err)
			}
			for i, r := range back {
				if tc.back == nil {
					break
				}
				for j, name := range []string{"i", "betrag", "b2", "d"} {
					got, _ := r.Get(name)
					if want := tc.back[i][j]; got.Kind() != want.Kind() || got.String() != want.String() {
						t.Errorf("line %d %s: read back %v (%s), want %v (%s)", i+1, name, got, got.Kind(), want, want.Kind())
					}
				}
			}
			again, _, err := writeRecords(t, lay, back)
			if tc.nullAs != ", null_as: zeros" && (err != nil || !bytes.Equal(again, out)) {
				t.Fatalf("round trip differs (%v):\n%q\n%q", err, again, out)
			}
		})
	}
}

// TestNullAsErrors: null_as is checked when the layout is loaded.
func TestNullAsErrors(t *testing.T) {
	for _, tc := range []struct{ layout, want string }{
		{"format: fixed\nrecord:\n  fields:\n    - {name: a, width: 3, type: int, null_as: empty}\n",
			`record.fields[0].null_as: "empty" (want blank or zeros)`},
		{"format: fixed\nrecord:\n  fields:\n    - {name: a, width: 3, null_as: zeros}\n",
			"record.fields[0].null_as: only int, amount and date fields of a fixed-width layout have it"},
		{"format: delimited\nrecord:\n  fields:\n    - {name: a, type: amount, null_as: zeros}\n",
			"record.fields[0].null_as: only int, amount and date fields of a fixed-width layout have it"},
	} {
		_, err := Parse("bad.yaml", []byte(tc.layout))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.layout, err, tc.want)
		}
	}
}
