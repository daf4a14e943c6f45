package xml

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
	"github.com/kontor-etl/kontor/plugins/sdk/xmlout"
)

func events(t testing.TB) *record.Batch {
	t.Helper()
	sc := record.MustSchema(record.Field{Name: "event_id"}, record.Field{Name: "title"},
		record.Field{Name: "date", Kind: record.KindDate}, record.Field{Name: "time"}, record.Field{Name: "venue"},
		record.Field{Name: "price_from", Kind: record.KindDecimal})
	mk := func(id, title string, d record.Date, tm, venue string, price record.Value) record.Record {
		r := record.New(sc, record.Origin{File: "in/vorstellungen.csv", Line: 2})
		r.Values = []record.Value{record.String(id), record.String(title), record.DateValue(d), record.String(tm), record.String(venue), price}
		return r
	}
	return &record.Batch{Records: []record.Record{
		mk("V-1", "Die Zauberflöte", record.NewDate(2025, 10, 3), "19:30", "Großes Haus", record.Dec(record.MustDecimal("18.5"))),
		mk("V-2", "Tom & Jerry <live>", record.NewDate(2025, 10, 4), "", "Studio", record.Null),
		mk("V-3", "Bell\x07", record.NewDate(2025, 10, 5), "20:00", "Studio", record.Dec(record.MustDecimal("1"))),
		mk("V-4", "Kasse", record.NewDate(2025, 10, 6), "20:00", "Studio", record.Dec(record.MustDecimal("1.005"))),
	}}
}

// TestExample runs the component's documented example: nested elements, an
// attribute, a constant, escaping, an optional value left out, a summary at
// the start, and two rejects (control character, a price with 3 places).
func TestExample(t *testing.T) {
	c := Writer()
	cfg, err := sdk.ParseConfig(c.Spec, strings.SplitN(c.Examples[0], "\n", 3)[2])
	if err != nil {
		t.Fatal(err)
	}
	out, rejs, err := sdktest.RunEncoder(context.Background(), Plugin(), "write", cfg, []*record.Batch{events(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<Veranstaltungen version="1.0">
  <Export erstellt="2026-01-01T12:00:00Z" anzahl="2"/>
  <Veranstaltung id="V-1">
    <Titel>Die Zauberflöte</Titel>
    <Termin>
      <Datum>2025-10-03</Datum>
      <Beginn>19:30</Beginn>
    </Termin>
    <Ort>Großes Haus</Ort>
    <Preis waehrung="EUR">18.50</Preis>
  </Veranstaltung>
  <Veranstaltung id="V-2">
    <Titel>Tom &amp; Jerry &lt;live&gt;</Titel>
    <Termin>
      <Datum>2025-10-04</Datum>
    </Termin>
    <Ort>Studio</Ort>
    <Preis waehrung="EUR"/>
  </Veranstaltung>
</Veranstaltungen>
`
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if len(rejs) != 2 || rejs[0].Field != "title" || !strings.Contains(rejs[0].Reason, "not allowed in XML") ||
		rejs[1].Field != "price_from" || !strings.Contains(rejs[1].Reason, "more than 2 decimal places") {
		t.Fatalf("rejects: %+v", rejs)
	}
	d := xml.NewDecoder(bytes.NewReader(out))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
	}
}

func TestPluginConventions(t *testing.T) {
	sdktest.LintPlugin(t, Plugin())
	sdktest.CheckConfig(t, xmlout.Spec, Config{})
	if _, err := Writer().NewEncoder(context.Background(), sdk.Config{"record": "E"}, sdktest.Env("sinks[0]")); err == nil {
		t.Fatal("a config without root and mapping must fail")
	} else if fes, ok := sdk.AsFieldErrors(err); !ok || len(fes) < 2 {
		t.Fatalf("want field errors for root.name and mapping, got %v", err)
	}
}
