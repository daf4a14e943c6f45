package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "PIPELINE [flags]", stderr)
	dry := fs.Bool("dry-run", false, "run everything but commit nothing (no output file, state unchanged); print a preview")
	reportPath := fs.String("report", "", "write the JSON run report to `FILE` (atomically, whatever the outcome)")
	stateDir := fs.String("state-dir", duckstate.DefaultDir, "`DIR`ectory of the state databases, one DuckDB file per pipeline; \"memory\" keeps no state")
	since := fs.String("since", "", "start of the incremental window (`TIME`: RFC 3339 or YYYY-MM-DD) instead of the last successful run's")
	wait := durationFlag(fs, "wait", 0, "wait up to `DURATION` (30s, 5m) for the pipeline's run lock (default: exit 4 at once when it is held)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	quiet := fs.Bool("q", false, "log only warnings and errors")
	plugins := addPluginFlags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (for developers; see go tool pprof)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageErr(fs, "want exactly one pipeline file, got %d arguments", len(pos))
	}
	bar := newProgressBar(stderr) // nil unless stderr is a terminal
	if bar != nil && !*quiet {
		stderr = bar
	}
	var sinceT time.Time
	if *since != "" {
		t, err := parseTime(*since)
		if err != nil {
			return usageErr(fs, "--since: %v", err)
		}
		sinceT = t
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return usageErr(fs, "--log-format: want text or json, got %q", *logFormat)
	}
	logger := slog.New(h)

	file := pos[0]
	reg, closePlugins, code := plugins.registryFor(ctx, pos, logger, stderr)
	if reg == nil {
		return code
	}
	defer closePlugins()
	start := time.Now()
	p, ds := spec.LoadFile(file, reg, loadOptions(func() time.Time { return start }))
	printDiags(stderr, file, ds)
	if ds.HasErrors() {
		if *reportPath != "" {
			rep := &runner.Report{Pipeline: file, File: file, Status: runner.StatusInvalid, ExitCode: exitUsage,
				DryRun: *dry, Start: start, End: time.Now(), Error: "invalid pipeline", Steps: []runner.StepReport{},
				Rejects: []runner.RejectReport{}, Outputs: []runner.OutputReport{}}
			for _, d := range ds.Errors() {
				rep.Diagnostics = append(rep.Diagnostics, d.String())
			}
			if err := rep.WriteFile(*reportPath); err != nil {
				fmt.Fprintf(stderr, "kontor run: %v\n", err)
			}
		}
		return exitUsage
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "kontor run: %v\n", err)
			return exitError
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "kontor run: %v\n", err)
			return exitError
		}
		defer pprof.StopCPUProfile()
	}

	var store state.Store
	if *stateDir != "memory" {
		s, err := duckstate.Open(*stateDir, p.Name)
		if err != nil {
			fmt.Fprintf(stderr, "kontor run: %v\n", err)
			return exitError
		}
		defer s.Close()
		store = s
	}
	rep, err := runner.Run(ctx, p, runner.Options{
		DryRun: *dry, ReportPath: *reportPath, Store: store, Wait: *wait, Since: sinceT,
		Start: start, Logger: logger, Stdout: stdout, Progress: bar.progress(*quiet),
	})
	bar.done()
	notifyRun(ctx, p, rep, logger)
	var inv *runner.InvalidError
	switch {
	case errors.As(err, &inv):
		src, _ := os.ReadFile(file)
		withSnippets(inv.Diags, file, src).WriteText(stderr)
	case errors.Is(err, state.ErrLocked):
		fmt.Fprintf(stderr, "kontor run: %s\n", lockedMessage(p.Name, *stateDir, *wait, err))
	case err != nil:
		fmt.Fprintf(stderr, "kontor run: %s: %v\n", p.Name, err)
	}
	summarize(stdout, rep)
	return rep.ExitCode
}

// lockedMessage says in one sentence that the pipeline was not run because
// another run holds its lock: who holds it (what the state store added to
// state.ErrLocked, e.g. "(lock held by pid 42 on host since ...)"), where
// the state is, and how long this run waited or how to wait.
func lockedMessage(name, stateDir string, wait time.Duration, err error) string {
	var parts []string
	if _, after, ok := strings.Cut(err.Error(), state.ErrLocked.Error()); ok {
		if d := strings.Trim(strings.TrimSpace(after), "()"); d != "" {
			parts = append(parts, d)
		}
	}
	if stateDir != "memory" {
		parts = append(parts, "state in "+stateDir)
	}
	var detail string
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, "; ") + ")"
	}
	if wait > 0 {
		return fmt.Sprintf("pipeline %s is still running after waiting %s%s; not started", name, wait, detail)
	}
	return fmt.Sprintf("pipeline %s is already running%s; not started (use --wait 5m to wait for it)", name, detail)
}

// summarize prints the one-line result of a run.
func summarize(w io.Writer, rep *runner.Report) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", rep.Pipeline, rep.Status)
	if rep.RunID != "" {
		fmt.Fprintf(&b, " (run %s", rep.RunID)
		if rep.DryRun {
			b.WriteString(", dry run")
		}
		fmt.Fprintf(&b, ", %.2fs)", float64(rep.DurationMS)/1000)
	}
	var in int64
	if len(rep.Steps) > 0 {
		in = rep.Steps[0].Out + rep.Steps[0].Rejected
	}
	if rep.Status == "OK" || rep.Status == "WARNING" {
		fmt.Fprintf(&b, ": %s read", plural(in, "record"))
		for _, o := range rep.Outputs {
			if o.Path == rep.RejectsFile {
				continue
			}
			verb := "wrote"
			if rep.DryRun {
				verb = "would write"
			}
			fmt.Fprintf(&b, ", %s %s to %s", verb, plural(o.Records, "record"), o.Path)
		}
		if rep.Unrouted > 0 {
			fmt.Fprintf(&b, ", %d unrouted", rep.Unrouted)
		}
		if rep.RejectsTotal > 0 {
			fmt.Fprintf(&b, ", %s", plural(rep.RejectsTotal, "reject"))
			if rep.RejectsFile != "" && !rep.DryRun {
				fmt.Fprintf(&b, " (see %s)", rep.RejectsFile)
			}
		}
		if rep.Message != "" {
			fmt.Fprintf(&b, " (%s)", rep.Message)
		}
	}
	fmt.Fprintln(w, b.String())
}

// printDiags prints diagnostics (with source snippets) in text form.
func printDiags(w io.Writer, file string, ds diag.List) {
	if len(ds) == 0 {
		return
	}
	src, _ := os.ReadFile(file)
	ds.Sort()
	withSnippets(ds, file, src).WriteText(w)
}

// withSnippets adds the source line with a caret to diagnostics in file.
func withSnippets(ds diag.List, file string, src []byte) diag.List {
	out := make(diag.List, len(ds))
	for i, d := range ds {
		if d.Snippet == "" && src != nil && (d.Pos.File == file || d.Pos.File == "") {
			d.Snippet = diag.Snippet(src, d.Pos)
		}
		out[i] = d
	}
	return out
}

// parseTime accepts RFC 3339, "YYYY-MM-DDTHH:MM:SS" (local) and
// "YYYY-MM-DD" (local midnight).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q: want RFC 3339 (2026-11-23T10:00:00+01:00) or YYYY-MM-DD", s)
}
