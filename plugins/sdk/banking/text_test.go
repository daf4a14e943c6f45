package banking

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCharsetCheck(t *testing.T) {
	t.Parallel()
	if err := CheckSEPAText("Rechnung 2026-07 (Teil 1) a/b?:.,'+"); err != nil {
		t.Errorf("CheckSEPAText(valid) = %v", err)
	}
	if err := CheckSEPAText(""); err != nil {
		t.Errorf("CheckSEPAText(\"\") = %v", err)
	}
	for _, tc := range []struct {
		in   string
		cs   Charset
		r    rune
		pos  int
		text string
	}{
		{"Zahlung für Müller", CharsetEPC, 'ü', 10, `character 'ü' (U+00FC) at position 10 is not in the epc character set`},
		{"A & B", CharsetEPC, '&', 3, "position 3"},
		{"A_B", CharsetDK, '_', 2, "dk character set"},
		{"Müller & Söhne 10% *$ ok€", CharsetDK, '€', 25, "U+20AC"},
		{"ab\xffc", CharsetEPC, utf8.RuneError, 3, "U+FFFD"},
		{"a\nb", CharsetEPC, '\n', 2, "position 2"},
	} {
		err := tc.cs.Check(tc.in)
		var te *TextError
		if !errors.As(err, &te) || te.Rune != tc.r || te.Pos != tc.pos || !errors.Is(err, ErrInvalidSEPAText) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%v.Check(%q) = %v, want rune %q at %d containing %q", tc.cs, tc.in, err, tc.r, tc.pos, tc.text)
		}
	}
	if err := CharsetDK.Check("Müller & Söhne 10% *$ Straße ÄÖÜ"); err != nil {
		t.Errorf("CharsetDK.Check = %v", err)
	}
}

func TestParseCharset(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Charset{"epc": CharsetEPC, "EPC-strict": CharsetEPC, "dk": CharsetDK, "dk-extended": CharsetDK} {
		if got, err := ParseCharset(in); err != nil || got != want {
			t.Errorf("ParseCharset(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseCharset("latin1"); err == nil || !strings.Contains(err.Error(), `unknown sepa charset "latin1"`) {
		t.Errorf("ParseCharset(latin1) = %v", err)
	}
	var zero Charset
	if zero != CharsetEPC || zero.String() != "epc" || CharsetDK.String() != "dk" {
		t.Error("Charset zero value / String wrong")
	}
}

func TestTransliterate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Rechnung 12/2026", "Rechnung 12/2026"},
		{"Müller", "Mueller"},
		{"Müller & Söhne GmbH", "Mueller + Soehne GmbH"},
		{"Ärzte Öl Übung Straße", "Aerzte Oel Uebung Strasse"},
		{"STRAẞE", "STRASSE"},
		{"Mu\u0308ller", "Mueller"}, // decomposed umlaut
		{"Café Ångström", "Cafe Angstroem"},
		{"François Garçon", "Francois Garcon"},
		{"Søren Kierkegård", "Soren Kierkegard"},
		{"Łódź", "Lodz"},
		{"Dvořák Škoda Žižek", "Dvorak Skoda Zizek"},
		{"Æsir Œuvre", "AEsir OEuvre"},
		{"İstanbul ığdır", "Istanbul igdir"},
		{"Þór Guðmundsson", "THor Gudmundsson"},
		{"„Zitat“ ‚x‘ «y» \"z\"", "'Zitat' 'x' 'y' 'z'"},
		{"a_b~c", "a-b-c"},
		{"info@example.org", "info(at)example.org"},
		{"100 €", "100 E"},
		{"Zeile 1\r\nZeile 2\nZeile 3\tEnde", "Zeile 1 Zeile 2 Zeile 3 Ende"},
		{"Soft\u00adhyphen\u200bzero\ufeff", "Softhyphenzero"},
		{"ﬁnanz Ａbc x²", "finanz Abc x2"},
		{"½ Preis", "1/2 Preis"},
		{"Nr. #12!", "Nr. .12."},
		{"Москва", "......"},
		{"日本", ".."},
		{"a\xffb", "a.b"},
		{"10 % * $", "10 . . ."},
		{"a\x00b\x7f", "ab"},
		{"<x> [y] {z} a|b c\\d e;f", "(x) (y) (z) a/b c/d e,f"},
		{"Bis–Von — x … y", "Bis-Von - x ... y"},
	} {
		got := Transliterate(tc.in)
		if got != tc.want {
			t.Errorf("Transliterate(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := CheckSEPAText(got); err != nil {
			t.Errorf("Transliterate(%q) = %q fails check: %v", tc.in, got, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"Müller & Söhne 10% *$", "Müller & Söhne 10% *$"},
		{"STRAẞE Café", "STRASSE Cafe"},
		{"Mu\u0308ller", "Müller"},
		{"a_b@c", "a-b(at)c"},
	} {
		got := CharsetDK.Transliterate(tc.in)
		if got != tc.want {
			t.Errorf("CharsetDK.Transliterate(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := CharsetDK.Check(got); err != nil {
			t.Errorf("CharsetDK.Transliterate(%q) fails check: %v", tc.in, err)
		}
	}
}

func TestTranslitTableIsLegal(t *testing.T) {
	t.Parallel()
	for r, s := range translit {
		if s == "" || CheckSEPAText(s) != nil {
			t.Errorf("translit[%q] = %q is not EPC text", r, s)
		}
		if CharsetEPC.Allowed(r) {
			t.Errorf("translit maps allowed character %q", r)
		}
	}
}

func TestTransliterateDoesNotAllocateForValidText(t *testing.T) {
	s := "Rechnung 2026-07 (Teil 1)"
	if n := testing.AllocsPerRun(100, func() { _ = Transliterate(s) }); n != 0 {
		t.Errorf("Transliterate(valid) allocates %v times", n)
	}
}

func TestValidSEPAID(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"A", "MSG-2026-11-23/001", "E2E 1 (x).,'+?:", strings.Repeat("x", 35), "a/b"} {
		if err := ValidSEPAID(s); err != nil {
			t.Errorf("ValidSEPAID(%q) = %v", s, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{strings.Repeat("x", 36), "36 characters, at most 35"},
		{"ABC_123", `character '_' at position 4`},
		{"Müller", `character 'ü' at position 2`},
		{"A|B", `'|'`},
		{"/abc", "start or end with '/'"},
		{"abc/", "start or end with '/'"},
		{"a//b", `"//"`},
	} {
		err := ValidSEPAID(tc.in)
		if err == nil || !errors.Is(err, ErrInvalidSEPAID) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidSEPAID(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzTransliterate(f *testing.F) {
	for _, s := range []string{"Müller & Söhne", "Straße\r\n", "Москва", "a\xffb", "e\u0301", "\u0301", "ﬁ½²", "@€_~", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, cs := range []Charset{CharsetEPC, CharsetDK} {
			got := cs.Transliterate(s)
			if err := cs.Check(got); err != nil {
				t.Fatalf("%v.Transliterate(%q) = %q: %v", cs, s, got, err)
			}
			if cs.Check(s) == nil && got != s {
				t.Fatalf("%v.Transliterate changed valid text %q to %q", cs, s, got)
			}
		}
		_ = ValidSEPAID(s)
	})
}

func BenchmarkTransliterate(b *testing.B) {
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Transliterate("Rechnung 2026-07 Abo 123456 Theater")
		}
	})
	b.Run("umlauts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Transliterate("Müller & Söhne GmbH, Straße 1, Zahlung für Oktober")
		}
	})
}
