package banking

// nonEEASEPA lists the SEPA countries and territories outside the EEA
// (EPC409-09), by IBAN country code, with the name used in messages. For
// them the SDD rulebook makes the debtor's and the creditor's address
// mandatory (AT-P005 / GBIC_5 annotation), and the transfer-of-funds rules
// the payer's and payee's address. Guernsey, Jersey and the Isle of Man
// have no IBAN country code of their own (they use GB IBANs). The French
// overseas territories and Åland count as EEA (France / Finland). Every
// entry is a SEPA country of the registry (IsSEPACountry; tested).
var nonEEASEPA = map[string]string{
	"AD": "Andorra", "AL": "Albania", "CH": "Switzerland", "GB": "the United Kingdom (incl. Guernsey, Jersey, Isle of Man)",
	"GI": "Gibraltar", "MC": "Monaco", "MD": "Moldova", "ME": "Montenegro", "MK": "North Macedonia",
	"SM": "San Marino", "VA": "Vatican City",
}

// NonEEASEPACountry reports whether the IBAN country code cc (upper case)
// is a SEPA country outside the EEA, and its name for messages
// ("Switzerland"). EEA members and non-SEPA countries give "", false.
func NonEEASEPACountry(cc string) (name string, ok bool) {
	name, ok = nonEEASEPA[cc]
	return name, ok
}
