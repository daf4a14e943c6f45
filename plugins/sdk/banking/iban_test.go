package banking

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/plugins/sdk/banking/internal/registrygen"
)

func TestValidIBAN(t *testing.T) {
	t.Parallel()
	valid := []string{
		"DE89370400440532013000",
		"DE89 3704 0044 0532 0130 00",
		" de89 3704 0044 0532 0130 00\n",
		"IBAN DE89 3704 0044 0532 0130 00",
		"DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000",
		"GB82WEST12345698765432",
		"NL91ABNA0417164300",
		"FR1420041010050500013M02606",
		"AT611904300234573201",
		"CH9300762011623852957",
		"BE68539007547034",
		"NO9386011117947",
		"MT84MALT011000012345MTLCAST001S",
		"IT60X0542811101000000123456",
		"ES9121000418450200051332",
		"PL61109010140000071219812874",
	}
	for _, s := range valid {
		if err := ValidIBAN(s); err != nil {
			t.Errorf("ValidIBAN(%q) = %v, want nil", s, err)
		}
	}
	// GB with digits where the registry wants a bank code of letters,
	// with correct check digits so only the structure check can catch it.
	gbDigits := "GB" + IBANCheckDigits("GB", "123412345698765432") + "123412345698765432"
	invalid := []struct{ in, want string }{
		{"", "too short"},
		{"DE8", "too short"},
		{"DE89370400440532013001", "check digits do not match"},
		{"DE88370400440532013000", "check digits do not match"},
		{"DE8937040044053201300", "length 21, want 22 for DE"},
		{"DE893704004405320130000", "length 23, want 22 for DE"},
		{"XX89370400440532013000", "unknown country code XX"},
		{"1289370400440532013000", "two-letter country code"},
		{"DEAB370400440532013000", "check digits (positions 3-4) must be digits"},
		{"DE89370400440532O13000", "character 17 must be a digit for DE"},
		{gbDigits, "character 5 must be a letter for GB"},
		{"DE89-3704-0044-0532-0130-00", "length"},
		{"DE89370400440532013000ü", "length"},
	}
	for _, tc := range invalid {
		err := ValidIBAN(tc.in)
		if err == nil || !errors.Is(err, ErrInvalidIBAN) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidIBAN(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
		if err != nil && len(tc.in) > 8 && strings.Contains(err.Error(), NormalizeIBAN(tc.in)) {
			t.Errorf("ValidIBAN(%q): error %q repeats the IBAN", tc.in, err)
		}
	}
}

func TestIBANHelpers(t *testing.T) {
	t.Parallel()
	if got := IBANCheckDigits("DE", "370400440532013000"); got != "89" {
		t.Errorf("IBANCheckDigits = %q, want 89", got)
	}
	if got := IBANCheckDigits("DE", "3704-0044"); got != "" {
		t.Errorf("IBANCheckDigits(bad) = %q, want empty", got)
	}
	if got := FormatIBAN("de89370400440532013000"); got != "DE89 3704 0044 0532 0130 00" {
		t.Errorf("FormatIBAN = %q", got)
	}
	if got := FormatIBAN(""); got != "" {
		t.Errorf("FormatIBAN(\"\") = %q", got)
	}
	if got := NormalizeIBAN("DE89370400440532013000"); got != "DE89370400440532013000" {
		t.Errorf("NormalizeIBAN = %q", got)
	}
	if n, ok := IBANLength("DE"); !ok || n != 22 {
		t.Errorf("IBANLength(DE) = %d, %v", n, ok)
	}
	if _, ok := IBANLength("US"); ok {
		t.Error("IBANLength(US) reported a length")
	}
	if n := len(ibanCountries); n != 124 {
		t.Errorf("registry has %d countries, want 124", n)
	}
}

func TestIsSEPACountry(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"DE", "AT", "FR", "CH", "GB", "NO", "SM", "VA", "MC", "GI", "AX", "GF", "RE", "AL", "ME", "MD", "MK"} {
		if !IsSEPACountry(cc) {
			t.Errorf("IsSEPACountry(%s) = false", cc)
		}
	}
	for _, cc := range []string{"US", "TR", "AE", "NC", "PF", "de", "", "D", "DEU", "XK", "RS"} {
		if IsSEPACountry(cc) {
			t.Errorf("IsSEPACountry(%q) = true", cc)
		}
	}
}

func TestIsCountry(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"DE", "US", "XK", "AQ", "ZW"} {
		if !IsCountry(cc) {
			t.Errorf("IsCountry(%s) = false", cc)
		}
	}
	for _, cc := range []string{"DD", "YU", "UK", "EU", "ZZ", "AA", "de", "", "D1"} {
		if IsCountry(cc) {
			t.Errorf("IsCountry(%q) = true", cc)
		}
	}
	if n := len(strings.Fields(isoCountries)); n != 250 {
		t.Errorf("isoCountries has %d codes, want 249 + XK", n)
	}
}

// TestRegistryUpToDate fails when iban_registry.go differs from what
// `go generate` produces from the committed CSV.
func TestRegistryUpToDate(t *testing.T) {
	t.Parallel()
	const csvPath = "testdata/iban_registry_ibantools-4.5.4.csv"
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := registrygen.Generate(f, csvPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("iban_registry.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("iban_registry.go is stale: run `go generate ./plugins/sdk/banking`")
	}
}

func TestRegistryGenRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"a,b,c,d\n",
		"country,iban_length,sepa,bban_regexp\nDE,22,1,^[0-9]{17}$\n",
		"country,iban_length,sepa,bban_regexp\nDE,22,2,^[0-9]{18}$\n",
		"country,iban_length,sepa,bban_regexp\nDE,22,1,^[a-z]{18}$\n",
		"country,iban_length,sepa,bban_regexp\nDE,22,1,^[0-9]+$\n",
		"country,iban_length,sepa,bban_regexp\nDE,22,1,^[0-9]{18}$\nDE,22,1,^[0-9]{18}$\n",
	} {
		if _, err := registrygen.Generate(strings.NewReader(in), "x.csv"); err == nil {
			t.Errorf("Generate(%q) succeeded", in)
		}
	}
}

func FuzzValidIBAN(f *testing.F) {
	for _, s := range []string{"DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "", "IBAN", "XX00", "MT84MALT011000012345MTLCAST001S", "de89\u00a0", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidIBAN(s)
		if err != nil && !errors.Is(err, ErrInvalidIBAN) {
			t.Fatalf("error %v does not wrap ErrInvalidIBAN", err)
		}
		if err == nil {
			n := NormalizeIBAN(s)
			if ValidIBAN(FormatIBAN(s)) != nil {
				t.Fatalf("formatted valid IBAN %q no longer valid", FormatIBAN(s))
			}
			if IBANCheckDigits(n[:2], n[4:]) != n[2:4] {
				t.Fatalf("IBANCheckDigits disagrees for %q", n)
			}
		}
	})
}

func BenchmarkValidIBAN(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if ValidIBAN("DE89370400440532013000") != nil {
			b.Fatal("invalid")
		}
	}
}
