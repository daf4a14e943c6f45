package csv

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// fuzzConfigs are the reader configurations FuzzReader picks from.
var fuzzConfigs = []string{
	`{}`,
	`{header: false}`,
	`{encoding: windows-1252, delimiter: ";", decimal: ",", date_format: DD.MM.YYYY,
	  columns: [{name: a, type: int}, {name: b, type: decimal}, {name: c, type: date, required: true}]}`,
	`{ragged: pad, comment: "#", skip_rows: 1, trim_space: true, strict_header: false,
	  columns: [{name: x, source: "2"}, {name: y, type: bool}]}`,
	`{header: false, quote: "", delimiter: "|", encoding: iso-8859-15}`,
	`{delimiter: ";", decimal: ",", thousands: ".", columns: [{name: a, type: decimal}, {name: b, type: int, required: true}]}`,
}

// readAll reads input with config i and returns a rendering of all
// records and rejects, checking the origin invariants on the way.
func readAll(t *testing.T, cfgText string, input []byte, wrap func(io.Reader) io.Reader) string {
	t.Helper()
	ctx := context.Background()
	rc, _ := Plugin().Component("read")
	cfg, err := sdk.ParseConfig(rc.Spec, cfgText)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := rc.NewDecoder(ctx, cfg, sdk.Env{BatchSize: 7})
	if err != nil {
		t.Fatalf("config %s: %v", cfgText, err)
	}
	lines := bytes.Count(input, []byte{'\n'}) + 1
	var r io.Reader = bytes.NewReader(input)
	if wrap != nil {
		r = wrap(r)
	}
	src, err := dec.Open(ctx, sdk.Input{Name: "f.csv", R: r, Size: -1})
	if err != nil {
		return "open: " + err.Error()
	}
	defer src.Close()
	var out bytes.Buffer
	check := func(o record.Origin, what string) {
		if o.File != "f.csv" || o.Line < 1 || o.Line > lines || o.Col < 1 || o.Index < 1 {
			t.Fatalf("%s with bad origin %+v (input has %d lines)", what, o, lines)
		}
	}
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.WriteString("error: " + err.Error() + "\n")
			break
		}
		if len(b.Records)+len(b.Rejects) == 0 {
			t.Fatal("empty batch")
		}
		for _, r := range b.Records {
			check(r.Origin, "record")
			if r.Origin.Col != 1 {
				t.Fatalf("record origin col %d", r.Origin.Col)
			}
			if len(r.Values) != r.Schema.Len() {
				t.Fatalf("record has %d values for %d fields", len(r.Values), r.Schema.Len())
			}
			out.WriteString(renderRecord(r) + "\n")
		}
		for _, rj := range b.Rejects {
			check(rj.Record.Origin, "reject")
			if rj.Reason == "" {
				t.Fatal("reject without reason")
			}
			out.WriteString("reject " + rj.Error() + "\n")
		}
	}
	return out.String()
}

func FuzzReader(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/input.csv")
	for i, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Add([]byte("a,b\n\"x\"\"y\",\"\r\n\"\r\n"), uint8(0))
	f.Add([]byte("\"\n"), uint8(1))
	f.Fuzz(func(t *testing.T, input []byte, mode uint8) {
		cfg := fuzzConfigs[int(mode)%len(fuzzConfigs)]
		got := readAll(t, cfg, input, nil)
		if got1 := readAll(t, cfg, input, iotest.OneByteReader); got1 != got {
			t.Fatalf("one-byte reads differ:\n%s\nvs\n%s", got1, got)
		}
		if int(mode)%len(fuzzConfigs) == 1 {
			compareStdlib(t, input)
		}
	})
}

// compareStdlib checks the scanner against encoding/csv on inputs both
// must read the same way: valid UTF-8 without CR (encoding/csv turns
// quoted CRLF into LF, which Kontor keeps), without a BOM anywhere and
// without NUL bytes (Kontor rejects a record with a NUL or a BOM inside
// the data on purpose, encoding/csv reads both), accepted by encoding/csv
// in its strict mode.
func compareStdlib(t *testing.T, input []byte) {
	if !utf8.Valid(input) || bytes.IndexByte(input, '\r') >= 0 || bytes.IndexByte(input, 0) >= 0 ||
		bytes.Contains(input, []byte{0xEF, 0xBB, 0xBF}) {
		return
	}
	cr := stdcsv.NewReader(bytes.NewReader(input))
	cr.FieldsPerRecord = -1
	want, err := cr.ReadAll()
	if err != nil {
		return
	}
	cr = stdcsv.NewReader(bytes.NewReader(input))
	cr.FieldsPerRecord = -1
	var wantLines []int
	for {
		if _, err := cr.Read(); err != nil {
			break
		}
		l, _ := cr.FieldPos(0)
		wantLines = append(wantLines, l)
	}
	sc := newScanner(bytes.NewReader(input), int64(len(input)), ',', '"', true, 0, false, nil)
	var got [][]string
	var gotLines []int
	for {
		ok, err := sc.next()
		if err != nil {
			t.Fatalf("scanner: %v (encoding/csv read it)", err)
		}
		if !ok {
			break
		}
		rec := make([]string, len(sc.fields))
		for i, f := range sc.fields {
			rec[i] = strings.Clone(sc.rec[f.start:f.end]) // rec is valid until the next call
		}
		if sc.bad != "" {
			t.Fatalf("scanner reports %q (encoding/csv read it)", sc.bad)
		}
		got = append(got, rec)
		gotLines = append(gotLines, sc.recLine)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("records differ from encoding/csv:\n got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(gotLines, wantLines) {
		t.Fatalf("lines differ from encoding/csv: got %v, want %v", gotLines, wantLines)
	}
}

// FuzzRoundTrip writes two arbitrary text values with csv.write and reads
// them back with csv.read: quoting must preserve every valid UTF-8 text.
func FuzzRoundTrip(f *testing.F) {
	f.Add("plain", "with, comma", uint8(0))
	f.Add(" lead", "quote\"\r\nline", uint8(1))
	f.Add("", "\r", uint8(2))
	f.Add("Grüße €", "a;b|c\td", uint8(3))
	f.Add("\uFEFFstart", "mid\uFEFFdle", uint8(0))
	f.Add("nul\x00", "b", uint8(1))
	f.Fuzz(func(t *testing.T, a, b string, mode uint8) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		delims := []string{",", ";", "|", "\t"}
		delim := delims[int(mode)%len(delims)]
		crlf := mode&4 != 0
		quoteAll := mode&8 != 0
		s := record.MustSchema(record.Field{Name: "a", Kind: record.KindString}, record.Field{Name: "b", Kind: record.KindString})
		recs := []record.Record{{Schema: s, Values: []record.Value{record.String(a), record.String(b)}}}
		wcfg := `{delimiter: "` + map[string]string{",": ",", ";": ";", "|": "|", "\t": `\t`}[delim] + `"`
		rcfg := wcfg + `}`
		if crlf {
			wcfg += `, line_ending: crlf`
		}
		if quoteAll {
			wcfg += `, quote_all: true`
		}
		out, rejs, err := write(t, wcfg+`}`, recs)
		if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 {
			// csv.write rejects a NUL byte (csv.read would reject it too).
			if err != nil || len(rejs) != 1 {
				t.Fatalf("write of a NUL byte: %v, %d rejects, want 1", err, len(rejs))
			}
			return
		}
		if err != nil || len(rejs) > 0 {
			t.Fatalf("write: %v %v", err, rejs)
		}
		got, gotRejs, err := read(t, rcfg, strings.NewReader(out))
		if err != nil || len(gotRejs) > 0 || len(got) != 1 {
			t.Fatalf("read back %q: %d records, %v, %v", out, len(got), gotRejs, err)
		}
		if got[0].Values[0].Str() != a || got[0].Values[1].Str() != b {
			t.Fatalf("round trip of %q, %q via %q gave %q, %q", a, b, out, got[0].Values[0].Str(), got[0].Values[1].Str())
		}
	})
}
