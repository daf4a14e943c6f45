package all

import (
	"context"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
)

// TestConformance runs the plugin authors' conformance kit over every
// built-in: conventions of names, texts and specs, and the spec surviving
// the out-of-process protocol unchanged (every built-in could be served by
// sdk.Serve).
func TestConformance(t *testing.T) {
	for _, p := range Builtins() {
		t.Run(p.Name, func(t *testing.T) {
			sdktest.LintPlugin(t, p)
			sdktest.Loopback(t, p)
		})
	}
}

// TestCSVOverProtocol runs csv.read and csv.write in process and through the
// protocol (input streamed in chunks, output streamed back) and compares.
func TestCSVOverProtocol(t *testing.T) {
	var p sdk.Plugin
	for _, b := range Builtins() {
		if b.Name == "csv" {
			p = b
		}
	}
	remote := sdktest.Loopback(t, p)
	input := []byte("\xef\xbb\xbfNr;Name;Betrag;Datum\n1;Müller;1.234,50;28.11.2026\n2;\"Schmidt; Eva\";-0,01;01.12.2026\n3;kaputt;abc;31.02.2026\n")
	for i := 4; i < 3000; i++ { // several chunks and batches
		input = append(input, []byte("4;Lang;10,00;01.01.2027\n")...)
	}
	readCfg := sdk.Config{"delimiter": ";", "decimal": ",", "date_format": "DD.MM.YYYY", "columns": []any{
		map[string]any{"name": "nr", "source": "Nr", "type": "int"},
		map[string]any{"name": "name", "source": "Name"},
		map[string]any{"name": "amount", "source": "Betrag", "type": "decimal"},
		map[string]any{"name": "date", "source": "Datum", "type": "date"},
	}}
	sdktest.SameDecoder(t, p, remote, "read", readCfg, "in/abos.csv", input)
	got, err := sdktest.RunDecoder(context.Background(), remote, "read", readCfg, "in/abos.csv", input)
	if err != nil || len(got.Records) != 2997 || len(got.Rejects) != 2 || got.Records[0].Origin.Line != 3 || got.Records[1].Origin.Line != 5 {
		t.Fatalf("remote csv.read: %d records, %d rejects, err %v", len(got.Records), len(got.Rejects), err)
	}

	s := record.MustSchema(record.Field{Name: "nr", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal}, record.Field{Name: "name", Kind: record.KindString})
	b := &record.Batch{}
	for i := 0; i < 2500; i++ {
		b.Records = append(b.Records, record.Record{Schema: s, Values: []record.Value{record.Int(int64(i)), record.Dec(record.MustDecimal("-12.30")), record.String("Zoë; \"€\"")}})
	}
	wcfg := sdk.Config{"encoding": "windows-1252", "delimiter": ";", "decimal": ","}
	sdktest.SameEncoder(t, p, remote, "write", wcfg, []*record.Batch{b, b})
	out, _, err := sdktest.RunEncoder(context.Background(), remote, "write", wcfg, []*record.Batch{b, b})
	if err != nil || len(out) < 5000*10 {
		t.Fatalf("remote csv.write: %d bytes, err %v", len(out), err)
	}
}
