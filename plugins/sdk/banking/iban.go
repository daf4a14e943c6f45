package banking

import (
	"fmt"
	"strings"
	"unicode"
)

type bbanKind uint8

const (
	bbanDigit bbanKind = iota // [0-9]
	bbanUpper                 // [A-Z]
	bbanAlnum                 // [A-Z0-9]
)

type bbanSeg struct {
	kind bbanKind
	n    int
}

type ibanCountry struct {
	cc     string
	length int
	sepa   bool
	bban   []bbanSeg
}

// ibanIndex maps ccIndex to 1+position in ibanCountries (0 = unknown).
var ibanIndex = func() (idx [676]uint8) {
	for i, c := range ibanCountries {
		idx[ccIndex(c.cc)] = uint8(i + 1)
	}
	return idx
}()

func lookupIBANCountry(cc string) *ibanCountry {
	i := ccIndex(cc)
	if i < 0 || ibanIndex[i] == 0 {
		return nil
	}
	return &ibanCountries[ibanIndex[i]-1]
}

// IsSEPACountry reports whether the IBAN country code cc (upper case) takes
// part in the SEPA schemes according to the generated registry: the
// ibantools SEPA flag plus the territories and 2024/2025 members listed in
// internal/registrygen.SEPAExtra.
func IsSEPACountry(cc string) bool {
	c := lookupIBANCountry(cc)
	return c != nil && c.sepa
}

// IBANLength returns the IBAN length of country cc and whether cc is in
// the registry.
func IBANLength(cc string) (int, bool) {
	if c := lookupIBANCountry(cc); c != nil {
		return c.length, true
	}
	return 0, false
}

// NormalizeIBAN returns s without white space (including no-break spaces),
// in upper case and without a leading "IBAN" label, as it appears in
// electronic payment files: " de89 3704 0044 0532 0130 00" becomes
// "DE89370400440532013000". It does not validate.
func NormalizeIBAN(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || (c >= 'a' && c <= 'z') {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range s {
			if unicode.IsSpace(r) {
				continue
			}
			if r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if strings.HasPrefix(s, "IBAN") {
		s = s[4:]
	}
	return s
}

// ValidIBAN checks s (normalised with NormalizeIBAN first) against ISO
// 13616: a known country code, the exact length of that country, the BBAN
// structure given by the registry (digits/letters per position) and check
// digits with mod 97 == 1. It returns nil for a valid IBAN, otherwise an
// error wrapping ErrInvalidIBAN that names the problem but not the IBAN.
func ValidIBAN(s string) error {
	s = NormalizeIBAN(s)
	if len(s) < 5 {
		return fmt.Errorf("%w: too short (%d characters)", ErrInvalidIBAN, len(s))
	}
	cc := s[:2]
	c := lookupIBANCountry(cc)
	if c == nil {
		if ccIndex(cc) < 0 {
			return fmt.Errorf("%w: must start with a two-letter country code", ErrInvalidIBAN)
		}
		return fmt.Errorf("%w: unknown country code %s", ErrInvalidIBAN, cc)
	}
	if len(s) != c.length {
		return fmt.Errorf("%w: length %d, want %d for %s", ErrInvalidIBAN, len(s), c.length, cc)
	}
	if !isDigit(s[2]) || !isDigit(s[3]) {
		return fmt.Errorf("%w: check digits (positions 3-4) must be digits", ErrInvalidIBAN)
	}
	if cd := s[2:4]; cd == "00" || cd == "01" || cd == "99" {
		return fmt.Errorf("%w: check digits %s are never issued (valid: 02-98)", ErrInvalidIBAN, cd)
	}
	pos := 4
	for _, seg := range c.bban {
		for k := 0; k < seg.n; k, pos = k+1, pos+1 {
			ch := s[pos]
			ok := false
			switch seg.kind {
			case bbanDigit:
				ok = isDigit(ch)
			case bbanUpper:
				ok = isUpper(ch)
			case bbanAlnum:
				ok = isDigit(ch) || isUpper(ch)
			}
			if !ok {
				return fmt.Errorf("%w: character %d must be %s for %s", ErrInvalidIBAN, pos+1, kindName(seg.kind), cc)
			}
		}
	}
	if mod97(s[4:], s[:4]) != 1 {
		return fmt.Errorf("%w: check digits do not match", ErrInvalidIBAN)
	}
	return nil
}

// IBANCheckDigits returns the two ISO 13616 check digits for country cc
// and bban (upper case, alphanumeric), e.g. ("DE", "370400440532013000")
// gives "89". It returns "" if cc or bban contain other characters.
func IBANCheckDigits(cc, bban string) string {
	if ccIndex(cc) < 0 || !isAlnumUpper(bban) {
		return ""
	}
	return checkDigits(mod97(bban, cc+"00"))
}

// FormatIBAN returns the normalised IBAN in groups of four separated by a
// space ("DE89 3704 0044 0532 0130 00"), the paper format of ISO 13616.
// It does not validate.
func FormatIBAN(s string) string {
	s = NormalizeIBAN(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func kindName(k bbanKind) string {
	switch k {
	case bbanDigit:
		return "a digit"
	case bbanUpper:
		return "a letter"
	}
	return "a letter or digit"
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isAlnumUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isUpper(s[i]) {
			return false
		}
	}
	return true
}

// mod97 returns the ISO 7064 mod 97-10 remainder of a+b read as digits
// with A=10 ... Z=35. Both parts must be upper-case alphanumeric.
func mod97(a, b string) int {
	r := 0
	for _, s := range [2]string{a, b} {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if isDigit(c) {
				r = (r*10 + int(c-'0')) % 97
			} else {
				r = (r*100 + int(c-'A') + 10) % 97
			}
		}
	}
	return r
}

// checkDigits returns 98 - rem as two digits.
func checkDigits(rem int) string {
	d := 98 - rem
	return string([]byte{byte('0' + d/10), byte('0' + d%10)})
}
