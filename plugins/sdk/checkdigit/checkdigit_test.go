package checkdigit

import (
	"errors"
	"testing"
)

func mustParse(t *testing.T, c MethodConfig) Method {
	t.Helper()
	m, err := Parse(c)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", c, err)
	}
	return m
}

func TestKnownValues(t *testing.T) {
	f := false
	tests := []struct {
		name    string
		cfg     MethodConfig
		payload string
		want    string
	}{
		// Musikschul-Manager "Verfahren 2" (domain notes §3.3).
		{"luhn musikschul", MethodConfig{Method: "luhn"}, "0701172", "9"},
		// Bundesbank method 00 test numbers (payload = all but last digit).
		{"luhn bundesbank 9290701", MethodConfig{Method: "luhn"}, "929070", "1"},
		{"luhn bundesbank 539290858", MethodConfig{Method: "luhn"}, "53929085", "8"},
		{"luhn bundesbank 1501824", MethodConfig{Method: "luhn"}, "150182", "4"},
		{"luhn bundesbank 1501832", MethodConfig{Method: "luhn"}, "150183", "2"},
		{"luhn classic", MethodConfig{Method: "luhn"}, "7992739871", "3"},
		// Musikschul-Manager "Verfahren 1": sum 55 → 11 → 0.
		{"mod11 musikschul", MethodConfig{Method: "mod11"}, "01015500001", "0"},
		{"mod11 result 11 mapped", MethodConfig{Method: "mod11", Map11: "9"}, "01015500001", "9"},
		// 0-1-2: "1" → 1*2=2 → 11-2 = 9.
		{"mod11 simple", MethodConfig{Method: "mod11"}, "1", "9"},
		// "5" → 10 → 11-10 = 1; "6" → 12 mod 11 = 1 → 10 → map10.
		{"mod11 result 10 X", MethodConfig{Method: "mod11", Map10: "X"}, "6", "X"},
		{"mod11 result 10 default 0", MethodConfig{Method: "mod11"}, "6", "0"},
		// ISBN-10 is mod 11 with weights 1..9 from the left as remainder: 0-306-40615-2.
		{"weighted isbn10", MethodConfig{Method: "weighted", Weights: []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, Direction: "left", Modulus: 11, Remainder: true, Map10: "X", Cyclic: &f}, "030640615", "2"},
		// Musikschul-Manager "Verfahren 3": weights 1,2 from the left with cross sums = Luhn
		// when the length is odd.
		{"weighted verfahren3", MethodConfig{Method: "weighted", Weights: []int{2, 1}, Direction: "left", Modulus: 10, DigitSum: true}, "0701172", "9"},
		// EAN-13 (weights 1,3 from the left, mod 10): 400638133393 → 1.
		{"weighted ean13", MethodConfig{Method: "weighted", Weights: []int{1, 3}, Direction: "left", Modulus: 10}, "400638133393", "1"},
		{"none", MethodConfig{Method: "none"}, "123", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.cfg)
			got, err := m.Compute(tc.payload)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Compute(%q) = %q, want %q", tc.payload, got, tc.want)
			}
			if err := m.Validate(tc.payload + got); err != nil {
				t.Fatalf("Validate(%q): %v", tc.payload+got, err)
			}
			if m.Len() != len(got) {
				t.Fatalf("Len() = %d, check %q", m.Len(), got)
			}
		})
	}
}

func TestValidateMismatch(t *testing.T) {
	m := Luhn()
	err := m.Validate("07011728")
	var me *MismatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) {
		t.Fatalf("want MismatchError, got %v", err)
	}
	if me.Want != "9" || me.Got != "8" || me.Method != "luhn" {
		t.Fatalf("mismatch details: %+v", me)
	}
	if got := err.Error(); got != `check digit mismatch (luhn): got "8", want "9"` {
		t.Fatalf("message: %s", got)
	}
	m11, _ := Mod11(nil, "", "")
	if err := m11.Validate("010155000011"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("mod11: want mismatch, got %v", err)
	}
}

func TestErrors(t *testing.T) {
	rej, err := Mod11(nil, Reject, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rej.Compute("6"); !errors.Is(err, ErrNoCheckDigit) {
		t.Fatalf("want ErrNoCheckDigit, got %v", err)
	}
	if _, err := Luhn().Compute(""); !errors.Is(err, ErrEmpty) {
		t.Fatalf("want ErrEmpty, got %v", err)
	}
	if _, err := Luhn().Compute("12a4"); !errors.Is(err, ErrNotDigits) || err.Error() != `position 3: not a digit: 'a'` {
		t.Fatalf("want ErrNotDigits at position 3, got %v", err)
	}
	if err := None().Validate("12.3"); !errors.Is(err, ErrNotDigits) {
		t.Fatalf("none: want ErrNotDigits, got %v", err)
	}
	if err := Luhn().Validate("7"); err == nil {
		t.Fatal("one digit must be too short")
	}
	f := false
	nc := mustParse(t, MethodConfig{Method: "weighted", Weights: []int{1, 2}, Cyclic: &f})
	if _, err := nc.Compute("123"); err == nil {
		t.Fatal("non-cyclic table shorter than payload must fail")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []MethodConfig{
		{Method: "sha1"},
		{Method: "weighted"},
		{Method: "weighted", Weights: []int{1}, Modulus: 1},
		{Method: "weighted", Weights: []int{1}, Modulus: 12},
		{Method: "mod11", Weights: []int{-1}},
		{Method: "mod11", Map10: "10"},
		{Method: "mod11", Direction: "up"},
	} {
		if _, err := Parse(c); !errors.Is(err, ErrConfig) {
			t.Errorf("Parse(%+v): want ErrConfig, got %v", c, err)
		}
	}
}

func TestNames(t *testing.T) {
	for cfg, want := range map[string]string{
		"luhn":  "luhn",
		"mod11": "mod11(2,3,4,5,6,7;10=0;11=0)",
		"none":  "none",
	} {
		if got := mustParse(t, MethodConfig{Method: cfg}).Name(); got != want {
			t.Errorf("%s: Name() = %q, want %q", cfg, got, want)
		}
	}
}

func TestStrip(t *testing.T) {
	if got := Strip("8.8057.0000.0001-3"); got != "88057000000013" {
		t.Fatal(got)
	}
	if got := Strip("123"); got != "123" {
		t.Fatal(got)
	}
}

func FuzzMethods(f *testing.F) {
	for _, s := range []string{"0701172", "01015500001", "", "a", "99999999999999999", "0"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, pick uint8) {
		cfgs := []MethodConfig{
			{Method: "none"}, {Method: "luhn"}, {Method: "mod11"}, {Method: "mod11", Map10: Reject, Map11: Reject},
			{Method: "weighted", Weights: []int{1, 3}, Direction: "left"},
			{Method: "weighted", Weights: []int{9, 0, 99}, Modulus: 11, DigitSum: true, Remainder: true},
		}
		m, err := Parse(cfgs[int(pick)%len(cfgs)])
		if err != nil {
			t.Fatal(err)
		}
		c, err := m.Compute(s)
		_ = m.Validate(s)
		if err == nil {
			if verr := m.Validate(s + c); verr != nil && m.Len() > 0 {
				t.Fatalf("%s: Compute(%q)=%q but Validate fails: %v", m.Name(), s, c, verr)
			}
		}
	})
}

func BenchmarkLuhn(b *testing.B) {
	m := Luhn()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Compute("880570000000123"); err != nil {
			b.Fatal(err)
		}
	}
}
