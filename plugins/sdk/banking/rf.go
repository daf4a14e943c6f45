package banking

import "fmt"

// RFReference returns the ISO 11649 structured creditor reference for ref
// ("RF" + 2 check digits + ref), e.g. "539007547034" gives
// "RF18539007547034". ref is normalised like an IBAN (white space removed,
// upper case) and must be 1-21 characters A-Z/0-9. Put it into invoices
// and search it in remittance text: the check digits rule out typing
// errors when matching bank statements.
func RFReference(ref string) (string, error) {
	ref = NormalizeIBAN(ref)
	if len(ref) < 1 || len(ref) > 21 {
		return "", fmt.Errorf("%w: reference has %d characters, want 1 to 21", ErrInvalidRF, len(ref))
	}
	if !isAlnumUpper(ref) {
		return "", fmt.Errorf("%w: only letters A-Z and digits are allowed", ErrInvalidRF)
	}
	return "RF" + checkDigits(mod97(ref, "RF00")) + ref, nil
}

// ValidRFReference checks an ISO 11649 creditor reference after
// normalising it like an IBAN: "RF", 2 check digits, 1-21 characters
// A-Z/0-9, and mod 97 == 1 over the reference followed by its first four
// characters. It returns nil or an error wrapping ErrInvalidRF.
func ValidRFReference(s string) error {
	s = NormalizeIBAN(s)
	if len(s) < 5 || len(s) > 25 {
		return fmt.Errorf("%w: length %d, want 5 to 25", ErrInvalidRF, len(s))
	}
	if s[:2] != "RF" {
		return fmt.Errorf("%w: must start with RF", ErrInvalidRF)
	}
	if !isDigit(s[2]) || !isDigit(s[3]) || !isAlnumUpper(s[4:]) {
		return fmt.Errorf("%w: want RF, two check digits and letters A-Z or digits", ErrInvalidRF)
	}
	if mod97(s[4:], s[:4]) != 1 {
		return fmt.Errorf("%w: check digits do not match", ErrInvalidRF)
	}
	return nil
}
