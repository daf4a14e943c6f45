package fibu

import (
	"bytes"
	"os"
	"testing"

	"github.com/kontor-etl/kontor/plugins/fibu/internal/gencolumns/columns"
)

// TestColumnsGenUpToDate fails when columns_gen.go is not what `go generate ./plugins/fibu`
// produces from the sample files in testdata (hand edits or a changed generator).
func TestColumnsGenUpToDate(t *testing.T) {
	bs, err := os.ReadFile(columns.BuchungsstapelSample)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := os.ReadFile(columns.DebKredSample)
	if err != nil {
		t.Fatal(err)
	}
	want, err := columns.Generate(bs, dk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("columns_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("columns_gen.go is stale: run go generate ./plugins/fibu")
	}
	if len(buchungsstapelColumns) != 125 || len(debKredColumns) != 254 {
		t.Fatalf("tables have %d and %d columns", len(buchungsstapelColumns), len(debKredColumns))
	}
}

func TestColumnKeys(t *testing.T) {
	for _, tc := range []struct{ caption, key string }{
		{"Gegenkonto (ohne BU-Schlüssel)", "gegenkonto_ohne_bu_schluessel"},
		{"Zusatzinformation- Inhalt 1", "zusatzinformation_inhalt_1"},
		{"Skonto 1 %", "skonto_1_prozent"},
		{"Geschäftspartnerbank", "geschaeftspartnerbank"},
		{"L+L", "l_l"},
	} {
		if got := columns.Key(tc.caption); got != tc.key {
			t.Errorf("Key(%q) = %q, want %q", tc.caption, got, tc.key)
		}
	}
	seen := map[string]bool{}
	for _, cs := range [][]Column{buchungsstapelColumns, debKredColumns} {
		clear(seen)
		for i, c := range cs {
			if c.Num != i+1 || seen[c.Key] {
				t.Fatalf("column %d: num %d, duplicate key %v", i+1, c.Num, seen[c.Key])
			}
			seen[c.Key] = true
		}
	}
}
