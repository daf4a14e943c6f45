package pluginhost

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hcLogger adapts the host's slog logger to hclog, which go-plugin uses for
// its own messages and for the lines the plugin process writes to stderr
// (go-plugin names the logger after the binary for those). Components'
// log lines do not come this way: they travel over the protocol to their
// step's logger (Host.Log). What the process writes to stderr itself (a
// panic, a stray print) goes to route's logger when route returns one —
// the logger of an open component of the plugin, i.e. the runner's
// redacting logger during a run — and to l otherwise.
type hcLogger struct {
	l     *slog.Logger
	name  string
	args  []any
	route func() *slog.Logger
}

func newHCLogger(l *slog.Logger, route func() *slog.Logger) hclog.Logger {
	return &hcLogger{l: l, route: route}
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Info, hclog.NoLevel, hclog.DefaultLevel:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	// go-plugin's own chatter (starting, handshakes, exits) is debug;
	// the plugin's log lines keep their level.
	lv := slogLevel(level)
	if h.name == "" {
		if lv < slog.LevelError {
			lv = slog.LevelDebug
		}
		args = renamePluginKey(args)
	}
	l := h.l
	if h.name != "" && h.route != nil {
		if r := h.route(); r != nil {
			l = r
		}
	}
	l.Log(context.Background(), lv, msg, append(append([]any(nil), h.args...), args...)...)
}

// renamePluginKey renames the key "plugin" of go-plugin's own messages
// ("plugin process exited", plugin=<binary path>) to "path": the host's
// logger already carries plugin=<name>, and the same key twice in one line
// is ambiguous (and collides in JSON logs). args is not modified.
func renamePluginKey(args []any) []any {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == "plugin" {
			out := append([]any(nil), args...)
			out[i] = "path"
			return out
		}
	}
	return args
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }
func (h *hcLogger) IsTrace() bool                 { return false }
func (h *hcLogger) IsDebug() bool                 { return h.l.Enabled(context.Background(), slog.LevelDebug) }
func (h *hcLogger) IsInfo() bool                  { return h.l.Enabled(context.Background(), slog.LevelInfo) }
func (h *hcLogger) IsWarn() bool                  { return h.l.Enabled(context.Background(), slog.LevelWarn) }
func (h *hcLogger) IsError() bool                 { return true }
func (h *hcLogger) ImpliedArgs() []any            { return h.args }
func (h *hcLogger) With(args ...any) hclog.Logger {
	return &hcLogger{l: h.l, name: h.name, args: append(append([]any(nil), h.args...), args...), route: h.route}
}
func (h *hcLogger) Name() string { return h.name }
func (h *hcLogger) Named(name string) hclog.Logger {
	n := name
	if h.name != "" {
		n = h.name + "." + name
	}
	return &hcLogger{l: h.l, name: n, args: h.args, route: h.route}
}
func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	return &hcLogger{l: h.l, name: name, args: h.args, route: h.route}
}
func (h *hcLogger) SetLevel(hclog.Level)  {}
func (h *hcLogger) GetLevel() hclog.Level { return hclog.Trace }
func (h *hcLogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(nil), "", 0)
}
func (h *hcLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) { h.Info(string(p)); return len(p), nil })
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// lineLog is the SyncStdout/SyncStderr of a plugin process: what the
// plugin's code writes to os.Stdout or os.Stderr (go-plugin forwards both
// over the connection) is logged line by line at info level with
// stream=stdout|stderr, through route's logger when it returns one (see
// hcLogger), else through l.
type lineLog struct {
	mu     sync.Mutex
	l      *slog.Logger
	route  func() *slog.Logger
	stream string
	buf    []byte
}

// maxLogLine bounds a line kept while waiting for its newline.
const maxLogLine = 64 << 10

func (w *lineLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) >= maxLogLine {
				w.emit()
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineLog) emit() {
	line := strings.TrimRight(string(w.buf), "\r")
	w.buf = w.buf[:0]
	if line == "" {
		return
	}
	l := w.l
	if r := w.route(); r != nil {
		l = r
	}
	l.Info(line, "stream", w.stream)
}
