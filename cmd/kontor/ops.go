package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/notify"
	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state/statepool"
)

// newLogger returns the slog logger of a long-running command.
func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	o := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

// resolveSecret expands a flag value of the form ${env:NAME}; a plain
// value is returned as is.
func resolveSecret(v string) (string, error) {
	if name, ok := strings.CutPrefix(v, "${env:"); ok && strings.HasSuffix(name, "}") {
		name = strings.TrimSuffix(name, "}")
		val, ok := os.LookupEnv(name)
		if !ok || val == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return val, nil
	}
	return v, nil
}

// baseURLDefault is the navigator address used in notification links:
// KONTOR_BASE_URL.
func baseURLDefault() string { return os.Getenv("KONTOR_BASE_URL") }

// executor runs pipeline files in a long-running process (`kontor
// schedule`, the navigator's "run now"): a fresh load per run (edits apply
// without a restart), the shared state store of the pool (so the run lock
// also separates the scheduler and "run now" in one process), and
// notifications.
type executor struct {
	pool     *statepool.Pool
	plugins  *pluginFlags
	log      *slog.Logger
	stderr   io.Writer
	baseURL  string
	notifier *notify.Notifier
}

// run runs the pipeline file once and returns its report (never nil).
func (e *executor) run(ctx context.Context, file string) *runner.Report {
	start := time.Now()
	fail := func(status string, code int, msg string) *runner.Report {
		return &runner.Report{Pipeline: file, File: file, Status: status, ExitCode: code, Start: start, End: time.Now(),
			Error: msg, Steps: []runner.StepReport{}, Rejects: []runner.RejectReport{}, Outputs: []runner.OutputReport{}}
	}
	reg, closePlugins, code := e.plugins.registryFor(ctx, []string{file}, e.log, e.stderr)
	if reg == nil {
		return fail(runner.StatusInvalid, code, "cannot set up the plugins")
	}
	defer closePlugins()
	p, ds := spec.LoadFile(file, reg, loadOptions(func() time.Time { return start }))
	if ds.HasErrors() {
		for _, d := range ds.Errors() {
			e.log.Error("invalid pipeline", "file", file, "diagnostic", d.String())
		}
		rep := fail(runner.StatusInvalid, exitUsage, "invalid pipeline: "+ds.Errors()[0].String())
		if p != nil {
			rep.Pipeline = p.Name
			e.notify(ctx, p, rep)
		}
		return rep
	}
	store, err := e.pool.Store(p.Name)
	if err != nil {
		return fail("ERROR", exitError, err.Error())
	}
	rep, _ := runner.Run(ctx, p, runner.Options{Store: store, Start: start, Logger: e.log})
	e.notify(ctx, p, rep)
	return rep
}

func (e *executor) notify(ctx context.Context, p *spec.Pipeline, rep *runner.Report) {
	if p.Notify == nil || e.notifier == nil {
		return
	}
	_ = e.notifier.Notify(context.WithoutCancel(ctx), p.Notify, notify.FromReport(rep, e.baseURL), p.Secrets)
}

// constantTimeEqual compares secrets without leaking where they differ
// (or their length).
func constantTimeEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// notifyRun sends the pipeline's notifications for a `kontor run`
// (links use KONTOR_BASE_URL). Failures are logged only.
func notifyRun(ctx context.Context, p *spec.Pipeline, rep *runner.Report, logger *slog.Logger) {
	if p.Notify == nil {
		return
	}
	n := &notify.Notifier{Logger: logger}
	_ = n.Notify(context.WithoutCancel(ctx), p.Notify, notify.FromReport(rep, baseURLDefault()), p.Secrets)
}
