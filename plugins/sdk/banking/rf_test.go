package banking

import (
	"errors"
	"strings"
	"testing"
)

func TestRFReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ref, want string }{
		{"539007547034", "RF18539007547034"},
		{"g72uur", "RF45G72UUR"},
		{"2348231", "RF712348231"},
		{"18K5", "RF6518K5"},
	} {
		got, err := RFReference(tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("RFReference(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
		if err := ValidRFReference(got); err != nil {
			t.Errorf("ValidRFReference(%q) = %v", got, err)
		}
	}
	if err := ValidRFReference("rf18 5390 0754 7034"); err != nil {
		t.Errorf("ValidRFReference(spaced) = %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{"RF19539007547034", "check digits do not match"},
		{"RF18", "length 4"},
		{"XX18539007547034", "must start with RF"},
		{"RFAB539007547034", "two check digits"},
		{"RF18-539007547034", "two check digits"},
		{"RF18" + strings.Repeat("1", 22), "length 26"},
	} {
		err := ValidRFReference(tc.in)
		if err == nil || !errors.Is(err, ErrInvalidRF) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidRFReference(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	for _, in := range []string{"", strings.Repeat("1", 22), "AB-1"} {
		if _, err := RFReference(in); !errors.Is(err, ErrInvalidRF) {
			t.Errorf("RFReference(%q) error = %v", in, err)
		}
	}
}

func FuzzRFReference(f *testing.F) {
	for _, s := range []string{"539007547034", "", "rf", "\xff", "AB CD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rf, err := RFReference(s)
		if err != nil {
			return
		}
		if err := ValidRFReference(rf); err != nil {
			t.Fatalf("RFReference(%q) = %q fails validation: %v", s, rf, err)
		}
	})
}
