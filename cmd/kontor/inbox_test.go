package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An empty drop-folder inbox: `kontor run` ends as exchange.on_empty says
// and its summary line says why nothing was read.
func TestRunEmptyInboxSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		onEmpty string
		code    int
	}{{"ok", 0}, {"warning", 3}} {
		t.Run(tc.onEmpty, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "inbox.yaml")
			src := "version: 1\nname: inbox\nsource:\n  type: csv.read\n  path: in/orders_*.csv\n  exchange:\n    on_empty: " + tc.onEmpty +
				"\n  columns:\n    - {name: id, type: int}\nsinks:\n  - type: csv.write\n    path: out/orders.csv\n"
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "run", p, "--state-dir", filepath.Join(dir, "state"))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, "0 records read (inbox in: no files matching orders_*.csv)") {
				t.Errorf("the summary does not say why nothing was read:\n%s%s", stdout, stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "orders.csv")); !os.IsNotExist(err) {
				t.Errorf("an empty inbox wrote an output file (%v)", err)
			}
		})
	}
}
