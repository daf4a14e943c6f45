// Command benchgen writes the input and the pipeline of the large
// end-to-end benchmark (make bench): DIR/in/bench.csv with ROWS generated
// rows (id,name,iban,amount,date; plugins/csv/csvbench) and DIR/bench.yaml
// (csv.read -> filter amount > 10 -> map name: upper(name) -> csv.write).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kontor-etl/kontor/plugins/csv/csvbench"
)

const pipeline = `version: 1
name: bench
source:
  type: csv.read
  path: in/bench.csv
  columns:
    - {name: id, type: int}
    - {name: name}
    - {name: iban}
    - {name: amount, type: decimal}
    - {name: date, type: date}
transforms:
  - type: filter
    condition: amount > 10
  - type: map
    set:
      name: upper(name)
sinks:
  - type: csv.write
    path: out/bench.csv
`

func main() {
	rows := flag.Int("rows", 1_000_000, "number of rows to generate")
	dir := flag.String("dir", "", "output directory (required)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchgen: -dir is required")
		os.Exit(2)
	}
	if err := run(*dir, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func run(dir string, rows int) error {
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(pipeline), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "in", "bench.csv"))
	if err != nil {
		return err
	}
	if err := csvbench.GenerateBenchCSV(f, rows, 1); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
