package banking_test

import (
	"fmt"

	"github.com/kontor-etl/kontor/plugins/sdk/banking"
)

func Example() {
	fmt.Println(banking.ValidIBAN("DE89 3704 0044 0532 0130 00"))
	fmt.Println(banking.ValidIBAN("DE89 3704 0044 0532 0130 01"))
	fmt.Println(banking.FormatIBAN("de89370400440532013000"))
	fmt.Println(banking.ValidBIC("COBADEFFXXX"))
	fmt.Println(banking.ValidCreditorID("DE98ZZZ09999999999"))
	fmt.Println(banking.Transliterate("Müller & Söhne, Straße 1"))
	fmt.Println(banking.CheckSEPAText("Zahlung für Oktober"))
	fmt.Println(banking.ValidSEPAID("ABO-2026/0001"))
	// Output:
	// <nil>
	// invalid iban: check digits do not match
	// DE89 3704 0044 0532 0130 00
	// <nil>
	// <nil>
	// Mueller + Soehne, Strasse 1
	// invalid sepa text: character 'ü' (U+00FC) at position 10 is not in the epc character set
	// <nil>
}
