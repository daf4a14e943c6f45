package fibu

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Example_xml writes two settlement bookings with fibu.xml: nested elements, an attribute,
// a constant, escaping, and a summary element with count and control sum after the records.
func Example_xml() {
	cfg, _ := sdk.ParseConfig(xmlSpec, `
root: {name: Abrechnung, attributes: {version: "1.0"}}
record: Buchung
mapping:
  - {path: "@id", field: id, required: true}
  - {path: Betrag, field: betrag, type: decimal, required: true}
  - {path: Betrag/@waehrung, const: EUR}
  - {path: Konto/Soll, field: konto}
  - {path: Text, field: text}
summary:
  element: Summen
  fields:
    - {path: Anzahl, value: count}
    - {path: Summe, value: sum, field: betrag}
`)
	enc, err := newXMLEncoder(context.Background(), cfg, sdk.Env{Step: "fibu.xml", Now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	sink, _ := enc.Create(context.Background(), sdk.Output{Name: "abrechnung.xml", W: &out})
	sc := record.MustSchema(record.Field{Name: "id"}, record.Field{Name: "betrag", Kind: record.KindDecimal}, record.Field{Name: "konto"}, record.Field{Name: "text"})
	r1 := record.Record{Schema: sc, Values: []record.Value{record.String("V-1"), record.Dec(record.MustDecimal("1234.5")), record.String("1200"), record.String("Oper & Ballett")}}
	r2 := record.Record{Schema: sc, Values: []record.Value{record.String("V-2"), record.Dec(record.MustDecimal("10")), record.Null, record.Null}}
	rej, _ := sink.Write(context.Background(), &record.Batch{Records: []record.Record{r1, r2}})
	_ = sink.Close(context.Background())
	fmt.Print(out.String())
	fmt.Println(len(rej), "rejected")
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <Abrechnung version="1.0">
	//   <Buchung id="V-1">
	//     <Betrag waehrung="EUR">1234.50</Betrag>
	//     <Konto>
	//       <Soll>1200</Soll>
	//     </Konto>
	//     <Text>Oper &amp; Ballett</Text>
	//   </Buchung>
	//   <Buchung id="V-2">
	//     <Betrag waehrung="EUR">10.00</Betrag>
	//   </Buchung>
	//   <Summen>
	//     <Anzahl>2</Anzahl>
	//     <Summe>1244.50</Summe>
	//   </Summen>
	// </Abrechnung>
	// 0 rejected
}
