package pluginhost

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestHCLoggerPathKey: go-plugin logs a crashed plugin as "plugin process
// exited" with plugin=<binary path>; the host's logger already has
// plugin=<name>. Regression: the line read "plugin=acme
// plugin=bin/kontor-plugin-acme" (and JSON logs got the key twice); the
// path now goes under path=.
func TestHCLoggerPathKey(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("plugin", "acme")
	hl := newHCLogger(base, nil)
	args := []any{"plugin", "bin/kontor-plugin-acme", "id", 4242, "error", "signal: killed"}
	hl.Error("plugin process exited", args...)
	if args[0] != "plugin" {
		t.Errorf("the caller's args were modified: %v", args)
	}

	line := strings.TrimSpace(buf.String())
	if n := strings.Count(line, `"plugin":`); n != 1 {
		t.Errorf("key plugin appears %d times: %s", n, line)
	}
	var crash map[string]any
	if err := json.Unmarshal([]byte(line), &crash); err != nil {
		t.Fatal(err)
	}
	if crash["plugin"] != "acme" || crash["path"] != "bin/kontor-plugin-acme" || crash["level"] != "ERROR" || crash["id"] != float64(4242) {
		t.Errorf("crash line: %s", line)
	}
}
