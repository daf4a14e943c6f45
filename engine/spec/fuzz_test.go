package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no input makes the loader panic and that every
// diagnostic has a position.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(diagDir, "*.yaml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(goodPipeline))
	f.Add([]byte("version: 1\nsource: &a {type: csv.read, path: x}\nsinks: [*a]\n"))
	f.Add([]byte("version: 1\nsource: {type: csv.read, path: \"${env:\"}\nsinks: [{type: csv.write, path: y, when: \"a >\"}]\n"))
	reg := testReg()
	opts := testOpts()
	opts.ReadFile = func(string) ([]byte, error) { return []byte("secret"), nil }
	f.Fuzz(func(t *testing.T, src []byte) {
		p, ds := Load("fuzz.yaml", src, reg, opts)
		if p == nil && len(ds) == 0 {
			t.Fatal("nil pipeline without diagnostics")
		}
		for _, d := range ds {
			if d.Pos.Line <= 0 {
				t.Fatalf("diagnostic without line: %s", d)
			}
		}
	})
}
