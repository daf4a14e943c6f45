package record

import (
	"errors"
	"testing"
)

// Digits are never lost silently: text or results that do not fit in 19
// digits are ErrDecimalOverflow, never rounded.
func TestDecimalNeverRoundsSilently(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" = ErrDecimalOverflow
	}{
		{"1234567890123456789", "1234567890123456789"},
		{"12345678901234567.89", "12345678901234567.89"},
		{"-12345678901234567.89", "-12345678901234567.89"},
		{"0.1234567890123456789", "0.1234567890123456789"},
		{"0.12345678901234567890000", "0.1234567890123456789"}, // trailing zeros only
		{"0000000000000000000012.50", "12.50"},
		{"12345678901.0000000000", "12345678901.00000000"}, // numeric(21,10): zeros beyond 19 digits dropped
		{"123456789.0000000000000", "123456789.0000000000"},
		{"1234567890123456789.000", "1234567890123456789"},
		{"12345678901.0000000001", ""},
		{"1234567890123456789.5", ""},
		{"12345678901234567890", ""},
		{"123456789012345678.12", ""},
		{"0.12345678901234567891", ""},
		{"0.00000000000000000001", ""},
	} {
		d, err := ParseDecimal(tc.in, '.')
		switch {
		case tc.want == "" && !errors.Is(err, ErrDecimalOverflow):
			t.Errorf("ParseDecimal(%q) = %v, %v; want ErrDecimalOverflow", tc.in, d, err)
		case tc.want != "" && (err != nil || d.String() != tc.want):
			t.Errorf("ParseDecimal(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
		}
	}
	if d, err := ParseDecimal("1234567890123456789,5", ','); !errors.Is(err, ErrDecimalOverflow) {
		t.Errorf("decimal comma: %v, %v", d, err)
	}

	big := MustDecimal("99999999999999999.99")
	for _, tc := range []struct {
		name string
		f    func() (Decimal, error)
		want string
	}{
		{"add fits", func() (Decimal, error) { return big.Add(MustDecimal("-0.99")) }, "99999999999999999.00"},
		{"add needs a 20th digit", func() (Decimal, error) { return big.Add(MustDecimal("0.001")) }, ""},
		{"sub needs a 20th digit", func() (Decimal, error) { return big.Sub(MustDecimal("0.001")) }, ""},
		{"add carries into a 20th integer digit", func() (Decimal, error) { return MustDecimal("9999999999999999999").Add(MustDecimal("1")) }, ""},
		{"mul exact", func() (Decimal, error) { return MustDecimal("12.34").Mul(MustDecimal("0.19")) }, "2.3446"},
		{"mul needs 21 digits", func() (Decimal, error) {
			return MustDecimal("123456789012.34").Mul(MustDecimal("1234567.891"))
		}, ""},
		{"mul of scales", func() (Decimal, error) { return MustDecimal("1.50").Mul(MustDecimal("2.00")) }, "3.0000"},
	} {
		d, err := tc.f()
		switch {
		case tc.want == "" && !errors.Is(err, ErrDecimalOverflow):
			t.Errorf("%s: %v, %v; want ErrDecimalOverflow", tc.name, d, err)
		case tc.want != "" && (err != nil || d.String() != tc.want):
			t.Errorf("%s: %v, %v; want %s", tc.name, d, err, tc.want)
		}
	}
}
