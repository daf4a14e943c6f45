package csvbench

import (
	"bytes"
	stdcsv "encoding/csv"
	"math/big"
	"strings"
	"testing"
)

func TestGenerateBenchCSV(t *testing.T) {
	var a, b bytes.Buffer
	if err := GenerateBenchCSV(&a, 1000, 42); err != nil {
		t.Fatal(err)
	}
	if err := GenerateBenchCSV(&b, 1000, 42); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("not deterministic")
	}
	recs, err := stdcsv.NewReader(bytes.NewReader(a.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1001 || strings.Join(recs[0], ",") != Header {
		t.Fatalf("got %d records, header %v", len(recs), recs[0])
	}
	over, quoted := 0, 0
	for _, r := range recs[1:] {
		iban := r[2]
		// ISO 13616: move the first four characters to the end, D=13, E=14, mod 97 == 1.
		num := iban[4:] + "1314" + iban[2:4]
		n, _ := new(big.Int).SetString(num, 10)
		if len(iban) != 22 || new(big.Int).Mod(n, big.NewInt(97)).Int64() != 1 {
			t.Fatalf("invalid IBAN %s", iban)
		}
		if len(r[3]) < 4 || r[3][len(r[3])-3] != '.' {
			t.Fatalf("amount %q", r[3])
		}
		if r[3] > "10.00" && len(r[3]) == 5 {
			over++
		}
		if strings.Contains(r[1], ",") {
			quoted++
		}
	}
	if over < 400 || over > 600 || quoted != 20 {
		t.Fatalf("%d amounts > 10, %d quoted names", over, quoted)
	}
}
