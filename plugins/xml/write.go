package xml

import (
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/xmlout"
)

// Config is the configuration of xml.write; see xmlout.Spec for every key,
// its default and its invalid values.
type Config = xmlout.Config

// Writer returns the xml.write sink component.
func Writer() sdk.Component {
	return sdk.Component{
		Name: "write", Kind: sdk.KindSink, IO: sdk.IOFile,
		Summary: "Writes records as XML with a configurable element layout.",
		Description: "Writes one element per record inside a root element. The mapping lists element paths and attributes " +
			"relative to the record element (`Termin/Datum`, `@id`, `Preis/@waehrung`) filled from record fields or constants, " +
			"in document order; decimals use the configured separator and scale (a value with more places rejects the record " +
			"instead of being rounded), dates the configured pattern, datetimes a Go layout. The output is streamed, always " +
			"well-formed and escaped; characters XML 1.0 or the encoding cannot hold and missing required values reject the " +
			"record naming the field, and a mapped field the records do not have fails the run with a did-you-mean. An optional " +
			"summary element carries the run date, the record count and control sums, after the last record or (position: " +
			"start) before the first one. The same writer serves fibu.xml.",
		Spec: xmlout.Spec,
		Examples: []string{`type: xml.write
path: out/events-{date}.xml
root:
  name: Veranstaltungen
  attributes: {version: "1.0"}
record: Veranstaltung
mapping:
  - {path: "@id", field: event_id, required: true}
  - {path: Titel, field: title, required: true}
  - {path: Termin/Datum, field: date, type: date, required: true}
  - {path: Termin/Beginn, field: time}
  - {path: Ort, field: venue}
  - {path: Preis, field: price_from, type: decimal}
  - {path: Preis/@waehrung, const: EUR}
summary:
  element: Export
  position: start
  fields:
    - {path: "@erstellt", value: run_datetime}
    - {path: "@anzahl", value: count}
`},
		NewEncoder: xmlout.NewEncoder,
	}
}
