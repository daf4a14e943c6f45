package sepa

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/calendar"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testOutput is an sdk.Output over a buffer with real scratch files.
func testOutput(t testing.TB, name string, w *bytes.Buffer) sdk.Output {
	dir := t.TempDir()
	return sdk.Output{Name: name, W: w, Temp: func() (sdk.TempFile, error) {
		return os.CreateTemp(dir, "scratch-*")
	}}
}

// caseFile is config.yaml of a golden case.
type caseFile struct {
	Sink   string         `yaml:"sink"`   // pain008 or pain001
	Now    string         `yaml:"now"`    // RFC 3339 run time
	Config map[string]any `yaml:"config"` // the component config
}

// readCSV turns input.csv into string records (empty cells are null).
func readCSV(t testing.TB, path string) []record.Record {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	schema, err := record.StringSchema(rows[0]...)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	for i, row := range rows[1:] {
		r := record.New(schema, record.Origin{File: filepath.Base(path), Line: i + 2, Index: int64(i + 1)})
		for j, v := range row {
			if j < len(r.Values) && v != "" {
				r.Values[j] = record.String(v)
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// runPain writes records through a pain sink and returns the file and rejects.
func runPain(t testing.TB, sink string, cfg sdk.Config, now time.Time, recs []record.Record) ([]byte, []record.Reject, error) {
	t.Helper()
	var comp sdk.Component
	switch sink {
	case "pain008":
		comp = Pain008Component()
	case "pain001":
		comp = Pain001Component()
	default:
		t.Fatalf("unknown sink %q", sink)
	}
	env := sdk.Env{Step: "sepa." + sink, Now: now, State: &sdk.MemState{}, BatchSize: 1000}
	enc, err := comp.NewEncoder(context.Background(), sdk.ApplyDefaults(comp.Spec, cfg), env)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	s, err := enc.Create(context.Background(), testOutput(t, "out.xml", &buf))
	if err != nil {
		return nil, nil, err
	}
	var rejects []record.Reject
	for start := 0; start < len(recs); start += 3 { // small batches on purpose
		end := min(start+3, len(recs))
		rj, err := s.Write(context.Background(), &record.Batch{Records: recs[start:end]})
		rejects = append(rejects, rj...)
		if err != nil {
			return nil, rejects, err
		}
	}
	if err := s.Close(context.Background()); err != nil {
		return nil, rejects, err
	}
	return buf.Bytes(), rejects, nil
}

func renderRejects(rs []record.Reject) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s: %s: %s\n", r.Record.Origin, r.Field, r.Reason)
	}
	return b.String()
}

// schemasFor returns the ISO and DK schema of a message version.
func schemasFor(version string) []string {
	dk := map[string]string{
		Pain008V08: "pain.008.001.08_GBIC_5.xsd",
		Pain008V02: "pain.008.001.02_GBIC_3.xsd",
		Pain001V09: "pain.001.001.09_GBIC_5.xsd",
		Pain001V03: "pain.001.001.03_GBIC_3.xsd",
	}[version]
	return []string{filepath.Join("testdata", "xsd", version+".xsd"), filepath.Join("testdata", "xsd", dk)}
}

// requireXmllint returns the xmllint path; without it the test is skipped
// locally and fails in CI (CI=true).
func requireXmllint(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found (install libxml2-utils): schema validation is required in CI")
		}
		t.Skip("xmllint not found; install libxml2-utils to validate against the XSDs")
	}
	return p
}

// validateXSD validates doc against the ISO and the DK schema of version.
func validateXSD(t testing.TB, doc []byte, version string) {
	t.Helper()
	xl := requireXmllint(t)
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, xsd := range schemasFor(version) {
		out, err := exec.Command(xl, "--noout", "--schema", xsd, f).CombinedOutput()
		if err != nil {
			t.Errorf("not valid against %s:\n%s", filepath.Base(xsd), out)
		}
	}
}

func versionOf(doc []byte) string {
	for _, v := range []string{Pain008V08, Pain008V02, Pain001V09, Pain001V03} {
		if bytes.Contains(doc, []byte(`xsd:`+v+`"`)) {
			return v
		}
	}
	return ""
}

// TestPainGolden runs every folder in testdata/pain: config.yaml (sink,
// now, config), input.csv, want.xml (absent when the run must fail),
// want_rejects.txt and, for failing runs, want_error.txt.
func TestPainGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/pain/*")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var c caseFile
			if err := yaml.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			now, err := time.Parse(time.RFC3339, c.Now)
			if err != nil {
				t.Fatal(err)
			}
			recs := readCSV(t, filepath.Join(dir, "input.csv"))
			doc, rejects, err := runPain(t, c.Sink, sdk.Config(c.Config), now, recs)
			gotErr := ""
			if err != nil {
				gotErr = err.Error() + "\n"
			}
			golden(t, filepath.Join(dir, "want_error.txt"), []byte(gotErr))
			golden(t, filepath.Join(dir, "want_rejects.txt"), []byte(renderRejects(rejects)))
			if err != nil {
				return
			}
			golden(t, filepath.Join(dir, "want.xml"), doc)
			t.Run("xsd", func(t *testing.T) { validateXSD(t, doc, versionOf(doc)) })
		})
	}
}

// golden compares got with the file (an empty got means "file absent").
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			_ = os.Remove(path)
			return
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		want = nil
	} else if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestPainIDAfterLaterReject: a record rejected by a check after the
// duplicate check (here: the 257th payment group) must not leave its
// end-to-end id or, in pain.008, its mandate's sequence history behind;
// a later valid record with the same id (and mandate M-X, FRST again) is
// written, not rejected as a "duplicate".
func TestPainIDAfterLaterReject(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	first := calendar.AddTargetDays(record.DateOf(now), 2)
	for _, tc := range []struct {
		sink    string
		cfg     sdk.Config
		cols    []string
		row     func(id string, date record.Date, seq string) []string
		dateCol string
	}{
		{sink: "pain001", cfg: sdk.Config{
			"debtor": map[string]any{"name": "Stadttheater Musterstadt", "iban": "DE89370400440532013000"},
			"fields": map[string]any{"creditor_iban": "iban", "creditor_name": "name", "execution_date": "date"},
		}, cols: []string{"end_to_end_id", "amount", "name", "iban", "date"},
			row: func(id string, date record.Date, _ string) []string {
				return []string{id, "1.00", "Anna Schmidt", "DE02120300000000202051", date.String()}
			}, dateCol: "date"},
		{sink: "pain008", cfg: sdk.Config{
			"creditor": map[string]any{"name": "Stadttheater Musterstadt", "iban": "DE89370400440532013000",
				"creditor_id": "DE98ZZZ09999999999"},
			"fields": map[string]any{"debtor_iban": "iban", "debtor_name": "name", "collection_date": "date",
				"mandate_id": "mandat", "sequence_type": "seq"},
		}, cols: []string{"end_to_end_id", "amount", "name", "iban", "mandat", "mandate_date", "seq", "date"},
			row: func(id string, date record.Date, seq string) []string {
				return []string{id, "1.00", "Anna Schmidt", "DE02120300000000202051", "M-" + id, "2024-01-15", seq, date.String()}
			}, dateCol: "date"},
	} {
		t.Run(tc.sink, func(t *testing.T) {
			schema, err := record.StringSchema(tc.cols...)
			if err != nil {
				t.Fatal(err)
			}
			var recs []record.Record
			addRow := func(vals []string) {
				r := record.New(schema, record.Origin{File: "in.csv", Line: len(recs) + 2, Index: int64(len(recs) + 1)})
				for i, v := range vals {
					r.Values[i] = record.String(v)
				}
				recs = append(recs, r)
			}
			for i := range maxGroups { // one group per date: the file's limit
				seq := "RCUR"
				if i == 0 {
					seq = "FRST" // pain.008 groups by sequence type, too
				}
				addRow(tc.row(fmt.Sprintf("G-%d", i), calendar.AddTargetDays(first, i), seq))
			}
			addRow(tc.row("X", calendar.AddTargetDays(first, maxGroups), "FRST")) // group 257: rejected
			addRow(tc.row("X", first, "FRST"))                                    // the same id, valid
			doc, rejects, err := runPain(t, tc.sink, tc.cfg, now, recs)
			if err != nil {
				t.Fatalf("%v; rejects:\n%s", err, renderRejects(rejects))
			}
			if len(rejects) != 1 || rejects[0].Record.Origin.Line != maxGroups+2 || rejects[0].Field != tc.dateCol ||
				!strings.Contains(rejects[0].Reason, "more than 256 payment groups") {
				t.Fatalf("rejects:\n%s", renderRejects(rejects))
			}
			if n := bytes.Count(doc, []byte("<EndToEndId>X</EndToEndId>")); n != 1 {
				t.Fatalf("end-to-end id X written %d times, want 1", n)
			}
			if want := fmt.Sprintf("<NbOfTxs>%d</NbOfTxs>", maxGroups+1); !bytes.Contains(doc, []byte(want)) {
				t.Errorf("group header lacks %s", want)
			}
			validateXSD(t, doc, versionOf(doc))
		})
	}
}

// TestPainCutoff: with cutoff 10:30 and min_lead_days 1, tomorrow is a
// valid collection date for a run at 10:30 and too early for one at 10:31.
func TestPainCutoff(t *testing.T) {
	cfg := sdk.Config{
		"creditor": map[string]any{"name": "Stadttheater Musterstadt", "iban": "DE89370400440532013000",
			"creditor_id": "DE98ZZZ09999999999"},
		"cutoff": "10:30",
	}
	schema, err := record.StringSchema("end_to_end_id", "amount", "debtor_name", "debtor_iban", "mandate_id", "mandate_date", "collection_date")
	if err != nil {
		t.Fatal(err)
	}
	r := record.New(schema, record.Origin{File: "in.csv", Line: 2, Index: 1})
	for i, v := range []string{"E-1", "1.00", "Anna Schmidt", "DE02500105170137075030", "M-1", "2025-01-01", "2026-11-24"} {
		r.Values[i] = record.String(v)
	}
	cet := time.FixedZone("CET", 3600)
	// 10:30 is not after the cut-off: tomorrow is 1 TARGET2 day ahead.
	doc, rejects, err := runPain(t, "pain008", cfg, time.Date(2026, 11, 23, 10, 30, 0, 0, cet), []record.Record{r})
	if err != nil || len(rejects) != 0 || !bytes.Contains(doc, []byte("<ReqdColltnDt>2026-11-24</ReqdColltnDt>")) {
		t.Fatalf("10:30: err %v, rejects:\n%s", err, renderRejects(rejects))
	}
	// 10:31: day 0 is tomorrow, so tomorrow is too early; no valid record is left.
	_, rejects, err = runPain(t, "pain008", cfg, time.Date(2026, 11, 23, 10, 31, 0, 0, cet), []record.Record{r})
	if !errors.Is(err, ErrNoTransactions) || len(rejects) != 1 || rejects[0].Field != "collection_date" ||
		!strings.Contains(rejects[0].Reason, "first possible collection date is 2026-11-25") ||
		!strings.Contains(rejects[0].Reason, "after the cut-off 10:30") {
		t.Fatalf("10:31: err %v, rejects:\n%s", err, renderRejects(rejects))
	}
}
