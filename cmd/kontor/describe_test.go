package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDescribeBuiltins pins `kontor plugins describe` for every built-in
// component (testdata/describe/<type>.md; go test -update rewrites them), so
// a change to a component's spec, defaults or descriptions shows up in
// review as a change to the reference integrators read.
func TestDescribeBuiltins(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no plugins of this machine's ~/.kontor/plugins: only built-ins and the example
	code, out, errs := runCLI(t, "plugins", "list")
	if code != 0 {
		t.Fatalf("plugins list: exit %d\n%s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("plugins list printed %q", out)
	}
	n := 0
	for _, l := range lines[1:] { // the first line is the table header
		fs := strings.Fields(l)
		if len(fs) == 0 {
			continue
		}
		typ := fs[0]
		n++
		t.Run(typ, func(t *testing.T) {
			code, out, errs := runCLI(t, "plugins", "describe", typ)
			if code != 0 || errs != "" {
				t.Fatalf("describe %s: exit %d\n%s", typ, code, errs)
			}
			checkGolden(t, filepath.Join("testdata", "describe", typ+".md"), []byte(out))
		})
	}
	if n < 20 {
		t.Errorf("only %d components listed", n)
	}
}
