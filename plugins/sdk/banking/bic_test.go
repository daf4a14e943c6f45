package banking

import (
	"errors"
	"strings"
	"testing"
)

func TestValidBIC(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"DEUTDEFF", "DEUTDEFF500", "COBADEFFXXX", "cobadeffxxx", " GENO DEF1 M04 ", "MARKDEF1100", "1234DEFF", "BNPAFRPPXXX", "NWBKGB2L"} {
		if err := ValidBIC(s); err != nil {
			t.Errorf("ValidBIC(%q) = %v", s, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "length 0, want 8 or 11"},
		{"DEUTDEF", "length 7"},
		{"DEUTDEFF50", "length 10"},
		{"DEUTDEFF5000", "length 12"},
		{"DEUT-EFF", "only letters"},
		{"DEUTÜEFF", "length 9"},
		{"DEUT1EFF", "country code"},
		{"DEUTXXFF", "unknown country code XX"},
		{"DEUTDDFF", "unknown country code DD"},
	} {
		err := ValidBIC(tc.in)
		if err == nil || !errors.Is(err, ErrInvalidBIC) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidBIC(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
	if got := NormalizeBIC(" cobade ffxxx"); got != "COBADEFFXXX" {
		t.Errorf("NormalizeBIC = %q", got)
	}
}

func TestValidCreditorID(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"DE98ZZZ09999999999", // Bundesbank test CI
		"de98 zzz0 9999 9999 99",
		"DE56BMG00001024542", // business code is not part of the checksum
		"DE98ABC09999999999",
		"AT61ZZZ01234567890",
		"NL" + CreditorIDCheckDigits("NL", "123456780000") + "ZZZ123456780000",
		"FR" + CreditorIDCheckDigits("FR", "123456") + "ZZZ123456",
	} {
		if err := ValidCreditorID(s); err != nil {
			t.Errorf("ValidCreditorID(%q) = %v", s, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"DE26ZZZ00000000000", "check digits do not match"}, // python-sepaxml fixture
		{"DE46ZZZ00000012345", "check digits do not match"}, // hbci4java fixture
		{"DE97ZZZ09999999999", "check digits do not match"},
		{"DE98ZZZ0999999999", "length 17, want 18 for DE"},
		{"DE98ZZZ099999999990", "length 19, want 18 for DE"},
		{"DE98ZZZ0999999999A", "must be digits for DE"},
		{"DEXXZZZ09999999999", "check digits (positions 3-4)"},
		{"XX98ZZZ09999999999", "known country code"},
		{"DE98ZZ", "length 6"},
		{"DE98ZZZ0999-999999", "only letters"},
		{"AT61ZZZ01234567890123456789012345678", "length 36"},
	} {
		err := ValidCreditorID(tc.in)
		if err == nil || !errors.Is(err, ErrInvalidCreditorID) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidCreditorID(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
	if got := CreditorIDCheckDigits("DE", "09999999999"); got != "98" {
		t.Errorf("CreditorIDCheckDigits = %q, want 98", got)
	}
	if got := CreditorIDCheckDigits("DE", "0999-"); got != "" {
		t.Errorf("CreditorIDCheckDigits(bad) = %q", got)
	}
}

func FuzzValidCreditorID(f *testing.F) {
	for _, s := range []string{"DE98ZZZ09999999999", "DE56BMG00001024542", "", "DE", "de98 zzz", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidCreditorID(s)
		if err != nil && !errors.Is(err, ErrInvalidCreditorID) {
			t.Fatalf("error %v does not wrap ErrInvalidCreditorID", err)
		}
		if err == nil {
			n := NormalizeCreditorID(s)
			if CreditorIDCheckDigits(n[:2], n[7:]) != n[2:4] {
				t.Fatalf("CreditorIDCheckDigits disagrees for %q", n)
			}
		}
		_ = ValidBIC(s)
	})
}

func TestCheckDigitRange(t *testing.T) {
	t.Parallel()
	// GB00... and DE00... satisfy mod 97 == 1 (00 ≡ 97) but are never issued.
	if err := ValidIBAN("GB00AAAA12345498765432"); err == nil || !strings.Contains(err.Error(), "check digits 00 are never issued") {
		t.Errorf("ValidIBAN(GB00...) = %v", err)
	}
	if err := ValidCreditorID("AX00000A8"); err == nil || !strings.Contains(err.Error(), "check digits 00") {
		t.Errorf("ValidCreditorID(AX00000A8) = %v", err)
	}
}
