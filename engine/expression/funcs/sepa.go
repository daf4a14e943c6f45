package funcs

import (
	"github.com/kontor-etl/kontor/plugins/sdk/banking"
)

const gSEPA = "SEPA and banking"

func sepaFuncs() []Func {
	return []Func{
		{
			Name: "sepa_text", Group: gSEPA,
			Doc: "Transliterates s into the SEPA character set (charset \"epc\", the default, or \"dk\"): " +
				"ä→ae, ß→ss, é→e, &→+, line breaks→space, other characters→'.'; see plugins/sdk/banking.Transliterate. " +
				"The result can be longer than s, so cut it to the field length afterwards.",
			Example: `sepa_text("Müller & Söhne") == "Mueller + Soehne" && sepa_text("Müller", "dk") == "Müller"`,
			Fn:      charsetFn("sepa_text", nullToNull, func(cs banking.Charset, s string) any { return cs.Transliterate(s) }),
			Types:   []any{new(func(string) string), new(func(string, string) string)},
		},
		{
			Name: "sepa_valid", Group: gSEPA,
			Doc:     "Reports whether every character of s is in the SEPA character set (charset \"epc\", the default, or \"dk\"); false for null.",
			Example: `sepa_valid("Rechnung 2026/11") && !sepa_valid("Müller") && sepa_valid("Müller", "dk")`,
			Fn:      charsetFn("sepa_valid", nullToFalse, func(cs banking.Charset, s string) any { return cs.Check(s) == nil }),
			Types:   []any{new(func(string) bool), new(func(string, string) bool)},
		},
		{
			Name: "sepa_id_valid", Group: gSEPA,
			Doc: "Reports whether s is a valid SEPA identifier (MsgId, EndToEndId, MndtId): 1-35 characters of " +
				"A-Z a-z 0-9 + ? / - : ( ) . , ' and space, not starting or ending with '/' and without \"//\".",
			Example: `sepa_id_valid("ABO-2026/0001") && !sepa_id_valid("ABO_1")`,
			Fn:      validFn("sepa_id_valid", banking.ValidSEPAID),
			Types:   []any{new(func(string) bool)},
		},
		{
			Name: "iban_valid", Group: gSEPA,
			Doc: "Reports whether s is a valid IBAN (spaces and case ignored): known country, its length and BBAN format, " +
				"check digits mod 97; false for null.",
			Example: `iban_valid("DE89 3704 0044 0532 0130 00") && !iban_valid("DE89370400440532013001")`,
			Fn:      validFn("iban_valid", banking.ValidIBAN),
			Types:   []any{new(func(string) bool)},
		},
		{
			Name: "iban_normalize", Group: gSEPA,
			Doc:     "Returns the IBAN without white space, in upper case and without an \"IBAN\" label, as written in payment files; does not validate.",
			Example: `iban_normalize("IBAN de89 3704 0044 0532 0130 00") == "DE89370400440532013000"`,
			Fn:      unaryString("iban_normalize", banking.NormalizeIBAN),
			Types:   []any{new(func(string) string)},
		},
		{
			Name: "iban_format", Group: gSEPA,
			Doc:     "Returns the IBAN in the paper format of groups of four characters; does not validate.",
			Example: `iban_format("DE89370400440532013000") == "DE89 3704 0044 0532 0130 00"`,
			Fn:      unaryString("iban_format", banking.FormatIBAN),
			Types:   []any{new(func(string) string)},
		},
		{
			Name: "bic_valid", Group: gSEPA,
			Doc:     "Reports whether s is a valid BIC (spaces and case ignored): 8 or 11 characters A-Z/0-9 with a known ISO country code at positions 5-6.",
			Example: `bic_valid("COBADEFFXXX") && bic_valid("DEUTDEFF") && !bic_valid("DEUTXXFF")`,
			Fn:      validFn("bic_valid", banking.ValidBIC),
			Types:   []any{new(func(string) bool)},
		},
		{
			Name: "bic_normalize", Group: gSEPA,
			Doc:     "Returns the BIC without white space and in upper case; does not validate.",
			Example: `bic_normalize(" cobade ffxxx") == "COBADEFFXXX"`,
			Fn:      unaryString("bic_normalize", banking.NormalizeBIC),
			Types:   []any{new(func(string) string)},
		},
		{
			Name: "creditor_id_valid", Group: gSEPA,
			Doc: "Reports whether s is a valid SEPA creditor identifier (Gläubiger-ID): country, check digits, business code " +
				"(not checksummed) and national id; German ids have 18 characters.",
			Example: `creditor_id_valid("DE98ZZZ09999999999") && !creditor_id_valid("DE26ZZZ00000000000")`,
			Fn:      validFn("creditor_id_valid", banking.ValidCreditorID),
			Types:   []any{new(func(string) bool)},
		},
		{
			Name: "rf_reference", Group: gSEPA,
			Doc: "Returns the ISO 11649 structured creditor reference (\"RF\" + 2 check digits + ref) for a reference of " +
				"1-21 letters and digits, e.g. to print on invoices and match bank statements; other text is an error.",
			Example: `rf_reference("539007547034") == "RF18539007547034"`,
			Fn: fn1("rf_reference", nullToNull, textArg("ref"), func(ref string) (any, error) {
				rf, err := banking.RFReference(ref)
				if err != nil {
					return nil, err
				}
				return rf, nil
			}),
			Types: []any{new(func(string) string), new(func(int) string)},
		},
		{
			Name: "rf_valid", Group: gSEPA,
			Doc:     "Reports whether s is a valid ISO 11649 RF creditor reference (spaces and case ignored); false for null.",
			Example: `rf_valid("RF18 5390 0754 7034") && !rf_valid("RF19539007547034")`,
			Fn:      validFn("rf_valid", banking.ValidRFReference),
			Types:   []any{new(func(string) bool)},
		},
		{
			Name: "is_sepa_country", Group: gSEPA,
			Doc:     "Reports whether the two-letter country code (upper case) belongs to the SEPA schemes, e.g. the first two characters of an IBAN.",
			Example: `is_sepa_country("CH") && !is_sepa_country("US")`,
			Fn:      validFn("is_sepa_country", func(cc string) error { return boolErr(banking.IsSEPACountry(cc)) }),
			Types:   []any{new(func(string) bool)},
		},
	}
}

type falseError struct{}

func (falseError) Error() string { return "false" }

func boolErr(ok bool) error {
	if ok {
		return nil
	}
	return falseError{}
}

// validFn turns a validator into a predicate; null gives false.
func validFn(fn string, check func(string) error) func(args ...any) (any, error) {
	return fn1(fn, nullToFalse, strArg("s"), func(s string) (any, error) { return check(s) == nil, nil })
}

// charsetFn wraps a function of a string and an optional SEPA charset
// name ("epc", the default, or "dk").
func charsetFn(fn string, null nullRule, f func(banking.Charset, string) any) func(args ...any) (any, error) {
	return fn2(fn, null, strArg("s"), optional(charsetArg()), func(s string, cs maybe[banking.Charset]) (any, error) {
		return f(cs.or(banking.CharsetEPC), s), nil
	})
}

// charsetArg is the name of a SEPA character set.
func charsetArg() param[banking.Charset] {
	return param[banking.Charset]{name: "charset", decode: asCharset}
}

func asCharset(v any) (banking.Charset, error) {
	name, err := asString(v)
	if err != nil {
		return 0, err
	}
	return banking.ParseCharset(name)
}
