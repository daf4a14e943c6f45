package record

import (
	"errors"
	"fmt"
	"strings"

	"github.com/govalues/decimal"
)

// Decimal is an exact decimal number for money and quantities. It never
// passes through float64: values are parsed from text, computed exactly and
// formatted back to text. Up to 19 significant digits are held (enough for
// 99,999,999,999,999,999.99 at scale 2); an operation whose integer part
// would not fit returns ErrDecimalOverflow instead of losing digits.
//
// The zero value is 0. Decimal is a small value type (no heap allocation)
// and safe to copy and compare with Cmp/Equal; == compares representation
// (1.0 != 1.00), so use Equal for numeric equality.
//
// Decimal wraps github.com/govalues/decimal, chosen because it is exact,
// allocation-free for money-sized values and reports overflow as an error.
type Decimal struct{ d decimal.Decimal }

// ErrDecimalOverflow is returned when a result does not fit in 19 digits.
var ErrDecimalOverflow = errors.New("decimal overflow")

// ErrDecimalSyntax is returned by ParseDecimal for malformed text.
var ErrDecimalSyntax = errors.New("invalid decimal")

// DecimalFromInt returns the decimal value of i.
func DecimalFromInt(i int64) Decimal { return Decimal{decimal.MustNew(i, 0)} }

// NewDecimal returns coef * 10^-scale (scale 0..19), e.g. NewDecimal(1234, 2) = 12.34.
func NewDecimal(coef int64, scale int) (Decimal, error) {
	d, err := decimal.New(coef, scale)
	if err != nil {
		return Decimal{}, fmt.Errorf("%w: %v", ErrDecimalOverflow, err)
	}
	return Decimal{d}, nil
}

// MustDecimal parses s (with '.' as the decimal point) and panics on error.
// For constants in code and tests only.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s, '.')
	if err != nil {
		panic(err)
	}
	return d
}

// ParseDecimal parses text such as "-1234.50" with the given decimal
// separator ('.' or ','). A leading '+' or '-' is allowed; thousands
// separators, exponents, blanks and empty text are not (ErrDecimalSyntax).
// Text with more digits than a Decimal holds (19 significant digits, 19
// after the point; trailing zeros after the point do not count) is
// ErrDecimalOverflow: an amount is never rounded on the way in.
func ParseDecimal(s string, sep byte) (Decimal, error) {
	orig := s
	if sep == ',' {
		if strings.IndexByte(s, '.') >= 0 {
			return Decimal{}, fmt.Errorf("%w %q: '.' found but the decimal separator is ','", ErrDecimalSyntax, s)
		}
		if i := strings.IndexByte(s, ','); i >= 0 {
			s = s[:i] + "." + s[i+1:]
		}
	} else if strings.IndexByte(s, ',') >= 0 {
		return Decimal{}, fmt.Errorf("%w %q: ',' found but the decimal separator is '.'", ErrDecimalSyntax, s)
	}
	if s == "" || strings.ContainsAny(s, "eEiInN_ ") {
		return Decimal{}, fmt.Errorf("%w %q", ErrDecimalSyntax, s)
	}
	var d decimal.Decimal
	var err error
	if len(s) <= 19 { // at most 19 digits: always exact
		d, err = decimal.Parse(s)
	} else {
		d, err = parseExact(s)
	}
	if err != nil {
		if strings.Contains(err.Error(), "overflow") || strings.Contains(err.Error(), "out of range") {
			return Decimal{}, fmt.Errorf("%w: %q has more digits than a decimal holds exactly (19 significant digits, 19 decimal places)", ErrDecimalOverflow, orig)
		}
		return Decimal{}, fmt.Errorf("%w %q", ErrDecimalSyntax, s)
	}
	return Decimal{d}, nil
}

// parseExact parses s (already checked for syntax) without rounding:
// decimal.Parse rounds text with more than 19 significant digits (or more
// than 19 after the point) to fit, which would change an amount silently.
//
// Trailing zeros after the point are not significant: "12345678901.0000000000"
// (a numeric(21,10) export) is 12345678901 exactly and parses, keeping as
// many of the zeros as fit in 19 digits.
func parseExact(s string) (decimal.Decimal, error) {
	sig := 0 // fraction digits up to the last non-zero one
	if i := strings.IndexByte(s, '.'); i >= 0 {
		sig = len(strings.TrimRight(s[i+1:], "0"))
		if sig > decimal.MaxScale {
			return decimal.Decimal{}, fmt.Errorf("overflow: more than %d digits after the decimal point", decimal.MaxScale)
		}
	}
	return decimal.ParseExact(s, sig) // "decimal overflow" when significant digits would be lost
}

func wrap(d decimal.Decimal, err error) (Decimal, error) {
	if err != nil {
		return Decimal{}, fmt.Errorf("%w: %v", ErrDecimalOverflow, err)
	}
	return Decimal{d}, nil
}

// Add returns d+e exactly, or ErrDecimalOverflow when the exact sum does
// not fit in 19 digits (99999999999999999.99 + 0.001 is an error, never
// rounded).
func (d Decimal) Add(e Decimal) (Decimal, error) {
	return wrap(d.d.AddExact(e.d, max(d.d.Scale(), e.d.Scale())))
}

// Sub returns d-e exactly, or ErrDecimalOverflow when the exact difference
// does not fit in 19 digits.
func (d Decimal) Sub(e Decimal) (Decimal, error) {
	return wrap(d.d.SubExact(e.d, max(d.d.Scale(), e.d.Scale())))
}

// Mul returns d*e exactly, or ErrDecimalOverflow when the exact product
// does not fit in 19 digits. Only digits beyond the 19th after the decimal
// point (products of two numbers with many decimals, far below a cent) are
// rounded.
func (d Decimal) Mul(e Decimal) (Decimal, error) {
	return wrap(d.d.MulExact(e.d, min(d.d.Scale()+e.d.Scale(), decimal.MaxScale)))
}

// Quo returns d/e rounded to 19 significant digits; division by zero is an error.
func (d Decimal) Quo(e Decimal) (Decimal, error) {
	if e.d.IsZero() {
		return Decimal{}, errors.New("decimal division by zero")
	}
	return wrap(d.d.Quo(e.d))
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{d.d.Neg()} }

// Abs returns |d|.
func (d Decimal) Abs() Decimal { return Decimal{d.d.Abs()} }

// Cmp returns -1, 0 or +1 as d is less than, equal to or greater than e.
func (d Decimal) Cmp(e Decimal) int { return d.d.Cmp(e.d) }

// Equal reports numeric equality (1.0 equals 1.00).
func (d Decimal) Equal(e Decimal) bool { return d.d.Cmp(e.d) == 0 }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.d.Sign() }

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.d.IsZero() }

// Scale returns the number of digits after the decimal point.
func (d Decimal) Scale() int { return d.d.Scale() }

// IsInt reports whether d has no fractional part.
func (d Decimal) IsInt() bool { return d.d.IsInt() }

// Round rounds to scale digits after the point, half away from zero
// ("kaufmännisch runden", the rule German accounting uses): 2.345 -> 2.35,
// -2.345 -> -2.35. The result has exactly scale digits (0.5 -> "0.50" at 2).
func (d Decimal) Round(scale int) Decimal {
	if scale < 0 {
		scale = 0
	}
	if d.d.Scale() <= scale {
		return Decimal{d.d.Pad(scale)}
	}
	t := d.d.Trunc(scale)
	rest, _ := d.d.Sub(t)
	half := decimal.MustNew(5, scale+1)
	if rest.Abs().Cmp(half) >= 0 {
		step := decimal.MustNew(1, scale)
		if d.d.IsNeg() {
			step = step.Neg()
		}
		if r, err := t.Add(step); err == nil {
			t = r
		}
	}
	return Decimal{t.Pad(scale)}
}

// RoundHalfEven rounds to scale digits with banker's rounding.
func (d Decimal) RoundHalfEven(scale int) Decimal { return Decimal{d.d.Round(scale).Pad(scale)} }

// Trunc cuts to scale digits after the point (toward zero).
func (d Decimal) Trunc(scale int) Decimal { return Decimal{d.d.Trunc(scale)} }

// Rescale pads or rounds (half to even) to exactly scale digits.
func (d Decimal) Rescale(scale int) Decimal { return Decimal{d.d.Rescale(scale)} }

// Int64 returns the integer part and whether d is an integer that fits in int64.
func (d Decimal) Int64() (int64, bool) {
	w, f, ok := d.d.Int64(0)
	return w, ok && f == 0 && d.d.IsInt()
}

// Float64 returns the nearest float64 (for display and statistics only,
// never for money arithmetic).
func (d Decimal) Float64() float64 { f, _ := d.d.Float64(); return f }

// String formats d with '.' and its own scale, e.g. "-1234.50".
func (d Decimal) String() string { return d.d.String() }

// Format formats d with the given decimal separator and exactly scale
// digits after it (rounded half away from zero); scale < 0 keeps d's scale.
// Format(',', 2) of 1234.5 is "1234,50". No thousands separators.
func (d Decimal) Format(sep byte, scale int) string {
	if scale >= 0 {
		d = d.Round(scale)
	}
	s := d.d.String()
	if sep != '.' {
		if i := strings.IndexByte(s, '.'); i >= 0 {
			s = s[:i] + string(sep) + s[i+1:]
		}
	}
	return s
}

// AppendText appends String() to b without allocating.
func (d Decimal) AppendText(b []byte) []byte {
	b, _ = d.d.AppendText(b)
	return b
}

// Coef returns the absolute coefficient and scale: 12.34 -> (1234, 2).
func (d Decimal) Coef() (uint64, int) { return d.d.Coef(), d.d.Scale() }

// MarshalJSON encodes d as a JSON string ("12.34") so no consumer turns it into a float.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.d.String() + `"`), nil
}

// UnmarshalJSON accepts a JSON string or number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseDecimal(s, '.')
	if err != nil {
		return err
	}
	*d = v
	return nil
}
