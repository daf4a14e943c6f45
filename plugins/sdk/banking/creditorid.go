package banking

import "fmt"

// NormalizeCreditorID returns s without white space and in upper case. It
// does not validate.
func NormalizeCreditorID(s string) string { return NormalizeIBAN(s) }

// ValidCreditorID checks a SEPA creditor identifier (Gläubiger-ID,
// EPC262-08) after NormalizeCreditorID: 2-letter ISO country code, 2 check
// digits, a 3-character creditor business code (A-Z/0-9, "ZZZ" by
// default; not part of the checksum) and a national identifier of 1-28
// characters A-Z/0-9; at most 35 characters in all. German identifiers
// are exactly 18 characters with an 11-digit national part. The check
// digits are valid when national id + country code + check digits, read
// with A=10 ... Z=35, give mod 97 == 1 (ISO 7064 mod 97-10). The
// Bundesbank test identifier DE98ZZZ09999999999 is valid. It returns nil
// or an error wrapping ErrInvalidCreditorID.
func ValidCreditorID(s string) error {
	s = NormalizeCreditorID(s)
	if len(s) < 8 || len(s) > 35 {
		return fmt.Errorf("%w: length %d, want 8 to 35", ErrInvalidCreditorID, len(s))
	}
	if !isAlnumUpper(s) {
		return fmt.Errorf("%w: only letters A-Z and digits are allowed", ErrInvalidCreditorID)
	}
	cc := s[:2]
	if !IsCountry(cc) {
		return fmt.Errorf("%w: must start with a known country code", ErrInvalidCreditorID)
	}
	if !isDigit(s[2]) || !isDigit(s[3]) {
		return fmt.Errorf("%w: check digits (positions 3-4) must be digits", ErrInvalidCreditorID)
	}
	if cd := s[2:4]; cd == "00" || cd == "01" || cd == "99" {
		return fmt.Errorf("%w: check digits %s are never issued (valid: 02-98)", ErrInvalidCreditorID, cd)
	}
	if cc == "DE" {
		if len(s) != 18 {
			return fmt.Errorf("%w: length %d, want 18 for DE", ErrInvalidCreditorID, len(s))
		}
		for i := 7; i < 18; i++ {
			if !isDigit(s[i]) {
				return fmt.Errorf("%w: national identifier (positions 8-18) must be digits for DE", ErrInvalidCreditorID)
			}
		}
	}
	if mod97(s[7:], s[:4]) != 1 {
		return fmt.Errorf("%w: check digits do not match", ErrInvalidCreditorID)
	}
	return nil
}

// CreditorIDCheckDigits returns the two check digits of a creditor
// identifier with country cc and national identifier nationalID (upper
// case, alphanumeric): 98 - (nationalID + cc + "00" mod 97). For ("DE",
// "09999999999") it returns "98". It returns "" for other characters.
func CreditorIDCheckDigits(cc, nationalID string) string {
	if ccIndex(cc) < 0 || !isAlnumUpper(nationalID) {
		return ""
	}
	return checkDigits(mod97(nationalID, cc+"00"))
}
