// Command gencolumns generates plugins/fibu/columns_gen.go, the column tables of the DATEV
// EXTF formats, from DATEV's official sample files in plugins/fibu/testdata: the captions come
// from line 2 of each sample; the column kinds of Buchungsstapel are fixed below (DATEV's field
// table), those of Debitoren/Kreditoren are derived from the quoting of the sample's data rows.
// Run it with `go generate ./plugins/fibu` (the directive is in plugins/fibu/extf.go);
// TestColumnsGenUpToDate fails when the committed file differs from the generator's output.
//
// The logic lives in package columns (Generate) so the test can call it without a build.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kontor-etl/kontor/plugins/fibu/internal/gencolumns/columns"
)

func main() {
	dir := flag.String("dir", ".", "the plugins/fibu directory")
	flag.Parse()
	bs, err := os.ReadFile(filepath.Join(*dir, columns.BuchungsstapelSample))
	if err != nil {
		fail(err)
	}
	dk, err := os.ReadFile(filepath.Join(*dir, columns.DebKredSample))
	if err != nil {
		fail(err)
	}
	src, err := columns.Generate(bs, dk)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "columns_gen.go"), src, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gencolumns:", err)
	os.Exit(1)
}
