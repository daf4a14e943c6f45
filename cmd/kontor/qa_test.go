package main

import (
	"strings"
	"testing"
)

// TestTestCommandTakesTestFile: `kontor test p_test.yaml` tests p.yaml (the
// test file names its pipeline), and -v is accepted as `kontor help` says.
func TestTestCommandTakesTestFile(t *testing.T) {
	code, out, errs := runCLI(t, "test", "-v", "../../pipelines/abo-export_test.yaml")
	if code != 0 || !strings.Contains(out, "passed, 0 failed") || !strings.Contains(out, "abo-export.yaml") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}
