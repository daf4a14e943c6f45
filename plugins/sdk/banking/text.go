package banking

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Charset is a policy for the characters allowed in SEPA text fields
// (names, remittance information, address lines). The zero value is
// CharsetEPC.
type Charset uint8

const (
	// CharsetEPC is the EPC basic Latin set every SEPA bank must accept:
	// a-z A-Z 0-9 / - ? : ( ) . , ' + and space. It is the default and the
	// safe choice for files sent to any bank.
	CharsetEPC Charset = iota
	// CharsetDK is CharsetEPC plus the characters German banks committed
	// to accept (DK, former DTAUS set): Ä Ö Ü ä ö ü ß & * $ %. Banks may
	// still convert them (Ä→A or AE), so use it only when the receiving
	// bank confirmed it.
	CharsetDK
)

// ParseCharset parses "epc" (also "epc-strict") or "dk" (also
// "dk-extended"); anything else is an error.
func ParseCharset(s string) (Charset, error) {
	switch strings.ToLower(s) {
	case "epc", "epc-strict", "epc_strict":
		return CharsetEPC, nil
	case "dk", "dk-extended", "dk_extended":
		return CharsetDK, nil
	}
	return 0, fmt.Errorf("unknown sepa charset %q (want epc or dk)", s)
}

// String returns "epc" or "dk".
func (c Charset) String() string {
	if c == CharsetDK {
		return "dk"
	}
	return "epc"
}

var epcASCII = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "/-?:().,'+ " {
		t[c] = true
	}
	return t
}()

// Allowed reports whether r is in the character set.
func (c Charset) Allowed(r rune) bool {
	if r < utf8.RuneSelf {
		if epcASCII[r] {
			return true
		}
		return c == CharsetDK && (r == '&' || r == '*' || r == '$' || r == '%')
	}
	if c == CharsetDK {
		switch r {
		case 'Ä', 'Ö', 'Ü', 'ä', 'ö', 'ü', 'ß':
			return true
		}
	}
	return false
}

// TextError reports the first character of a text that is not in a
// Charset. It wraps ErrInvalidSEPAText.
type TextError struct {
	Rune    rune    // the offending character (utf8.RuneError for invalid UTF-8)
	Pos     int     // 1-based character (not byte) position
	Charset Charset // the set checked against
}

func (e *TextError) Error() string {
	return fmt.Sprintf("%v: character %q (U+%04X) at position %d is not in the %s character set",
		ErrInvalidSEPAText, e.Rune, e.Rune, e.Pos, e.Charset)
}

// Unwrap returns ErrInvalidSEPAText.
func (e *TextError) Unwrap() error { return ErrInvalidSEPAText }

// Check returns nil if every character of s is in the set, otherwise a
// *TextError naming the first offending character and its 1-based
// character position. Invalid UTF-8 is reported as U+FFFD.
func (c Charset) Check(s string) error {
	pos := 0
	for _, r := range s {
		pos++
		if !c.Allowed(r) {
			return &TextError{Rune: r, Pos: pos, Charset: c}
		}
	}
	return nil
}

// CheckSEPAText is CharsetEPC.Check.
func CheckSEPAText(s string) error { return CharsetEPC.Check(s) }

// Transliterate is CharsetEPC.Transliterate.
func Transliterate(s string) string { return CharsetEPC.Transliterate(s) }

// translit maps characters outside the EPC set that need more than
// dropping accents. Values contain only EPC characters.
var translit = map[rune]string{
	// German (DK "Alternativ auch zulässig": digraphs keep names readable).
	'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue", 'ä': "ae", 'ö': "oe", 'ü': "ue",
	'ß': "ss", 'ẞ': "SS",
	// Latin letters without a canonical decomposition.
	'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe", 'Ĳ': "IJ", 'ĳ': "ij",
	'Ø': "O", 'ø': "o", 'Đ': "D", 'đ': "d", 'Ð': "D", 'ð': "d",
	'Þ': "TH", 'þ': "th", 'Ł': "L", 'ł': "l", 'ı': "i", 'Ħ': "H",
	'ħ': "h", 'ĸ': "k", 'Ŀ': "L", 'ŀ': "l", 'Ŋ': "N", 'ŋ': "n",
	'Ŧ': "T", 'ŧ': "t", 'ſ': "s", 'ƒ': "f", 'Ɓ': "B", 'ɓ': "b",
	'Ƈ': "C", 'ƈ': "c", 'Ɗ': "D", 'ɗ': "d", 'Ƙ': "K", 'ƙ': "k",
	'Ƥ': "P", 'ƥ': "p", 'Ƭ': "T", 'ƭ': "t", 'Ʋ': "V", 'ʋ': "v",
	'Ƴ': "Y", 'ƴ': "y", 'Ƶ': "Z", 'ƶ': "z", 'Ə': "E", 'ə': "e",
	// Symbols (EPC217-08 §6.2 and common practice).
	'&': "+", '_': "-", '~': "-", '@': "(at)", '€': "E",
	'"': "'", '`': "'", '´': "'", '‘': "'", '’': "'", '‚': "'", '‛': "'",
	'“': "'", '”': "'", '„': "'", '‟': "'", '«': "'", '»': "'", '‹': "'", '›': "'",
	'′': "'", '″': "'",
	'<': "(", '>': ")", '[': "(", ']': ")", '{': "(", '}': ")",
	'‐': "-", '‑': "-", '‒': "-", '–': "-", '—': "-", '―': "-", '−': "-",
	'\\': "/", '|': "/", '⁄': "/", '∕': "/",
	';': ",", '·': ".", '•': ".", '…': "...",
	'×': "x", '÷': ":",
}

// valid reports whether every character of s is allowed, without allocating.
func (c Charset) valid(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			for _, r := range s[i:] {
				if !c.Allowed(r) {
					return false
				}
			}
			return true
		}
		if !epcASCII[s[i]] && !c.Allowed(rune(s[i])) {
			return false
		}
	}
	return true
}

// Transliterate converts s into the character set so that Check(result)
// is always nil. Characters already allowed are kept, so valid text is
// returned unchanged (without allocating). Otherwise, after NFC
// normalisation:
//   - German umlauts and ß become digraphs (Müller → Mueller, Straße →
//     Strasse; ẞ → SS), ligatures expand (Æ → AE, Œ → OE) and other Latin
//     letters lose their accents (é → e, ç → c, å → a, ø → o, ł → l);
//   - & → +, _ and ~ → -, @ → (at), € → E, typographic quotes → ',
//     brackets → ( ), dashes → -, ; → ,;
//   - compatibility forms are folded (ﬁ → fi, full-width Ａ → A, ² → 2);
//   - line breaks, tabs and other white space become one space each (CR
//     LF counts as one); invisible format characters (soft hyphen,
//     zero-width space, BOM) and other control characters are removed;
//   - every other character (Greek, Cyrillic, CJK, emoji, '#', '!', '*',
//     invalid UTF-8, ...) becomes '.', so the text keeps its length in
//     characters and a reader sees that something was there.
//
// With CharsetDK, Ä Ö Ü ä ö ü ß & * $ % are kept. The result can be longer
// than s (Müller → Mueller): check field lengths after transliterating.
func (c Charset) Transliterate(s string) string {
	if c.valid(s) {
		return s
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	prevCR := false
	for _, r := range s {
		wasCR := prevCR
		prevCR = r == '\r'
		switch {
		case c.Allowed(r):
			b.WriteRune(r)
		case r == '\n' && wasCR:
			// CR LF: the CR already gave a space.
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Cf, r), unicode.IsControl(r):
			// drop combining marks left over after NFC, invisibles, controls
		default:
			if t, ok := translit[r]; ok {
				b.WriteString(t)
				continue
			}
			writeFolded(&b, r, c)
		}
	}
	return b.String()
}

// writeFolded writes the NFKD decomposition of r without combining marks,
// mapping each remaining character through the table or to '.'.
func writeFolded(b *strings.Builder, r rune, c Charset) {
	if r == utf8.RuneError {
		b.WriteByte('.')
		return
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	dec := norm.NFKD.Bytes(buf[:n])
	wrote := false
	for _, q := range string(dec) {
		switch {
		case unicode.Is(unicode.Mn, q):
			continue
		case c.Allowed(q):
			b.WriteRune(q)
		case q == ' ' || unicode.IsSpace(q):
			b.WriteByte(' ')
		default:
			if t, ok := translit[q]; ok {
				b.WriteString(t)
			} else {
				b.WriteByte('.')
			}
		}
		wrote = true
	}
	if !wrote {
		b.WriteByte('.')
	}
}

// ValidSEPAID checks an identifier field of a SEPA message (MsgId,
// PmtInfId, InstrId, EndToEndId, MndtId): 1 to 35 characters of
// A-Z a-z 0-9 + ? / - : ( ) . , ' and space (GBIC_5 RestrictedIdentificationSEPA1),
// not starting or ending with '/' and without "//" (EPC rule). It returns
// nil or an error wrapping ErrInvalidSEPAID.
func ValidSEPAID(s string) error {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidSEPAID)
	}
	if n > 35 {
		return fmt.Errorf("%w: %d characters, at most 35 allowed", ErrInvalidSEPAID, n)
	}
	pos := 0
	for _, r := range s {
		pos++
		if !CharsetEPC.Allowed(r) {
			return fmt.Errorf("%w: character %q at position %d is not allowed", ErrInvalidSEPAID, r, pos)
		}
	}
	if s[0] == '/' || s[len(s)-1] == '/' {
		return fmt.Errorf("%w: must not start or end with '/'", ErrInvalidSEPAID)
	}
	if strings.Contains(s, "//") {
		return fmt.Errorf("%w: must not contain \"//\"", ErrInvalidSEPAID)
	}
	return nil
}
