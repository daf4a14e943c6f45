package csv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/csv"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Reading a German export through the SDK, the way the engine does: look
// up the component, apply the spec's defaults, build the decoder, open an
// input and pull batches until io.EOF.
func Example_read() {
	ctx := context.Background()
	read, _ := csv.Plugin().Component("read")
	cfg, err := sdk.ParseConfig(read.Spec, `
delimiter: ";"
decimal: ","
date_format: DD.MM.YYYY
columns:
  - {name: id, type: int, source: Nr}
  - {name: name, source: Name}
  - {name: amount, type: decimal, source: Betrag}
  - {name: due, type: date, source: Fällig}
`)
	if err != nil {
		panic(err)
	}
	schema, _ := read.Schema(cfg) // known at lint time
	fmt.Println("schema:", schema)

	dec, err := read.NewDecoder(ctx, cfg, sdk.Env{BatchSize: 1000})
	if err != nil {
		panic(err)
	}
	in := "Nr;Name;Betrag;Fällig\n1;\"Müller; Jürgen\";12,50;01.02.2026\n2;Weiß;12,3.4;15.02.2026\n"
	src, err := dec.Open(ctx, sdk.Input{Name: "abos.csv", R: strings.NewReader(in), Size: int64(len(in))})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		for _, r := range b.Records {
			fmt.Println(r.Origin, r)
		}
		for _, rj := range b.Rejects {
			fmt.Println("reject:", rj.Error())
		}
	}
	// Output:
	// schema: id:int, name:string, amount:decimal, due:date
	// abos.csv:2:1 {id: 1, name: Müller; Jürgen, amount: 12.50, due: 2026-02-01}
	// reject: abos.csv:3:8: csv.read: amount: invalid decimal "12,3.4": '.' found but the decimal separator is ','
}

// Writing records as Windows-1252 with semicolons, decimal comma and CRLF.
// A value the encoding cannot hold rejects its record instead of being
// replaced.
func Example_write() {
	ctx := context.Background()
	write, _ := csv.Plugin().Component("write")
	cfg, err := sdk.ParseConfig(write.Spec, `
encoding: windows-1252
delimiter: ";"
decimal: ","
date_format: DD.MM.YYYY
line_ending: crlf
columns:
  - {name: Name, from: name}
  - {name: Betrag, from: amount, scale: 2}
  - {name: Fällig, from: due}
`)
	if err != nil {
		panic(err)
	}
	enc, err := write.NewEncoder(ctx, cfg, sdk.Env{})
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	sink, err := enc.Create(ctx, sdk.Output{Name: "out.csv", W: &out})
	if err != nil {
		panic(err)
	}
	s := record.MustSchema(
		record.Field{Name: "name", Kind: record.KindString},
		record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "due", Kind: record.KindDate})
	due := record.DateValue(record.NewDate(2026, 2, 1))
	batch := &record.Batch{Records: []record.Record{
		{Schema: s, Values: []record.Value{record.String("Jürgen Weiß"), record.Dec(record.MustDecimal("12.5")), due}},
		{Schema: s, Values: []record.Value{record.String("Łukasz"), record.Dec(record.MustDecimal("3")), due},
			Origin: record.Origin{File: "in.csv", Line: 3, Col: 1}},
	}}
	rejects, err := sink.Write(ctx, batch)
	if err != nil {
		panic(err)
	}
	if err := sink.Close(ctx); err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", out.String())
	for _, rj := range rejects {
		fmt.Println("reject:", rj.Error())
	}
	// Output:
	// "Name;Betrag;F\xe4llig\r\nJ\xfcrgen Wei\xdf;12,50;01.02.2026\r\n"
	// reject: in.csv:3:1: csv.write: name: character not representable in windows-1252: 'Ł'
}

// Reading amounts with a thousands separator (thousands: "."): grouped and
// plain values are read, a wrong grouping rejects its record.
func Example_thousands() {
	ctx := context.Background()
	read, _ := csv.Plugin().Component("read")
	cfg, err := sdk.ParseConfig(read.Spec, `
delimiter: ";"
decimal: ","
thousands: "."
columns:
  - {name: id, type: int, source: Nr}
  - {name: amount, type: decimal, source: Betrag}
`)
	if err != nil {
		panic(err)
	}
	dec, err := read.NewDecoder(ctx, cfg, sdk.Env{BatchSize: 1000})
	if err != nil {
		panic(err)
	}
	in := "Nr;Betrag\n1;1.234.567,89\n2;1234,50\n3;12.34,5\n"
	src, err := dec.Open(ctx, sdk.Input{Name: "abos.csv", R: strings.NewReader(in), Size: int64(len(in))})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		for _, r := range b.Records {
			fmt.Println(r.Origin, r)
		}
		for _, rj := range b.Rejects {
			fmt.Println("reject:", rj.Error())
		}
	}
	// Output:
	// abos.csv:2:1 {id: 1, amount: 1234567.89}
	// abos.csv:3:1 {id: 2, amount: 1234.50}
	// reject: abos.csv:4:3: csv.read: amount: invalid decimal "12.34,5": group "34" after the thousands separator '.' has 2 digits, want 3
}
