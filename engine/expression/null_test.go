package expression

import (
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// A null string field (an optional camt element, a missing JSON key) reads
// as "" in expressions, so `return_reason != ""` routes only the records
// that have one and string operators never fail on a missing value.
// Regression: these used to reject every record with "interface
// conversion: any is nil, not string".
func TestNullStringFieldReadsAsEmpty(t *testing.T) {
	s := record.MustSchema(record.Field{Name: "a", Kind: record.KindString}, record.Field{Name: "n", Kind: record.KindInt})
	tests := []struct {
		src  string
		want string
	}{
		{`a != ""`, "false"},
		{`a == ""`, "true"},
		{`upper(a) + "x"`, "x"},
		{`len(a)`, "0"},
		{`a == "" ? "none" : a`, "none"},
	}
	for _, tc := range tests {
		p, err := Compile(tc.src, s, sdk.ExprValue)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		r := record.New(s, record.Origin{})
		v, err := p.Eval(r)
		if err != nil || v.String() != tc.want {
			t.Errorf("%s = %v, %v; want %s", tc.src, v, err, tc.want)
		}
	}
	// Non-string nulls stay null: arithmetic on a missing number is an error
	// (the record is rejected with the reason), not a silent zero.
	p, err := Compile(`n + 1`, s, sdk.ExprValue)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(record.New(s, record.Origin{})); err == nil {
		t.Error("n + 1 with null n: no error")
	}
}
