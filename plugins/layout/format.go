package layout

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
)

func textOf(v record.Value, dec byte) string {
	switch v.Kind() {
	case record.KindNull:
		return ""
	case record.KindString:
		return v.Str()
	case record.KindDecimal:
		return v.Decimal().Format(dec, -1)
	case record.KindDate:
		return v.Date().Format("DD.MM.YYYY")
	}
	return v.String()
}

func decimalOf(v record.Value, dec byte) (record.Decimal, error) {
	switch v.Kind() {
	case record.KindDecimal, record.KindInt:
		return v.Decimal(), nil
	case record.KindString:
		s := strings.TrimSpace(v.Str())
		if strings.IndexByte(s, ',') >= 0 {
			return record.ParseDecimal(s, ',')
		}
		return record.ParseDecimal(s, '.')
	}
	return record.Decimal{}, fmt.Errorf("a %s value is not an amount", v.Kind())
}

// formatValue renders v for field f (before padding). It returns a reason for invalid values.
func (lay *Layout) formatValue(f *Field, v record.Value) (string, string) {
	dec := lay.Decimal[0]
	if v.IsNull() || (v.Kind() == record.KindString && v.Str() == "") {
		if f.Required {
			return "", "required"
		}
		if f.nullFill != 0 {
			// Not the pad: zero padding of a null amount would read back as 0.00.
			return strings.Repeat(string(f.nullFill), f.Width), ""
		}
		return "", ""
	}
	switch f.Type {
	case "int":
		var i int64
		switch v.Kind() {
		case record.KindInt:
			i = v.Int()
		case record.KindDecimal:
			d := v.Decimal()
			if !d.IsInt() {
				return "", fmt.Sprintf("%s is not a whole number", d)
			}
			n, ok := d.Int64()
			if !ok {
				return "", fmt.Sprintf("%s does not fit a 64-bit whole number", d)
			}
			i = n
		default:
			s := strings.TrimSpace(textOf(v, dec))
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return "", fmt.Sprintf("%q is not a whole number", s)
			}
			i = n
		}
		return f.zeroPadSigned(strconv.FormatInt(i, 10)), ""
	case "amount":
		d, err := decimalOf(v, dec)
		if err != nil {
			return "", err.Error()
		}
		return f.formatAmount(d, dec)
	case "date":
		var d record.Date
		switch v.Kind() {
		case record.KindDate, record.KindDateTime:
			d = v.Date()
		default:
			s := textOf(v, dec)
			var err error
			if d, err = record.ParseDate(s, "YYYY-MM-DD"); err != nil {
				if d, err = record.ParseDate(s, f.Format); err != nil {
					return "", fmt.Sprintf("%q is not a date (want YYYY-MM-DD or %s)", s, f.Format)
				}
			}
		}
		if reason := f.years.Check(d); reason != "" {
			return "", d.String() + ": " + reason
		}
		return d.Format(f.Format), ""
	case "sh":
		if v.Kind() == record.KindString {
			s := strings.TrimSpace(v.Str())
			if s == f.Debit || s == f.Credit {
				return s, ""
			}
		}
		d, err := decimalOf(v, dec)
		if err != nil {
			return "", fmt.Sprintf("want %s/%s or an amount: %v", f.Debit, f.Credit, err)
		}
		if d.Sign() < 0 {
			return f.Credit, ""
		}
		return f.Debit, ""
	}
	return textOf(v, dec), ""
}

func (f *Field) formatAmount(d record.Decimal, dec byte) (string, string) {
	if d.Scale() > f.decimals && !d.Round(f.decimals).Equal(d) {
		return "", fmt.Sprintf("%s has more than %d decimal places", d, f.decimals)
	}
	neg := d.Sign() < 0
	orig := d
	if d = d.Abs().Round(f.decimals); d.Scale() != f.decimals {
		// Round pads only as far as 19 digits go: 123456789012345678 at 2
		// places stays at 1, and its coefficient would be written 10x too small.
		return "", fmt.Sprintf("%s has more digits than a decimal holds exactly with %d decimal places", orig, f.decimals)
	}
	var s string
	if f.Implied {
		coef, _ := d.Coef()
		s = strconv.FormatUint(coef, 10)
		if f.decimals > 0 && len(s) <= f.decimals {
			s = strings.Repeat("0", f.decimals-len(s)+1) + s
		}
	} else {
		s = d.Format(dec, f.decimals)
	}
	sign := ""
	switch f.Sign {
	case "", "leading":
		if neg {
			sign = "-"
		}
	case "always":
		sign = "+"
		if neg {
			sign = "-"
		}
	case "trailing":
		if neg {
			return s + "-", ""
		}
		if f.Width > 0 {
			return s + " ", "" // keep the sign position
		}
		return s, ""
	case "none":
	}
	if sign != "" {
		return f.zeroPadSigned(sign + s), ""
	}
	return s, ""
}

// zeroPadSigned puts the zeros of a right-aligned, zero-padded fixed-width
// field between a leading sign and the digits (-0001234, not 000-1234,
// which no import reads as a number). Other fields are returned as they are.
func (f *Field) zeroPadSigned(s string) string {
	if f.Width <= 0 || !f.right || f.pad != '0' || s == "" || (s[0] != '-' && s[0] != '+') {
		return s
	}
	if n := utf8.RuneCountInString(s); n < f.Width {
		return s[:1] + strings.Repeat("0", f.Width-n) + s[1:]
	}
	return s
}

// fit pads or checks s to the field width. It returns a reason when s does not fit.
func (lay *Layout) fit(f *Field, s string) (string, string) {
	if f.Width <= 0 {
		return s, ""
	}
	n := utf8.RuneCountInString(s)
	if n > f.Width {
		if f.Type == "amount" || f.Type == "int" || f.Type == "date" {
			return "", fmt.Sprintf("value %q has %d characters, the field is %d wide (numbers are never cut)", s, n, f.Width)
		}
		if !f.Truncate {
			return "", fmt.Sprintf("value %q has %d characters, the field is %d wide (set truncate: true to cut text)", s, n, f.Width)
		}
		i := 0
		for k := 0; k < f.Width; k++ {
			_, sz := utf8.DecodeRuneInString(s[i:])
			i += sz
		}
		return s[:i], ""
	}
	if lay.Format != "fixed" || n == f.Width {
		return s, ""
	}
	pad := strings.Repeat(string(f.pad), f.Width-n)
	if f.right {
		return pad + s, ""
	}
	return s + pad, ""
}

// parseValue converts the text of a field back into a value (layout.read).
func (lay *Layout) parseValue(f *Field, s string) (record.Value, string) {
	raw := s
	if lay.Format == "fixed" {
		if f.right {
			s = strings.TrimLeft(s, string(f.pad))
			if f.pad != ' ' {
				s = strings.TrimLeft(s, " ")
			}
		} else {
			s = strings.TrimRight(s, string(f.pad))
			if f.pad != ' ' {
				s = strings.TrimRight(s, " ")
			}
		}
	}
	switch f.Type {
	case "int":
		s = strings.TrimSpace(s)
		if s == "" {
			if strings.Trim(raw, "0") == "" && raw != "" {
				return record.Int(0), ""
			}
			return record.Null, ""
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return record.Null, fmt.Sprintf("%q is not a whole number", raw)
		}
		return record.Int(i), ""
	case "amount":
		t := strings.TrimSpace(raw)
		if t == "" {
			return record.Null, ""
		}
		neg := false
		switch {
		case strings.HasPrefix(t, "-"):
			neg, t = true, t[1:]
		case strings.HasPrefix(t, "+"):
			t = t[1:]
		case strings.HasSuffix(t, "-"):
			neg, t = true, t[:len(t)-1]
		}
		t = strings.TrimSpace(t)
		var d record.Decimal
		var err error
		if f.Implied {
			d, err = impliedDecimal(t, f.decimals)
		} else {
			d, err = record.ParseDecimal(t, lay.Decimal[0])
			if err == nil && d.Scale() > f.decimals {
				return record.Null, fmt.Sprintf("%q has %d decimal places, the layout %d", raw, d.Scale(), f.decimals)
			}
		}
		if errors.Is(err, record.ErrDecimalOverflow) {
			return record.Null, fmt.Sprintf("%q has more digits than a decimal holds exactly", raw)
		}
		if err != nil {
			return record.Null, fmt.Sprintf("%q is not an amount", raw)
		}
		if neg {
			d = d.Neg()
		}
		return record.Dec(d), ""
	case "date":
		s = strings.TrimSpace(s)
		if s == "" || strings.Trim(s, "0") == "" {
			return record.Null, ""
		}
		t, err := time.Parse(record.GoLayout(f.Format), s)
		if err != nil {
			return record.Null, fmt.Sprintf("%q is not a date %s", raw, f.Format)
		}
		return record.DateValue(record.DateOf(t)), ""
	}
	if f.pad == ' ' || lay.Format != "fixed" {
		return record.String(s), ""
	}
	return record.String(strings.TrimSpace(raw)), ""
}

// impliedDecimal reads the digits of an implied-decimal amount (9(8)V99:
// "0000012345" with 2 decimals is 123.45) exactly: every value of up to 19
// significant digits, also those above the int64 range, and
// ErrDecimalOverflow for more; anything but digits is ErrDecimalSyntax.
func impliedDecimal(digits string, decimals int) (record.Decimal, error) {
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return record.Decimal{}, record.ErrDecimalSyntax
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	if decimals > 0 {
		digits = digits[:len(digits)-decimals] + "." + digits[len(digits)-decimals:]
	}
	return record.ParseDecimal(digits, '.')
}
