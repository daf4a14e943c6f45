// Command gen writes banking/iban_registry.go from the IBAN registry CSV.
//
//	go run ./internal/registrygen/gen testdata/iban_registry_ibantools-4.5.4.csv iban_registry.go
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kontor-etl/kontor/plugins/sdk/banking/internal/registrygen"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen <registry.csv> <out.go>")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	src, err := registrygen.Generate(f, filepath.ToSlash(os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
