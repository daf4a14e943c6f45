// Package csvbench generates deterministic CSV input for benchmarks of
// the whole pipeline (csv.read → filter → map → csv.write) and of the csv
// plugin itself.
package csvbench

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
)

// Header is the first line GenerateBenchCSV writes.
const Header = "id,name,iban,amount,date"

var (
	firstNames = []string{"Anna", "Bernd", "Claudia", "Dieter", "Elke", "Frank", "Gisela", "Hans",
		"Ingrid", "Jürgen", "Karin", "Lothar", "Monika", "Norbert", "Ute", "Zoë"}
	lastNames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
		"Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Groß"}
)

// GenerateBenchCSV writes a header and rows records with the columns
// id,name,iban,amount,date to w (UTF-8, comma, LF, ISO dates, '.' as
// decimal point). The output depends only on rows and seed.
//
//   - id counts from 1.
//   - name is "First Last"; every 50th name is "Last, First" and therefore
//     quoted, so readers also take their quoted path.
//   - iban looks like a German IBAN (DE, two digits, 18 digits) with
//     correct ISO 13616 check digits.
//   - amount has two decimals between 0.01 and 20.00, uniformly, so about
//     half of the rows are > 10.
//   - date lies in 2025 or 2026 (YYYY-MM-DD).
func GenerateBenchCSV(w io.Writer, rows int, seed int64) error {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6b6f6e746f72))
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(Header)
	bw.WriteByte('\n')
	var line []byte
	for i := 1; i <= rows; i++ {
		line = line[:0]
		line = strconv.AppendInt(line, int64(i), 10)
		line = append(line, ',')
		first := firstNames[rng.IntN(len(firstNames))]
		last := lastNames[rng.IntN(len(lastNames))]
		if i%50 == 0 {
			line = append(line, '"')
			line = append(line, last...)
			line = append(line, ", "...)
			line = append(line, first...)
			line = append(line, '"')
		} else {
			line = append(line, first...)
			line = append(line, ' ')
			line = append(line, last...)
		}
		line = append(line, ',')
		line = appendIBAN(line, rng)
		line = append(line, ',')
		cents := 1 + rng.IntN(2000)
		line = strconv.AppendInt(line, int64(cents/100), 10)
		line = append(line, '.', byte('0'+cents/10%10), byte('0'+cents%10))
		line = append(line, ',')
		y := 2025 + rng.IntN(2)
		m := 1 + rng.IntN(12)
		d := 1 + rng.IntN(28)
		line = strconv.AppendInt(line, int64(y), 10)
		line = append(line, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// appendIBAN appends a German-looking IBAN: DE, check digits, 8-digit bank
// code and 10-digit account number.
func appendIBAN(b []byte, rng *rand.Rand) []byte {
	var bban [18]byte
	for i := range bban {
		bban[i] = byte('0' + rng.IntN(10))
	}
	// mod 97 of BBAN + "DE00" (D=13, E=14).
	rem := 0
	for _, c := range bban {
		rem = (rem*10 + int(c-'0')) % 97
	}
	for _, v := range []int{1, 3, 1, 4, 0, 0} {
		rem = (rem*10 + v) % 97
	}
	check := 98 - rem
	b = append(b, 'D', 'E', byte('0'+check/10), byte('0'+check%10))
	return append(b, bban[:]...)
}
