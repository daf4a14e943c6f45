package csv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestSpecs checks the conventions of both components: snake_case names,
// full-sentence descriptions, and that each config struct has exactly the
// keys of its spec.
func TestSpecs(t *testing.T) {
	p := Plugin()
	if !snake.MatchString(p.Name) || len(p.Components) != 2 {
		t.Fatalf("plugin %q with %d components", p.Name, len(p.Components))
	}
	structs := map[string]reflect.Type{"read": reflect.TypeFor[ReadConfig](), "write": reflect.TypeFor[WriteConfig]()}
	children := map[string]reflect.Type{"read": reflect.TypeFor[ReadColumn](), "write": reflect.TypeFor[WriteColumn]()}
	for _, c := range p.Components {
		if !snake.MatchString(c.Name) || c.IO != sdk.IOFile || !strings.HasSuffix(c.Summary, ".") {
			t.Errorf("component %q: name, IO or summary", c.Name)
		}
		var check func(path string, fs []sdk.Field)
		check = func(path string, fs []sdk.Field) {
			for _, f := range fs {
				if !snake.MatchString(f.Name) || f.Type == "" || !strings.HasSuffix(f.Description, ".") || f.Example == nil {
					t.Errorf("%s.%s%s: name, type, description or example", c.Name, path, f.Name)
				}
				if f.Type == sdk.TypeEnum && f.Default != nil && !contains(f.Enum, f.Default.(string)) {
					t.Errorf("%s.%s: default %v not in enum", c.Name, f.Name, f.Default)
				}
				check(path+f.Name+".", f.Children)
			}
		}
		check("", c.Spec.Fields)
		if got, want := yamlKeys(structs[c.Name]), sortedNames(c.Spec.Fields); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: config struct keys %v, spec keys %v", c.Name, got, want)
		}
		cols, _ := c.Spec.Lookup("columns")
		if got, want := yamlKeys(children[c.Name]), sortedNames(cols.Children); !reflect.DeepEqual(got, want) {
			t.Errorf("%s.columns: struct keys %v, spec keys %v", c.Name, got, want)
		}
		// Defaults alone make a valid config.
		cfg := sdk.ApplyDefaults(c.Spec, sdk.Config{})
		var err error
		if c.Kind == sdk.KindSource {
			_, err = c.NewDecoder(context.Background(), cfg, sdk.Env{})
		} else {
			_, err = c.NewEncoder(context.Background(), cfg, sdk.Env{})
		}
		if err != nil {
			t.Errorf("%s with defaults: %v", c.Name, err)
		}
	}
}

func sortedNames(fs []sdk.Field) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		if len(tag) > 1 && tag[1] == "inline" {
			out = append(out, yamlKeys(f.Type)...)
			continue
		}
		out = append(out, tag[0])
	}
	sort.Strings(out)
	return out
}

func TestConfigErrors(t *testing.T) {
	rc, _ := Plugin().Component("read")
	wc, _ := Plugin().Component("write")
	for _, tc := range []struct {
		comp *sdk.Component
		yaml string
		want []string // FieldError paths
	}{
		{&rc, `{delimiter: ";;"}`, []string{"delimiter"}},
		{&rc, `{quote: ";", delimiter: ";"}`, []string{"quote"}},
		{&rc, `{decimal: ",", delimiter: ","}`, []string{"decimal"}},
		{&rc, `{encoding: ebcdic}`, []string{"encoding"}},
		{&rc, `{skip_rows: -1, ragged: maybe, comment: ","}`, []string{"comment", "skip_rows", "ragged"}},
		{&rc, `{header: false, columns: [{name: a, source: x}, {name: b, source: "0"}]}`, []string{"columns[0].source", "columns[1].source"}},
		{&rc, `{columns: [{name: a, type: dezimal}]}`, []string{"columns[0].type"}},
		{&rc, `{columns: [{type: int}]}`, []string{"columns[0].name"}},
		{&wc, `{columns: [{name: a}, {name: a, scale: 25}], decimal_scale: -2}`, []string{"decimal_scale", "columns[1].name", "columns[1].scale"}},
		{&wc, `{quote: "„"}`, []string{"quote"}},
		{&wc, `{quote: "", quote_all: true}`, []string{"quote_all"}},
		{&rc, `{thousands: "."}`, []string{"thousands"}},
		{&rc, `{delimiter: ";", decimal: ",", thousands: ","}`, []string{"thousands"}},
		{&rc, `{delimiter: " ", decimal: ",", thousands: " "}`, []string{"thousands"}},
		{&rc, `{quote: "'", thousands: "'"}`, []string{"thousands"}},
		{&wc, `{thousands: ","}`, []string{"thousands"}},
		{&wc, `{delimiter: ";", decimal: ",", columns: [{name: a, thousands: "."}, {name: b, thousands: ","}, {name: c, thousands: ""}]}`, []string{"columns[1].thousands"}},
	} {
		cfg, err := sdk.ParseConfig(tc.comp.Spec, tc.yaml)
		if err != nil {
			t.Fatal(err)
		}
		if tc.comp.Kind == sdk.KindSource {
			_, err = tc.comp.NewDecoder(context.Background(), cfg, sdk.Env{})
		} else {
			_, err = tc.comp.NewEncoder(context.Background(), cfg, sdk.Env{})
		}
		fes, ok := sdk.AsFieldErrors(err)
		if !ok {
			t.Errorf("%s: %v, want field errors", tc.yaml, err)
			continue
		}
		var got []string
		for _, fe := range fes {
			got = append(got, fe.Path)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: paths %v, want %v (%v)", tc.yaml, got, tc.want, err)
		}
	}
}

// TestThousandsConfigMessages checks the wording of the thousands errors.
func TestThousandsConfigMessages(t *testing.T) {
	rc, _ := Plugin().Component("read")
	for yml, want := range map[string]string{
		`{thousands: "."}`: `thousands: must differ from the decimal separator "."`,
		`{delimiter: ";", decimal: ",", thousands: ","}`:             `thousands: must differ from the decimal separator ","`,
		`{decimal: ",", delimiter: ";", thousands: "'", quote: "'"}`: `thousands: must differ from the quote "'"`,
		`{delimiter: " ", decimal: ",", thousands: " "}`:             `thousands: must differ from the delimiter " "`,
	} {
		cfg, err := sdk.ParseConfig(rc.Spec, yml)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rc.NewDecoder(context.Background(), cfg, sdk.Env{})
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", yml, err, want)
		}
	}
	var es sdk.FieldErrors
	if b := checkThousands("_", sdk.TextFormat{Decimal: ","}, &es); b != 0 || len(es) != 1 || es[0].Path != "thousands" {
		t.Errorf("thousands \"_\": %q %v", b, es)
	}
}

// read is a test helper: all records and rejects of input.
func read(t *testing.T, cfgText string, input io.Reader) ([]record.Record, []record.Reject, error) {
	t.Helper()
	ctx := context.Background()
	rc, _ := Plugin().Component("read")
	cfg, err := sdk.ParseConfig(rc.Spec, cfgText)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := rc.NewDecoder(ctx, cfg, sdk.Env{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := dec.Open(ctx, sdk.Input{Name: "in.csv", R: input, Size: -1})
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var recs []record.Record
	var rejs []record.Reject
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return recs, rejs, nil
		}
		if err != nil {
			return recs, rejs, err
		}
		recs = append(recs, b.Records...)
		rejs = append(rejs, b.Rejects...)
	}
}

// TestLargeRecords crosses the 64 KiB read buffer inside quoted and
// unquoted fields, and checks the line numbers after them.
func TestLargeRecords(t *testing.T) {
	big := strings.Repeat("x", 200_000)
	bigNL := strings.Repeat("ab\n", 50_000)
	in := "a,b\n1," + big + "\n2,\"" + bigNL + "\"\n3,\"q\"\"" + big + "\"\n4,end\n"
	recs, rejs, err := read(t, `{}`, strings.NewReader(in))
	if err != nil || len(rejs) > 0 || len(recs) != 4 {
		t.Fatalf("%d records, %v, %v", len(recs), rejs, err)
	}
	if recs[0].Values[1].Str() != big || recs[1].Values[1].Str() != bigNL || recs[2].Values[1].Str() != `q"`+big {
		t.Fatal("big values differ")
	}
	if l := recs[3].Origin.Line; l != 50_000+5 {
		t.Fatalf("line of the last record %d, want %d", l, 50_005)
	}
}

func TestRecordTooLong(t *testing.T) {
	in := io.MultiReader(strings.NewReader("a\n1\n\"open"), &repeatReader{b: 'x', n: MaxRecordBytes + 1})
	recs, _, err := read(t, `{}`, in)
	if err == nil || !strings.Contains(err.Error(), "in.csv:3:1: line longer than 16777216 bytes") || len(recs) != 1 {
		t.Fatalf("%d records, error %v", len(recs), err)
	}
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

type failReader struct{ after int }

func (f *failReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), f.after)
	for i := range p[:n] {
		p[i] = "a,b\n"[i%4]
	}
	f.after -= n
	return n, nil
}

func TestReadError(t *testing.T) {
	_, _, err := read(t, `{}`, &failReader{after: 100_000})
	if err == nil || !strings.Contains(err.Error(), "reading in.csv: disk on fire") {
		t.Fatalf("error %v", err)
	}
}

func TestCancel(t *testing.T) {
	rc, _ := Plugin().Component("read")
	dec, _ := rc.NewDecoder(context.Background(), sdk.ApplyDefaults(rc.Spec, sdk.Config{}), sdk.Env{})
	src, err := dec.Open(context.Background(), sdk.Input{Name: "in.csv", R: strings.NewReader("a\n1\n")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
}

func write(t *testing.T, cfgText string, batches ...[]record.Record) (string, []record.Reject, error) {
	t.Helper()
	ctx := context.Background()
	wc, _ := Plugin().Component("write")
	cfg, err := sdk.ParseConfig(wc.Spec, cfgText)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := wc.NewEncoder(ctx, cfg, sdk.Env{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sink, err := enc.Create(ctx, sdk.Output{Name: "out.csv", W: &out})
	if err != nil {
		t.Fatal(err)
	}
	var rejs []record.Reject
	for _, b := range batches {
		rj, err := sink.Write(ctx, &record.Batch{Records: b})
		rejs = append(rejs, rj...)
		if err != nil {
			return out.String(), rejs, err
		}
	}
	err = sink.Close(ctx)
	return out.String(), rejs, err
}

func TestWriteSchemas(t *testing.T) {
	s1 := record.MustSchema(record.Field{Name: "a", Kind: record.KindString}, record.Field{Name: "b", Kind: record.KindInt})
	s2 := record.MustSchema(record.Field{Name: "b", Kind: record.KindInt}, record.Field{Name: "c", Kind: record.KindString})
	r1 := record.Record{Schema: s1, Values: []record.Value{record.String("x"), record.Int(1)}, Origin: record.Origin{File: "in", Line: 2}}
	r2 := record.Record{Schema: s2, Values: []record.Value{record.Int(2), record.String("y")}, Origin: record.Origin{File: "in", Line: 3}}
	// Records of another schema are written by field name.
	out, _, err := write(t, `{columns: [{name: B, from: b}]}`, []record.Record{r1}, []record.Record{r2, r1})
	if err != nil || out != "B\n1\n2\n1\n" {
		t.Fatalf("out %q, %v", out, err)
	}
	// A later schema without a column of the first is an error.
	_, _, err = write(t, `{}`, []record.Record{r1}, []record.Record{r2, r1})
	if err == nil || !strings.HasPrefix(err.Error(), `out.csv: column "a": the records have no field "a"`) || !strings.HasSuffix(err.Error(), "; fields: b, c") {
		t.Fatalf("error %v", err)
	}
	// A declared column naming a field that does not exist is a config error.
	_, _, err = write(t, `{columns: [{name: X, from: bb}]}`, []record.Record{r1})
	fes, ok := sdk.AsFieldErrors(err)
	if !ok || fes[0].Path != "columns[0].from" || !strings.Contains(err.Error(), `did you mean "b"?`) {
		t.Fatalf("error %v", err)
	}
}

func TestWriteEmpty(t *testing.T) {
	out, _, err := write(t, `{columns: [{name: Nr}, {name: "Betrag, EUR"}], line_ending: crlf, encoding: utf-8-bom}`)
	if err != nil || out != "\ufeffNr,\"Betrag, EUR\"\r\n" {
		t.Fatalf("%q %v", out, err)
	}
	out, _, err = write(t, `{}`)
	if err != nil || out != "" {
		t.Fatalf("no columns, no records: %q %v", out, err)
	}
}

func TestWriteNoQuote(t *testing.T) {
	s := record.MustSchema(record.Field{Name: "a", Kind: record.KindString})
	rec := func(v string) record.Record {
		return record.Record{Schema: s, Values: []record.Value{record.String(v)}}
	}
	out, rejs, err := write(t, `{quote: "", delimiter: "|", header: false}`, []record.Record{rec("a,b"), rec("a|b"), rec(" pad "), rec("x\ny")})
	if err != nil || out != "a,b\n pad \n" || len(rejs) != 2 {
		t.Fatalf("%q %v %v", out, rejs, err)
	}
}

func TestWriteUnencodableHeader(t *testing.T) {
	_, _, err := write(t, `{encoding: iso-8859-1, columns: [{name: "Preis €"}]}`)
	if err == nil || !strings.Contains(err.Error(), `header column "Preis €"`) {
		t.Fatalf("%v", err)
	}
}

// TestWriteRejectsUnwritable: values a file cannot hold (or csv.read would
// not read back) reject their record with the field and reason; the other
// records are written.
func TestWriteRejectsUnwritable(t *testing.T) {
	s := record.MustSchema(record.Field{Name: "v"})
	rec := func(v record.Value) record.Record {
		return record.Record{Schema: s, Values: []record.Value{v}, Origin: record.Origin{File: "in", Line: 2}}
	}
	ok := rec(record.String("ok"))
	cases := []struct {
		name, cfg string
		v         record.Value
		out       string // the bad record's line, "" rejected
		reason    string
	}{
		{"invalid UTF-8 into utf-8", `{}`, record.String("a\xffb"), "", "invalid UTF-8 at character 2"},
		{"invalid UTF-8 into windows-1252", `{encoding: windows-1252}`, record.String("ab\xc3"), "", "invalid UTF-8 at character 3"},
		{"NUL byte", `{}`, record.String("a\x00b"), "", "NUL byte at character 2"},
		{"decomposed text stays as given in UTF-8", `{}`, record.String("e\u0301"), "e\u0301\n", ""},
		{"€ is in iso-8859-15", `{encoding: iso-8859-15}`, record.String("5 €"), "5 \xa4\n", ""},
		{"€ is not in iso-8859-1", `{encoding: iso-8859-1}`, record.String("5 €"), "", "character not representable in iso-8859-1: '€'"},
		{"year 10000", `{}`, record.DateValue(record.NewDate(10000, 1, 1)), "", "the year 10000 does not fit the four digits of YYYY-MM-DD"},
		{"negative year", `{}`, record.DateValue(record.NewDate(-1, 1, 1)), "", "the year -1 does not fit"},
		{"year 0 is ISO 8601 0000", `{}`, record.DateValue(record.NewDate(0, 1, 1)), "0000-01-01\n", ""},
		{"two-digit year outside 1969..2068", `{date_format: DD.MM.YY}`, record.DateValue(record.NewDate(1960, 1, 1)), "", "holds 1969 to 2068 only, 1960"},
		{"datetime with a two-digit year", `{columns: [{name: v, format: "DD.MM.YY hh:mm"}]}`, record.DateTime(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)), "", "2100 would read back as another century"},
		{"formula text is kept without escape_formulas", `{}`, record.String("=1+1"), "=1+1\n", ""},
		{"formula text is escaped with escape_formulas", `{escape_formulas: true}`, record.String("=1+1"), "'=1+1\n", ""},
		{"negative numbers are never escaped", `{escape_formulas: true}`, record.Int(-5), "-5\n", ""},
		{"tab start is escaped", `{escape_formulas: true}`, record.String("\tx"), "'\tx\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, rejs, err := write(t, "{header: false, "+strings.TrimPrefix(tc.cfg, "{"), []record.Record{ok, rec(tc.v), ok})
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason != "" {
				if len(rejs) != 1 || rejs[0].Field != "v" || !strings.Contains(rejs[0].Reason, tc.reason) || rejs[0].Record.Origin.Line != 2 {
					t.Fatalf("rejects %v, want %q", rejs, tc.reason)
				}
				if out != "ok\nok\n" {
					t.Fatalf("out %q", out)
				}
				return
			}
			if len(rejs) > 0 || out != "ok\n"+tc.out+"ok\n" {
				t.Fatalf("out %q rejects %v, want line %q", out, rejs, tc.out)
			}
		})
	}
}

// TestMaxRecordBytesExact: a record of exactly MaxRecordBytes bytes (not
// counting the LF or CRLF that ends it) is read; one byte more is a file
// error naming the record's first line, for plain, CRLF, last-line and
// quoted records with line breaks inside.
func TestMaxRecordBytesExact(t *testing.T) {
	x := func(n int) io.Reader { return &repeatReader{b: 'x', n: n} }
	s := strings.NewReader
	const max = MaxRecordBytes
	for _, tc := range []struct {
		name string
		rec  func(extra int) []io.Reader // the third line's record, max+extra bytes
		end  string                      // what follows it
		msg  string
	}{
		{"lf", func(e int) []io.Reader { return []io.Reader{s("2,"), x(max - 2 + e)} }, "\n3,z\n", "line longer"},
		{"crlf", func(e int) []io.Reader { return []io.Reader{s("2,"), x(max - 2 + e)} }, "\r\n3,z\r\n", "line longer"},
		{"last line without line end", func(e int) []io.Reader { return []io.Reader{s("2,"), x(max - 2 + e)} }, "", "line longer"},
		{"quoted with line breaks", func(e int) []io.Reader {
			return []io.Reader{s("2,\""), x(1000), s("\n"), x(max - 1007 + e), s("\r\n\"")}
		}, "\n3,z\n", "record longer"},
		{"quoted, crlf", func(e int) []io.Reader {
			return []io.Reader{s("\"2\",\""), x(1000), s("\n"), x(max - 1007 + e), s("\"")}
		}, "\r\n3,z\r\n", "record longer"},
	} {
		for _, extra := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/%+d", tc.name, extra), func(t *testing.T) {
				in := append([]io.Reader{s("a,b\n1,y\n")}, tc.rec(extra)...)
				in = append(in, s(tc.end))
				recs, rejs, err := read(t, `{}`, io.MultiReader(in...))
				if extra == 0 {
					want := 2
					if tc.end != "" {
						want = 3
					}
					if err != nil || len(rejs) > 0 || len(recs) != want {
						t.Fatalf("%d records, rejects %v, error %v", len(recs), rejs, err)
					}
					if l := len(recs[1].Values[0].Str()) + len(recs[1].Values[1].Str()); l < max-10 || l > max {
						t.Fatalf("record of %d bytes of text", l)
					}
					return
				}
				want := fmt.Sprintf("in.csv:3:1: %s than %d bytes", tc.msg, max)
				if err == nil || !strings.Contains(err.Error(), want) || len(recs) != 1 {
					t.Fatalf("%d records, error %v, want %q", len(recs), err, want)
				}
			})
		}
	}
}

// TestSurplusFieldsCapped: a record with more surplus fields than
// MaxSurplusFields keeps the first MaxSurplusFields of them in its reject.
func TestSurplusFieldsCapped(t *testing.T) {
	in := "a,b\n1,2" + strings.Repeat(",s", MaxSurplusFields+50) + "\n3,4\n"
	recs, rejs, err := read(t, `{}`, strings.NewReader(in))
	if err != nil || len(recs) != 1 || len(rejs) != 1 {
		t.Fatalf("%d records, %d rejects, %v", len(recs), len(rejs), err)
	}
	r := rejs[0]
	if want := fmt.Sprintf("%d fields, want 2", MaxSurplusFields+52); r.Reason != want {
		t.Errorf("reason %q, want %q", r.Reason, want)
	}
	sch := r.Record.Schema
	if sch.Len() != 2+MaxSurplusFields || sch.Field(2).Name != "_extra_1" || sch.Field(sch.Len()-1).Name != fmt.Sprintf("_extra_%d", MaxSurplusFields) {
		t.Fatalf("reject schema %s", sch)
	}
	if v := r.Record.Values[sch.Len()-1]; v.Str() != "s" {
		t.Errorf("last kept surplus value %v", v)
	}
}

// TestReadLineEndingDeprecated: line_ending means nothing to a reader,
// but pipelines that set it on csv.read keep loading (a deprecation
// warning from the host, not "unknown key") and read LF and CRLF alike.
func TestReadLineEndingDeprecated(t *testing.T) {
	rc, _ := Plugin().Component("read")
	f, ok := rc.Spec.Lookup("line_ending")
	if !ok || f.Deprecated == "" {
		t.Fatalf("csv.read line_ending: found %v, deprecated %q", ok, f.Deprecated)
	}
	recs, rejs, err := read(t, `{line_ending: crlf}`, strings.NewReader("a,b\n1,2\r\n3,4\n"))
	if err != nil || len(rejs) != 0 || len(recs) != 2 {
		t.Fatalf("%d records, %v rejects, %v", len(recs), rejs, err)
	}
}
