package fibu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func testEnv() sdk.Env {
	return sdk.Env{Step: "sinks[0] fibu.datev_extf", Logger: slog.New(slog.DiscardHandler), BatchSize: 1000,
		Now: time.Date(2024, 11, 23, 10, 0, 0, 0, time.UTC), State: &sdk.MemState{}}
}

func readAll(t testing.TB, name string, data []byte, cfg string) ([]record.Record, []record.Reject, error) {
	t.Helper()
	c, err := sdk.ParseConfig(extfReaderSpec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := newExtfDecoder(context.Background(), c, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	src, err := dec.Open(context.Background(), sdk.Input{Name: name, R: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var recs []record.Record
	var rejs []record.Reject
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return recs, rejs, nil
		}
		if err != nil {
			return recs, rejs, err
		}
		recs = append(recs, b.Records...)
		rejs = append(rejs, b.Rejects...)
	}
}

func writeAll(t testing.TB, cfg string, recs []record.Record) ([]byte, []record.Reject) {
	t.Helper()
	c, err := sdk.ParseConfig(extfWriterSpec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := newExtfEncoder(context.Background(), c, testEnv())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var buf bytes.Buffer
	sink, err := enc.Create(context.Background(), sdk.Output{Name: "out.csv", W: &buf})
	if err != nil {
		t.Fatal(err)
	}
	rej, err := sink.Write(context.Background(), &record.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), rej
}

const sampleHeaderCfg = `
berater: 29098
mandant: 55003
wj_beginn: "20240101"
sachkontenlaenge: 4
datum_vom: "20240101"
datum_bis: "20240831"
bezeichnung: Buchungsstapel
diktatkuerzel: WD
erzeugt_am: "20240130140440439"
herkunft: RE
preserve_scale: true
`

// TestOfficialSampleRoundTrip is the acceptance test: DATEV's official Buchungsstapel sample
// read and written again is byte-identical (CP1252, CRLF), with no record rejected.
func TestOfficialSampleRoundTrip(t *testing.T) {
	in, err := os.ReadFile("testdata/datev-official-sample_EXTF_Buchungsstapel.cp1252-crlf.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, rejs, err := readAll(t, "sample.csv", in, "kind: buchungsstapel")
	if err != nil {
		t.Fatal(err)
	}
	if len(rejs) > 0 || len(recs) != 54 {
		t.Fatalf("read %d records, %d rejects (%v)", len(recs), len(rejs), rejs)
	}
	if got := recs[0].Value("umsatz"); got.Kind() != record.KindDecimal || got.Decimal().String() != "100.18" {
		t.Fatalf("umsatz of row 1 = %#v", got)
	}
	out, wrej := writeAll(t, sampleHeaderCfg, recs)
	if len(wrej) > 0 {
		t.Fatalf("writer rejected %d records, first: %v", len(wrej), wrej[0].Error())
	}
	if !bytes.Equal(out, in) {
		ol, il := bytes.Split(out, []byte("\r\n")), bytes.Split(in, []byte("\r\n"))
		for i := range min(len(ol), len(il)) {
			if !bytes.Equal(ol[i], il[i]) {
				t.Fatalf("line %d differs:\n got %q\nwant %q", i+1, ol[i], il[i])
			}
		}
		t.Fatalf("output differs in length: %d vs %d bytes", len(out), len(in))
	}
	checkWrittenRows(t, out, 125)
}

func TestDebKredSampleRoundTrip(t *testing.T) {
	in, err := os.ReadFile("testdata/datev-official-sample_EXTF_DebKred_Stamm.cp1252-lf.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, rejs, err := readAll(t, "debkred.csv", in, "")
	if err != nil || len(rejs) > 0 || len(recs) != 4 {
		t.Fatalf("read %d records, %v rejects, err %v", len(recs), rejs, err)
	}
	out, wrej := writeAll(t, `{kind: debitoren_kreditoren, berater: 29098, mandant: 55003, wj_beginn: "20240101", erzeugt_am: "20240130140659583", line_ending: lf, preserve_scale: true}`, recs)
	if len(wrej) > 0 {
		t.Fatalf("writer rejected: %v", wrej[0].Error())
	}
	if !bytes.Equal(out, in) {
		ol, il := bytes.Split(out, []byte("\n")), bytes.Split(in, []byte("\n"))
		for i := range min(len(ol), len(il)) {
			if !bytes.Equal(ol[i], il[i]) {
				t.Fatalf("line %d differs:\n got %q\nwant %q", i+1, ol[i], il[i])
			}
		}
		t.Fatalf("length differs")
	}
}

// checkWrittenRows parses out independently (a plain ;-split that respects quotes) and checks
// every data row: exact column count, CRLF, and every value against DATEV's rules.
func checkWrittenRows(t *testing.T, out []byte, cols int) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Fatal("file does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(decode1252(out), "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d contains a bare line break", i+1)
		}
		fs, msg, _ := splitLine(l, ';', nil)
		if msg != "" {
			t.Fatalf("line %d: %s", i+1, msg)
		}
		if i == 0 {
			if len(fs) != HeaderFields {
				t.Fatalf("header has %d fields", len(fs))
			}
			continue
		}
		if len(fs) != cols {
			t.Fatalf("line %d has %d columns, want %d", i+1, len(fs), cols)
		}
		if i == 1 {
			continue
		}
		for j, f := range fs {
			c := Buchungsstapel.Columns[j]
			if c.Kind == KindText && !f.quoted {
				t.Fatalf("line %d column %d (%s) text not quoted", i+1, j+1, c.Caption)
			}
			if c.Kind != KindText && f.quoted && f.s != "" {
				t.Fatalf("line %d column %d (%s) number quoted", i+1, j+1, c.Caption)
			}
			if r, ok := buchungsstapelRules[j+1]; ok && f.s != "" {
				if r.intMax > 0 && c.Num == 1 {
					r.fracMin = 0 // the official sample has whole-number amounts
				}
				if reason := r.check(f.s, c.Kind); reason != "" {
					t.Fatalf("line %d column %d (%s): %s", i+1, j+1, c.Caption, reason)
				}
			}
		}
	}
}

func TestResavedCommaFileError(t *testing.T) {
	in, err := os.ReadFile("testdata/oca_datev_export_resaved_comma.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = readAll(t, "in/oca.csv", in, "")
	if !errors.Is(err, ErrNotExtf) {
		t.Fatalf("want ErrNotExtf, got %v", err)
	}
	want := `in/oca.csv:1:5: not a DATEV EXTF file: fields are separated by ',' instead of ';' (re-saved by a spreadsheet program?); text fields are not in quotes; unsupported format version 12 for category 22`
	if !strings.HasPrefix(err.Error(), "in/oca.csv:1:5: not a DATEV EXTF file: fields are separated by ','") {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
	for _, part := range []string{"category 22", "UTF-8 without byte order mark"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error lacks %q: %s", part, err)
		}
	}
}

func outputDiscard() sdk.Output { return sdk.Output{Name: "bench.csv", W: io.Discard} }
