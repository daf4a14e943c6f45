package kassenzeichen

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// TestGenerateAdversarial: input a Kassenzeichen cannot be built from
// rejects the record naming the field; the number range is used exactly up
// to sequence.to, and a record rejected before numbering consumes no number.
func TestGenerateAdversarial(t *testing.T) {
	sc := record.MustSchema(record.Field{Name: "jahr"}, record.Field{Name: "kd"})
	mk := func(jahr, kd any) record.Record {
		r := record.New(sc, record.Origin{File: "in.csv", Line: 2})
		for i, v := range []any{jahr, kd} {
			x, err := record.FromAny(v)
			if err != nil {
				t.Fatal(err)
			}
			r.Values[i] = x
		}
		return r
	}
	cfg := `
pool: t
segments:
  - {type: year, field: jahr}
  - {type: field, field: kd, width: 4}
  - {type: sequence, width: 2}
sequence: {from: 98, to: 99}
check_digit: {method: mod11, map10: X}
mask: "####-####-##-#"
`
	var log bytes.Buffer
	g, _ := newGen(t, cfg, &log)
	cases := []struct {
		jahr, kd any
		field    string
		reason   string
	}{
		{int64(10000), "1", "jahr", "fiscal year 10000 is not a four-digit year"},
		{int64(25), "1", "jahr", "fiscal year 25 is not a four-digit year"},
		{int64(-1), "1", "jahr", "fiscal year -1 is not a four-digit year"},
		{"2025-13-01", "1", "jahr", `"2025-13-01" is neither a date nor a year`},
		{int64(2025), "12a4", "kd", `"12a4" is not a number`},
		{int64(2025), "４７１１", "kd", "is not a number"},
		{int64(2025), "-1", "kd", `"-1" is not a number`},
		{int64(2025), "12345", "kd", "more than 4 digits"},
		{int64(2025), "", "kd", "empty, but part of the Kassenzeichen"},
	}
	var in []record.Record
	for _, tc := range cases {
		in = append(in, mk(tc.jahr, tc.kd))
	}
	out := &record.Batch{}
	if err := g.Process(context.Background(), &record.Batch{Records: in}, out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 0 || len(out.Rejects) != len(cases) {
		t.Fatalf("records %d, rejects %v", len(out.Records), out.Rejects)
	}
	for i, tc := range cases {
		if r := out.Rejects[i]; r.Field != tc.field || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%v/%v: reject %s: %s, want %s: %s", tc.jahr, tc.kd, r.Field, r.Reason, tc.field, tc.reason)
		}
	}
	// The rejects consumed no number: 98 and 99 (the last) are still free.
	out = &record.Batch{}
	if err := g.Process(context.Background(), &record.Batch{Records: []record.Record{mk(int64(2025), "7"), mk(int64(2025), "8")}}, out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 2 || !strings.HasPrefix(out.Records[0].Value("kassenzeichen").Str(), "2025-0007-98-") ||
		!strings.HasPrefix(out.Records[1].Value("kassenzeichen").Str(), "2025-0008-99-") {
		t.Fatalf("records %v rejects %v", out.Records, out.Rejects)
	}
	// Every generated Kassenzeichen passes validate with the same method and mask,
	// also when the check character is the letter X.
	v, err := newValidate(context.Background(), sdk.Config{"check_digit": map[string]any{"method": "mod11", "map10": "X"}, "mask": "####-####-##-#"}, sdk.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Records {
		if reason := v.(*validate).Check(r.Value("kassenzeichen").Str()); reason != "" {
			t.Fatalf("%s: %s", r.Value("kassenzeichen").Str(), reason)
		}
	}
	// After the last number the run fails; nothing is written with a number outside the range.
	err = g.Process(context.Background(), &record.Batch{Records: []record.Record{mk(int64(2025), "9")}}, &record.Batch{})
	if err == nil || !strings.Contains(err.Error(), "kassenzeichen.t: number range 98..99 exhausted (needed up to 100)") {
		t.Fatalf("want exhaustion, got %v", err)
	}
}

// TestCheckLetterInMask: a mod11 check letter X fills the last # of a
// generated Kassenzeichen; validate with the same mask accepts it, and a
// letter anywhere else is still a mask error.
func TestCheckLetterInMask(t *testing.T) {
	v, err := newValidate(context.Background(), sdk.Config{"check_digit": map[string]any{"method": "mod11", "map10": "X"}, "mask": "####-#"}, sdk.Env{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := v.(*validate).method.Compute("0006")
	if err != nil || want != "X" {
		t.Fatalf("fixture: check character of 0006 is %q (%v), want X", want, err)
	}
	for s, reason := range map[string]string{
		"0006-X": "",
		"0006-x": "",
		"0006-0": "check digit mismatch",
		"000X-6": "does not match the mask",
		"0006X":  "does not match the mask",
	} {
		got := v.(*validate).Check(s)
		if reason == "" && got != "" || reason != "" && !strings.Contains(got, reason) {
			t.Errorf("%s: got %q, want %q", s, got, reason)
		}
	}
	// With method none there is no check letter: X is a mask error.
	n, _ := newValidate(context.Background(), sdk.Config{"mask": "####-#"}, sdk.Env{})
	if got := n.(*validate).Check("0006-X"); !strings.Contains(got, "does not match the mask") {
		t.Errorf("method none: %q", got)
	}
}

func TestGenerateDefaultMustBeDigits(t *testing.T) {
	_, err := build(GenerateConfig{Pool: "x", Segments: []Segment{{Type: "einnahmeart", Field: "a", Map: map[string]string{"o": "8057"}, Default: "80A0"}}}, sdk.Env{})
	if err == nil || !strings.Contains(err.Error(), `segments[0].default: must be digits, got "80A0"`) {
		t.Fatalf("got %v", err)
	}
}
