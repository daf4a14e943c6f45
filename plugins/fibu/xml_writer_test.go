package fibu

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding/charmap"
	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
)

// update is the -update flag (defined by sdktest): rewrite golden files.
var update = sdktest.Update

// golden compares got with the file want (or rewrites it with -update).
func golden(t *testing.T, want string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(w, got) {
		t.Fatalf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", want, got, w)
	}
}

// tempOutput is an sdk.Output backed by buf, with Temp files in dir.
func tempOutput(t testing.TB, name string, buf *bytes.Buffer) sdk.Output {
	return sdk.Output{Name: name, W: buf, Temp: func() (sdk.TempFile, error) {
		return os.CreateTemp(t.TempDir(), "xml-*")
	}}
}

// writeXML runs the fibu.xml sink over recs (in two batches, to cover batch boundaries).
func writeXML(t testing.TB, c sdk.Config, now time.Time, recs []record.Record) ([]byte, []record.Reject, error) {
	t.Helper()
	env := testEnv()
	env.Step = "sinks[1] fibu.xml"
	env.Now = now
	enc, err := newXMLEncoder(context.Background(), sdk.ApplyDefaults(xmlSpec, c), env)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	sink, err := enc.Create(context.Background(), tempOutput(t, "out/abrechnung-20261123.xml", &buf))
	if err != nil {
		return nil, nil, err
	}
	var rejs []record.Reject
	half := len(recs) / 2
	for _, part := range [][]record.Record{recs[:half], recs[half:]} {
		rj, err := sink.Write(context.Background(), &record.Batch{Records: part})
		rejs = append(rejs, rj...)
		if err != nil {
			return nil, rejs, err
		}
	}
	if err := sink.Close(context.Background()); err != nil {
		return nil, rejs, err
	}
	return buf.Bytes(), rejs, nil
}

type xmlCase struct {
	XSD     string              `yaml:"xsd"`
	Schema  []string            `yaml:"schema"`
	Config  map[string]any      `yaml:"config"`
	Records []map[string]string `yaml:"records"`
}

// caseRecords builds records from string maps: schema entries are "name" or "name:kind".
func caseRecords(t testing.TB, schema []string, rows []map[string]string) []record.Record {
	t.Helper()
	var fs []record.Field
	for _, s := range schema {
		name, kind, _ := strings.Cut(s, ":")
		k := record.KindString
		if kind != "" {
			var ok bool
			if k, ok = record.ParseKind(kind); !ok {
				t.Fatalf("unknown kind %q", kind)
			}
		}
		fs = append(fs, record.Field{Name: name, Kind: k})
	}
	sc := record.MustSchema(fs...)
	var out []record.Record
	for i, row := range rows {
		r := record.New(sc, record.Origin{File: "in/vorstellungen.csv", Line: i + 2, Index: int64(i + 1)})
		for name, s := range row {
			j := sc.Index(name)
			if j < 0 {
				t.Fatalf("record %d: field %q not in schema", i+1, name)
			}
			var v record.Value
			switch sc.Field(j).Kind {
			case record.KindDecimal:
				v = record.Dec(record.MustDecimal(s))
			case record.KindDate:
				d, err := record.ParseDate(s, "YYYY-MM-DD")
				if err != nil {
					t.Fatal(err)
				}
				v = record.DateValue(d)
			case record.KindInt:
				var n int64
				fmt.Sscan(s, &n)
				v = record.Int(n)
			default:
				v = record.String(s)
			}
			r.Values[j] = v
		}
		out = append(out, r)
	}
	return out
}

var xmlNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CET", 3600))

// TestXMLGolden runs every testdata/xml/<case>/case.yaml through fibu.xml and compares
// want.xml and want.rejects byte for byte. Each output must also parse as XML, and cases with
// an xsd are validated with xmllint.
func TestXMLGolden(t *testing.T) {
	cases, _ := filepath.Glob("testdata/xml/*/case.yaml")
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, cf := range cases {
		dir := filepath.Dir(cf)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var tc xmlCase
			b, err := os.ReadFile(cf)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(b, &tc); err != nil {
				t.Fatal(err)
			}
			recs := caseRecords(t, tc.Schema, tc.Records)
			out, rejs, err := writeXML(t, sdk.Config(tc.Config), xmlNow, recs)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "want.xml"), out)
			var rb strings.Builder
			for _, r := range rejs {
				rb.WriteString(r.Error() + "\n")
			}
			golden(t, filepath.Join(dir, "want.rejects"), []byte(rb.String()))
			wellFormed(t, out)
			if tc.XSD != "" {
				xmllintValidate(t, out, filepath.Join(dir, tc.XSD))
			}
		})
	}
}

// wellFormed parses out with encoding/xml (a second, independent parser) and etree.
func wellFormed(t *testing.T, out []byte) *etree.Document {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(out))
	d.CharsetReader = charsetReader
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
	}
	doc := etree.NewDocument()
	doc.ReadSettings.CharsetReader = charsetReader
	if err := doc.ReadFromBytes(out); err != nil {
		t.Fatalf("etree: %v", err)
	}
	return doc
}

func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "windows-1252":
		return charmap.Windows1252.NewDecoder().Reader(in), nil
	case "iso-8859-1":
		return charmap.ISO8859_1.NewDecoder().Reader(in), nil
	case "iso-8859-15":
		return charmap.ISO8859_15.NewDecoder().Reader(in), nil
	}
	return nil, fmt.Errorf("unknown charset %q", label)
}

// xmllintValidate validates out against xsd with xmllint. Without xmllint the test is skipped
// locally and fails in CI (CI=true).
func xmllintValidate(t *testing.T, out []byte, xsd string) {
	t.Helper()
	if msg, err := xmllint(t, out, xsd); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, msg)
	}
}

func xmllint(t *testing.T, out []byte, xsd string) ([]byte, error) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found (apt-get install libxml2-utils); required in CI")
		}
		t.Skip("xmllint not installed")
	}
	f := filepath.Join(t.TempDir(), "out.xml")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, "--noout", "--schema", xsd, f).CombinedOutput()
}

// TestXMLXSDHookDetects makes sure the validation hook is not vacuous: the same settlement
// without the mandatory currency attribute fails against the sample XSD.
func TestXMLXSDHookDetects(t *testing.T) {
	var tc xmlCase
	b, _ := os.ReadFile("testdata/xml/settlement_end/case.yaml")
	if err := yaml.Unmarshal(b, &tc); err != nil {
		t.Fatal(err)
	}
	m := tc.Config["mapping"].([]any)
	tc.Config["mapping"] = append(m[:3:3], m[4:]...) // drop Betrag/@waehrung
	out, _, err := writeXML(t, sdk.Config(tc.Config), xmlNow, caseRecords(t, tc.Schema, tc.Records))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := xmllint(t, out, "testdata/xml/abrechnung.xsd")
	if err == nil || !strings.Contains(string(msg), "waehrung") {
		t.Fatalf("xmllint accepted a document without waehrung: %v %s", err, msg)
	}
}

// TestXMLEscapingRoundTrip: text and attribute values with markup characters, quotes, umlauts,
// tabs and line breaks come back unchanged from an XML parser.
func TestXMLEscapingRoundTrip(t *testing.T) {
	vals := []string{`<&"'>`, "Größe – äöüß €", "a\tb\nc\r\nd", "]]>", "  leading and trailing  "}
	sc := record.MustSchema(record.Field{Name: "v"})
	var recs []record.Record
	for _, v := range vals {
		r := record.New(sc, record.Origin{})
		r.Values[0] = record.String(v)
		recs = append(recs, r)
	}
	for _, enc := range []string{"utf-8", "windows-1252"} {
		for _, indent := range []int{0, 2} {
			c := sdk.Config{"root": map[string]any{"name": "R"}, "record": "E", "encoding": enc, "indent": indent, "line_ending": "crlf",
				"mapping": []any{map[string]any{"path": "@a", "field": "v"}, map[string]any{"path": "T", "field": "v"}}}
			out, rejs, err := writeXML(t, c, xmlNow, recs)
			if err != nil || len(rejs) > 0 {
				t.Fatalf("%s: %v %v", enc, err, rejs)
			}
			doc := wellFormed(t, out)
			es := doc.Root().SelectElements("E")
			if len(es) != len(vals) {
				t.Fatalf("%d elements", len(es))
			}
			for i, e := range es {
				// \r is written as &#xD;, so CRLF inside a value survives XML's line-end normalisation.
				if got := e.SelectAttrValue("a", "?"); got != vals[i] {
					t.Errorf("%s indent %d attr %d: %q, want %q", enc, indent, i, got, vals[i])
				}
				if got := e.SelectElement("T").Text(); got != vals[i] {
					t.Errorf("%s indent %d text %d: %q, want %q", enc, indent, i, got, vals[i])
				}
			}
		}
	}
}

func TestXMLConfigErrors(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"root": map[string]any{"name": "R"}, "record": "E",
			"mapping": []any{map[string]any{"path": "A", "field": "a"}}}
	}
	tests := []struct {
		name string
		mod  func(m map[string]any)
		want string
	}{
		{"bad root name", func(m map[string]any) { m["root"] = map[string]any{"name": "1R"} }, `root.name: "1R" is not a valid XML name`},
		{"undeclared prefix", func(m map[string]any) { m["record"] = "x:E" }, `record: namespace prefix "x" is not declared in root.namespaces`},
		{"field and const", func(m map[string]any) {
			m["mapping"] = []any{map[string]any{"path": "A", "field": "a", "const": "1"}}
		}, "mapping[0]: exactly one of field and const is required"},
		{"neither field nor const", func(m map[string]any) { m["mapping"] = []any{map[string]any{"path": "A"}} }, "mapping[0]: exactly one of field and const is required"},
		{"mapped twice", func(m map[string]any) {
			m["mapping"] = []any{map[string]any{"path": "A", "field": "a"}, map[string]any{"path": "A", "field": "b"}}
		}, "mapping[1].path: element A is mapped twice"},
		{"text then children", func(m map[string]any) {
			m["mapping"] = []any{map[string]any{"path": "A", "field": "a"}, map[string]any{"path": "A/B", "field": "b"}}
		}, "mapping[1].path: element A already has a text value"},
		{"children then text", func(m map[string]any) {
			m["mapping"] = []any{map[string]any{"path": "A/B", "field": "a"}, map[string]any{"path": "A", "field": "b"}}
		}, "mapping[1].path: element A has child elements"},
		{"attribute not last", func(m map[string]any) { m["mapping"] = []any{map[string]any{"path": "@a/B", "field": "a"}} }, "mapping[0].path: attribute @a must be the last segment"},
		{"bad element", func(m map[string]any) { m["mapping"] = []any{map[string]any{"path": "A//B", "field": "a"}} }, `mapping[0].path: element "" is not a valid XML name`},
		{"attr twice", func(m map[string]any) {
			m["mapping"] = []any{map[string]any{"path": "@a", "field": "a"}, map[string]any{"path": "@a", "const": "x"}}
		}, "mapping[1].path: attribute @a is mapped twice"},
		{"control char const", func(m map[string]any) {
			m["mapping"] = []any{map[string]any{"path": "A", "const": "a\x00"}}
		}, `mapping[0].const: character '\x00' at position 2 is not allowed in XML`},
		{"sum without field", func(m map[string]any) {
			m["summary"] = map[string]any{"element": "S", "fields": []any{map[string]any{"path": "Summe", "value": "sum"}}}
		}, "summary.fields[0].field: required for value sum"},
		{"const without const", func(m map[string]any) {
			m["summary"] = map[string]any{"element": "S", "fields": []any{map[string]any{"path": "X"}}}
		}, "summary.fields[0].const: required for value const"},
		{"const not encodable", func(m map[string]any) {
			m["encoding"] = "iso-8859-1"
			m["mapping"] = []any{map[string]any{"path": "A", "const": "€"}}
		}, "mapping[0].const: character '€' at position 1 is not representable in iso-8859-1"},
		{"empty mapping", func(m map[string]any) { m["mapping"] = []any{} }, "mapping: at least one element or attribute is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.mod(m)
			_, err := newXMLEncoder(context.Background(), sdk.ApplyDefaults(xmlSpec, sdk.Config(m)), testEnv())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
			if _, ok := sdk.AsFieldErrors(err); !ok {
				t.Fatalf("not a field error: %T", err)
			}
		})
	}
}

func TestXMLMissingFieldFails(t *testing.T) {
	c := sdk.Config{"root": map[string]any{"name": "R"}, "record": "E",
		"mapping": []any{map[string]any{"path": "A", "field": "betrg"}}}
	recs := caseRecords(t, []string{"betrag"}, []map[string]string{{"betrag": "1"}})
	_, _, err := writeXML(t, c, xmlNow, recs)
	if err == nil || !strings.Contains(err.Error(), `mapping[0] (A): the records have no field "betrg" (did you mean "betrag"?)`) {
		t.Fatalf("got %v", err)
	}
}

func TestXMLStartWithoutTemp(t *testing.T) {
	c := sdk.ApplyDefaults(xmlSpec, sdk.Config{"root": map[string]any{"name": "R"}, "record": "E",
		"mapping": []any{map[string]any{"path": "A", "field": "a"}},
		"summary": map[string]any{"element": "S", "position": "start", "fields": []any{map[string]any{"path": "N", "value": "count"}}}})
	enc, err := newXMLEncoder(context.Background(), c, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Create(context.Background(), sdk.Output{Name: "x.xml", W: io.Discard}); err == nil || !strings.Contains(err.Error(), "temporary file") {
		t.Fatalf("got %v", err)
	}
}

func TestXMLSpecMatchesConfig(t *testing.T) {
	// Every spec key decodes into XMLConfig and the defaults produce a working encoder.
	c, err := sdk.ParseConfig(xmlSpec, "root: {name: R}\nrecord: E\nmapping: [{path: A, field: a}]\n")
	if err != nil {
		t.Fatal(err)
	}
	var cfg XMLConfig
	if err := c.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Scale != 2 || cfg.Indent != 2 || cfg.DateFormat != "YYYY-MM-DD" || cfg.Encoding != "utf-8" || cfg.Decimal != "." {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	checkSpecDocs(t, xmlSpec.Fields, "")
	sdktest.CheckConfig(t, xmlSpec, XMLConfig{})
	sdktest.CheckConfig(t, extfWriterSpec, ExtfWriterConfig{})
	sdktest.CheckConfig(t, extfReaderSpec, ExtfReaderConfig{})
}

// checkSpecDocs: snake_case names, sentence descriptions, examples.
func checkSpecDocs(t *testing.T, fs []sdk.Field, prefix string) {
	t.Helper()
	for _, f := range fs {
		p := prefix + f.Name
		if !xmlSnake.MatchString(f.Name) {
			t.Errorf("%s: not snake_case", p)
		}
		if !strings.HasSuffix(f.Description, ".") || f.Description[0] < 'A' || f.Description[0] > 'Z' {
			t.Errorf("%s: description is not a sentence: %q", p, f.Description)
		}
		if f.Example == nil {
			t.Errorf("%s: no example", p)
		}
		checkSpecDocs(t, f.Children, p+".")
	}
}

var xmlSnake = regexpMust(`^[a-z][a-z0-9_]*$`)

// FuzzXMLWriter: any text either rejects the record or comes back unchanged from an XML parser.
func FuzzXMLWriter(f *testing.F) {
	for _, s := range []string{`<&"'>`, "Größe", "\x00", "a\r\nb", "]]>", "\xff", "😀", "\uFFFE"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	sc := record.MustSchema(record.Field{Name: "v"})
	f.Fuzz(func(t *testing.T, s string, cp1252 bool) {
		enc := "utf-8"
		if cp1252 {
			enc = "windows-1252"
		}
		c := sdk.Config{"root": map[string]any{"name": "R"}, "record": "E", "encoding": enc,
			"mapping": []any{map[string]any{"path": "@a", "field": "v"}, map[string]any{"path": "T", "field": "v", "empty": "element"}}}
		r := record.New(sc, record.Origin{})
		r.Values[0] = record.String(s)
		out, rejs, err := writeXML(t, c, xmlNow, []record.Record{r})
		if err != nil {
			t.Fatal(err)
		}
		if len(rejs) > 0 {
			return
		}
		doc := etree.NewDocument()
		doc.ReadSettings.CharsetReader = charsetReader
		if err := doc.ReadFromBytes(out); err != nil {
			t.Fatalf("not well-formed for %q: %v\n%s", s, err, out)
		}
		d := xml.NewDecoder(bytes.NewReader(out))
		d.CharsetReader = charsetReader
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("encoding/xml for %q: %v\n%s", s, err, out)
			}
		}
		e := doc.Root().SelectElement("E")
		if got := e.SelectElement("T").Text(); got != s {
			t.Fatalf("text %q, want %q", got, s)
		}
		if got := e.SelectAttrValue("a", ""); got != s {
			t.Fatalf("attr %q, want %q", got, s)
		}
	})
}

func BenchmarkXMLWrite(b *testing.B) {
	c := sdk.ApplyDefaults(xmlSpec, sdk.Config{"root": map[string]any{"name": "Abrechnung"}, "record": "Buchung",
		"mapping": []any{
			map[string]any{"path": "@id", "field": "fibu_nr"},
			map[string]any{"path": "Datum", "field": "datum"},
			map[string]any{"path": "Betrag", "field": "betrag"},
			map[string]any{"path": "Konto/Soll", "field": "konto"},
			map[string]any{"path": "Konto/Haben", "field": "gegenkonto"},
			map[string]any{"path": "Text", "field": "text"},
		},
		"summary": map[string]any{"element": "Summen", "fields": []any{map[string]any{"path": "Summe", "value": "sum", "field": "betrag"}}}})
	enc, err := newXMLEncoder(context.Background(), c, testEnv())
	if err != nil {
		b.Fatal(err)
	}
	sink, err := enc.Create(context.Background(), sdk.Output{Name: "bench.xml", W: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	batch := &record.Batch{}
	for range 1000 {
		batch.Records = append(batch.Records, booking(good()...))
	}
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		if rej, err := sink.Write(context.Background(), batch); err != nil || len(rej) > 0 {
			b.Fatal(err, rej)
		}
		rows += len(batch.Records)
	}
	_ = sink.Close(context.Background())
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// TestSettlementPipelineXMLValid validates the expected XML of pipelines/fibu-settlement.yaml
// (its pipeline test compares the output byte for byte) against the sample XSD.
func TestSettlementPipelineXMLValid(t *testing.T) {
	out, err := os.ReadFile("../../pipelines/fibu-settlement_test/abrechnung_20261202.xml")
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, out)
	xmllintValidate(t, out, "testdata/xml/abrechnung.xsd")
}
