package banking

import "testing"

func TestNonEEASEPACountry(t *testing.T) {
	for cc := range nonEEASEPA {
		if !IsSEPACountry(cc) {
			t.Errorf("%s is listed as a non-EEA SEPA country but the registry does not call it SEPA", cc)
		}
	}
	if name, ok := NonEEASEPACountry("CH"); !ok || name != "Switzerland" {
		t.Errorf("CH: %q, %v", name, ok)
	}
	for _, cc := range []string{"DE", "AT", "FR", "NO", "US", ""} {
		if _, ok := NonEEASEPACountry(cc); ok {
			t.Errorf("%q counted as a non-EEA SEPA country", cc)
		}
	}
}
