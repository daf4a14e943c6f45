package fibu

import (
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/xmlout"
)

// The XML layout writer lives in plugins/sdk/xmlout, shared with the generic
// xml.write sink; fibu.xml is the same writer under the settlement name. The
// aliases keep fibu's exported configuration types.
type (
	// XMLConfig is the configuration of the fibu.xml sink (see xmlout.Spec).
	XMLConfig = xmlout.Config
	// XMLRoot is the root element (name, attributes, namespaces).
	XMLRoot = xmlout.Root
	// XMLMapping fills one element or attribute of each record element.
	XMLMapping = xmlout.Mapping
	// XMLSummary is the optional summary element.
	XMLSummary = xmlout.Summary
	// XMLSummaryField is one element or attribute of the summary element.
	XMLSummaryField = xmlout.SummaryField
)

var (
	xmlSpec       = xmlout.Spec
	newXMLEncoder = xmlout.NewEncoder
)

// XMLWriter returns the fibu.xml sink component.
func XMLWriter() sdk.Component {
	return sdk.Component{
		Name: "xml", Kind: sdk.KindSink, IO: sdk.IOFile,
		Summary: "Writes settlement bookings as XML with a configurable element layout.",
		Description: "Writes one element per record inside a root element, for finance systems that take XML instead of DATEV EXTF. " +
			"The mapping lists element paths and attributes relative to the record element (`Buchung/Betrag`, `@id`) filled from " +
			"record fields or constants; decimals use the configured separator and scale, dates the configured pattern. " +
			"The output is streamed (one record element at a time, memory does not grow with the input), always well-formed and " +
			"escaped; characters XML 1.0 does not allow (control characters) and missing required values reject the record " +
			"naming the field. An optional summary element carries the run date, the record count and control sums, either " +
			"after the last record or, with position: start, before the first one (the records then pass through a temporary file).",
		Spec: xmlSpec,
		Examples: []string{`type: fibu.xml
path: out/abrechnung-{date}.xml
root:
  name: Abrechnung
  namespaces: {"": "urn:kontor:abrechnung:1"}
record: Buchung
mapping:
  - {path: "@id", field: buchungs_id, required: true}
  - {path: Datum, field: datum, required: true}
  - {path: Betrag, field: betrag, type: decimal, required: true}
  - {path: Betrag/@waehrung, const: EUR}
  - {path: Konto/Soll, field: konto, required: true}
  - {path: Konto/Haben, field: gegenkonto, required: true}
  - {path: FiBuNummer, field: fibu_nummer}
  - {path: Text, field: text}
summary:
  element: Kopf
  position: start
  fields:
    - {path: Erstellt, value: run_date}
    - {path: Anzahl, value: count}
    - {path: Summe, value: sum, field: betrag}
`},
		NewEncoder: newXMLEncoder,
	}
}
