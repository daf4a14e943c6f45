package xmlout

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// The layout writer's full test suite (goldens, XSD validation, fuzzing,
// benchmark) runs through fibu.xml in plugins/fibu; these tests pin the
// shared package's own surface.

func TestEncodingLineEndingAndMissingField(t *testing.T) {
	cfg, err := sdk.ParseConfig(Spec, "root: {name: R}\nrecord: E\nencoding: windows-1252\nline_ending: crlf\nmapping: [{path: T, field: t}]\n")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(context.Background(), cfg, sdk.Env{Step: "sinks[0] xml.write", Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sink, err := enc.Create(context.Background(), sdk.Output{Name: "out/x.xml", W: &buf})
	if err != nil {
		t.Fatal(err)
	}
	sc := record.MustSchema(record.Field{Name: "t"})
	rej, err := sink.Write(context.Background(), &record.Batch{Records: []record.Record{
		{Schema: sc, Values: []record.Value{record.String("Müller €")}},
		{Schema: sc, Values: []record.Value{record.String("日本")}},
	}})
	if err != nil || len(rej) != 1 || !strings.Contains(rej[0].Reason, "not representable in windows-1252") {
		t.Fatalf("rejects %+v, err %v", rej, err)
	}
	if err := sink.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\r\n<R>\r\n  <E>\r\n    <T>M\xfcller \x80</T>\r\n  </E>\r\n</R>\r\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}

	other := record.MustSchema(record.Field{Name: "title"})
	sink, _ = enc.Create(context.Background(), sdk.Output{Name: "out/y.xml", W: &buf})
	_, err = sink.Write(context.Background(), &record.Batch{Records: []record.Record{{Schema: other, Values: []record.Value{record.String("x")}}}})
	if err == nil || !strings.Contains(err.Error(), `out/y.xml: mapping[0] (T): the records have no field "t"`) {
		t.Fatalf("got %v", err)
	}
}
