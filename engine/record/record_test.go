package record

import (
	"errors"
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		sep  byte
		want string
		err  error
	}{
		{"1234.50", '.', "1234.50", nil},
		{"1234,50", ',', "1234.50", nil},
		{"-0,01", ',', "-0.01", nil},
		{"+7", '.', "7", nil},
		{"99999999999999999.99", '.', "99999999999999999.99", nil},
		{"1.234,50", ',', "", ErrDecimalSyntax},
		{"12,5", '.', "", ErrDecimalSyntax},
		{"", '.', "", ErrDecimalSyntax},
		{"1e5", '.', "", ErrDecimalSyntax},
		{"NaN", '.', "", ErrDecimalSyntax},
		{" 1", '.', "", ErrDecimalSyntax},
		{"abc", '.', "", ErrDecimalSyntax},
	}
	for _, tc := range tests {
		got, err := ParseDecimal(tc.in, tc.sep)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseDecimal(%q) error = %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestDecimalArithmeticExact(t *testing.T) {
	// 0.1 + 0.2 is exactly 0.3 (it is not in float64).
	a, b := MustDecimal("0.1"), MustDecimal("0.2")
	s, err := a.Add(b)
	if err != nil || !s.Equal(MustDecimal("0.3")) {
		t.Fatalf("0.1+0.2 = %v, %v", s, err)
	}
	// Summing a million cents is exact.
	sum := DecimalFromInt(0)
	cent := MustDecimal("0.01")
	for i := 0; i < 1000000; i++ {
		sum, _ = sum.Add(cent)
	}
	if sum.String() != "10000.00" {
		t.Fatalf("sum = %s", sum)
	}
	if _, err := MustDecimal("9999999999999999999").Mul(MustDecimal("10")); !errors.Is(err, ErrDecimalOverflow) {
		t.Fatalf("overflow not reported: %v", err)
	}
	if _, err := a.Quo(DecimalFromInt(0)); err == nil {
		t.Fatal("division by zero not reported")
	}
}

func TestDecimalRound(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  string
	}{
		{"2.345", 2, "2.35"},
		{"-2.345", 2, "-2.35"},
		{"2.344", 2, "2.34"},
		{"0.5", 0, "1"},
		{"-0.5", 0, "-1"},
		{"1.5", 2, "1.50"},
		{"2.675", 2, "2.68"}, // 2.67499999 in float64, exact here
	}
	for _, tc := range tests {
		if got := MustDecimal(tc.in).Round(tc.scale).String(); got != tc.want {
			t.Errorf("Round(%s, %d) = %s, want %s", tc.in, tc.scale, got, tc.want)
		}
	}
	if got := MustDecimal("2.345").RoundHalfEven(2).String(); got != "2.34" {
		t.Errorf("RoundHalfEven = %s", got)
	}
	if got := MustDecimal("1234.5").Format(',', 2); got != "1234,50" {
		t.Errorf("Format = %s", got)
	}
}

func TestValueRoundTrip(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	ts := time.Date(2026, 10, 25, 2, 30, 0, 0, loc)
	big := MustDecimal("9999999999999999999") // coefficient above int64
	vals := []Value{
		Null, String("Müller"), Int(-42), Dec(MustDecimal("-12.30")), Dec(big), Bool(true),
		DateValue(NewDate(2026, 2, 28)), DateTime(ts),
		List([]Value{Int(1), String("x")}), Map(map[string]Value{"a": Int(1)}),
	}
	for _, v := range vals {
		w, err := FromAny(v.Any())
		if err != nil {
			t.Fatalf("FromAny(%#v): %v", v, err)
		}
		if !v.Equal(w) {
			t.Errorf("round trip %#v -> %#v", v, w)
		}
	}
	if got := Dec(MustDecimal("-12.30")).String(); got != "-12.30" {
		t.Errorf("decimal keeps its scale: %s", got)
	}
	if got := Dec(big).Decimal().String(); got != "9999999999999999999" {
		t.Errorf("big coefficient: %s", got)
	}
	if got := DateTime(ts).Time(); !got.Equal(ts) || got.Location() != loc {
		t.Errorf("datetime zone lost: %v", got)
	}
	if f, _ := FromAny(10.5); f.String() != "10.5" {
		t.Errorf("float literal not exact: %v", f)
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("29.02.2024", "DD.MM.YYYY")
	if err != nil || d.String() != "2024-02-29" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if _, err := ParseDate("30.02.2024", "TT.MM.JJJJ"); err == nil {
		t.Fatal("30 February accepted")
	}
	if got := d.Format("DDMM"); got != "2902" {
		t.Errorf("Format DDMM = %s", got)
	}
	if got := d.AddDays(1).Format("YYYYMMDD"); got != "20240301" {
		t.Errorf("AddDays = %s", got)
	}
	// A date never shifts with the process time zone.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if got := DateOf(time.Date(2026, 3, 29, 0, 30, 0, 0, berlin)); got.String() != "2026-03-29" {
		t.Errorf("DateOf = %s", got)
	}
}

func TestSchemaAndRecord(t *testing.T) {
	if _, err := NewSchema(Field{Name: "a"}, Field{Name: "a"}); err == nil {
		t.Fatal("duplicate field accepted")
	}
	s := MustSchema(Field{Name: "id", Kind: KindInt}, Field{Name: "name", Kind: KindString})
	r := New(s, Origin{File: "in.csv", Line: 3, Col: 1, Index: 2})
	if !r.Set("name", String("x")) || r.Set("nope", Null) {
		t.Fatal("Set")
	}
	if v, ok := r.Get("name"); !ok || v.Str() != "x" {
		t.Fatal("Get")
	}
	c := r.Clone()
	c.Set("name", String("y"))
	if r.Value("name").Str() != "x" {
		t.Fatal("Clone shares values")
	}
	rej := Reject{Record: r, Step: "validate", Field: "iban", Reason: "invalid IBAN"}
	if got := rej.Error(); got != "in.csv:3:1: validate: iban: invalid IBAN" {
		t.Errorf("Reject.Error = %q", got)
	}
}

func TestOriginString(t *testing.T) {
	tests := []struct {
		o    Origin
		want string
	}{
		{Origin{File: "a.csv", Line: 12, Col: 4}, "a.csv:12:4"},
		{Origin{File: "s.xml", Line: 8, Col: 5, Path: "Document/Stmt[1]/Ntry[3]"}, "s.xml:8:5 (Document/Stmt[1]/Ntry[3])"},
		{Origin{File: "GET /tickets", Index: 17}, "GET /tickets record 17"},
		{Origin{Index: 3}, "record 3"},
	}
	for _, tc := range tests {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("%+v = %q, want %q", tc.o, got, tc.want)
		}
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1", "-1.50", "1,5", "99999999999999999999", "0.0000000000000000001", "", "+", "-", "."} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		sep := byte('.')
		if comma {
			sep = ','
		}
		d, err := ParseDecimal(s, sep)
		if err != nil {
			return
		}
		// What parses must format and parse back to the same number.
		back, err := ParseDecimal(d.String(), '.')
		if err != nil || !back.Equal(d) {
			t.Fatalf("%q -> %s -> %v, %v", s, d, back, err)
		}
		_ = d.Round(2)
		_ = Dec(d).Decimal()
	})
}

func BenchmarkValueDecimal(b *testing.B) {
	d := MustDecimal("1234.56")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v := Dec(d)
		if v.Decimal().Sign() < 0 {
			b.Fatal()
		}
	}
}

func BenchmarkDateFormat(b *testing.B) {
	d := NewDate(2026, 11, 23)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if d.Format("DD.MM.YYYY") != "23.11.2026" {
			b.Fatal()
		}
	}
}
