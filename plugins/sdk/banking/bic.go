package banking

import "fmt"

// NormalizeBIC returns s without white space and in upper case, the form to
// write into payment files. It does not validate.
func NormalizeBIC(s string) string { return NormalizeIBAN(s) }

// ValidBIC checks s (normalised with NormalizeBIC first) against ISO 9362
// as used by the BICFI type of pain.001.001.09/pain.008.001.08: 8 or 11
// characters, a 4-character institution code (letters or digits; ISO
// 9362:2014 allows digits there), a 2-letter country code that is an
// assigned ISO 3166 country, a 2-character location code and an optional
// 3-character branch code, all A-Z/0-9. It returns nil for a valid BIC,
// otherwise an error wrapping ErrInvalidBIC.
func ValidBIC(s string) error {
	s = NormalizeBIC(s)
	if len(s) != 8 && len(s) != 11 {
		return fmt.Errorf("%w: length %d, want 8 or 11", ErrInvalidBIC, len(s))
	}
	if !isAlnumUpper(s) {
		return fmt.Errorf("%w: only letters A-Z and digits are allowed", ErrInvalidBIC)
	}
	if !isUpper(s[4]) || !isUpper(s[5]) {
		return fmt.Errorf("%w: characters 5-6 must be a country code", ErrInvalidBIC)
	}
	if !IsCountry(s[4:6]) {
		return fmt.Errorf("%w: unknown country code %s", ErrInvalidBIC, s[4:6])
	}
	return nil
}
