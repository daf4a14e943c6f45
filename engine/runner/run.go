package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// InvalidError is a configuration problem found when building the
// components (exit code 2): constructor FieldErrors mapped to YAML
// positions, unknown path placeholders, two sinks writing one file.
type InvalidError struct{ Diags diag.List }

func (e *InvalidError) Error() string { return diag.ListError(e.Diags).Error() }

// ExitCode returns the exit code for a run that ended with err (nil: the
// status decides; see Report.ExitCode, which is what callers should use).
func ExitCode(err error) int {
	var inv *InvalidError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &inv):
		return ExitInvalid
	case errors.Is(err, state.ErrLocked):
		return ExitLocked
	}
	return ExitError
}

// Run executes pipeline p (loaded and validated by spec.Load; every Step
// has its Component) and returns the report. The report is never nil; its
// Status and ExitCode say how the run ended. err is non-nil exactly when the
// run did not commit (ERROR, INVALID, LOCKED); it is already redacted.
func Run(ctx context.Context, p *spec.Pipeline, opts Options) (*Report, error) {
	x := newExecution(p, opts)
	err := x.execute(ctx)
	if err != nil {
		err = x.redactErr(err)
	}
	rep := x.report(err)
	if opts.ReportPath != "" {
		if werr := rep.WriteFile(opts.ReportPath); werr != nil {
			x.log.Error("writing run report", "err", werr)
			if err == nil {
				err = fmt.Errorf("run %s ended %s, but %w", rep.RunID, rep.Status, werr)
			}
		}
	}
	return rep, err
}

// redactErr removes secrets from err, keeping what ExitCode needs.
func (x *execution) redactErr(err error) error {
	var inv *InvalidError
	if errors.As(err, &inv) {
		ds := make(diag.List, len(inv.Diags))
		for i, d := range inv.Diags {
			d.Message, d.Hint = x.red.S(d.Message), x.red.S(d.Hint)
			ds[i] = d
		}
		return &InvalidError{Diags: ds}
	}
	if errors.Is(err, state.ErrLocked) {
		return err
	}
	return errors.New(x.red.S(err.Error()))
}

type stepStats struct {
	in, out, rejected int64
	dur               time.Duration
}

type sourceRT struct {
	step    *spec.Step
	decoder sdk.Decoder
	source  sdk.Source
	files   []string // matched paths
	names   []string // as origins: relative to the pipeline dir
	stats   stepStats
	closed  bool // source (IONone) closed
}

type transformRT struct {
	step   *spec.Step
	t      sdk.Transform
	stats  stepStats
	closed bool
	// dropped holds the origin keys of records this transform filtered out
	// (neither passed on nor rejected). Only tracked when an earlier
	// transform is a state.CommitHook, so that a ledger never records a
	// key whose record a later filter kept from the sinks. Written only by
	// the transform's own goroutine; read after the stream has finished.
	dropped map[string]struct{}
	// open holds, for a Flusher while dropped is tracked, the origin keys
	// of the records it got, true once it passed them on or rejected them.
	open map[string]bool
	// unlinked is set when such a Flusher emitted a record whose origin it
	// never got (sql builds new rows): its drops cannot be told, so the
	// ledger before it cannot be written safely (see commitHooks).
	unlinked string
}

type sinkRT struct {
	step    *spec.Step
	sink    sdk.Sink
	when    sdk.Evaluator
	out     *outFile
	final   string
	stats   stepStats
	preview []record.Record
	closed  bool
}

type execution struct {
	p      *spec.Pipeline
	opts   Options
	log    *slog.Logger
	red    redactor
	store  state.Store
	run    state.Run
	runID  string
	start  time.Time
	end    time.Time
	since  time.Time
	status string
	diags  diag.List

	src  *sourceRT
	exch *exchangeRT // drop-folder inbox of the source (exchange.go)
	// empty is set when the inbox had nothing to read and on_empty lets the
	// run end OK/WARNING: the report's message (exchange.go commitEmpty).
	empty string
	// wm is the watermark this run saw (after heldWatermark); wmOK false: none.
	wm         time.Time
	wmOK       bool
	transforms []*transformRT
	sinks      []*sinkRT
	stepIndex  map[string]int // step id -> stage index (source 0, transforms 1.., sinks after)

	rejects      rejectFile
	rejTotal     int64
	repRejects   []record.Reject
	stateRejects []record.Reject
	unrouted     int64
	trackOrigins bool
	rejectedAt   map[string]int // origin key -> highest stage index that rejected it
	prog         progress
	recycle      bool // hand consumed source batches back (see stream)
	prepared     bool
	committed    bool
}

func newExecution(p *spec.Pipeline, opts Options) *execution {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	red := newRedactor(p.Secrets)
	start := opts.Start
	if start.IsZero() {
		start = opts.Now()
	}
	x := &execution{p: p, opts: opts, red: red, log: redactLogger(opts.Logger, red), start: start}
	x.log = x.log.With("pipeline", p.Name)
	return x
}

func (x *execution) batchSize() int {
	if x.p.BatchSize > 0 {
		return x.p.BatchSize
	}
	return 1000
}

// display is the step's name for messages: "sinks[0] csv.write" or
// "export (csv.write)".
func display(s *spec.Step) string {
	if s.ID == "" || strings.HasPrefix(s.ID, s.Section+"[") || s.ID == s.Section {
		id := s.ID
		if id == "" {
			id = s.Section
		}
		return id + " " + s.Type
	}
	return s.ID + " (" + s.Type + ")"
}

func (x *execution) execute(ctx context.Context) (err error) {
	p := x.p
	if p.Source == nil {
		return &InvalidError{Diags: diag.List{diag.Errorf(diag.Pos{File: p.File}, "no-source", "pipeline has no source")}}
	}
	if err := x.checkPaths(); err != nil {
		return err
	}

	x.store = x.opts.Store
	if x.store == nil {
		x.store = state.NewMemory()
		defer x.store.Close()
	}
	unlock, err := x.store.Lock(ctx, x.opts.Wait)
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return err // "pipeline is already running (lock held by ...)"; the report and log name the pipeline
		}
		return fmt.Errorf("locking pipeline %s: %w", p.Name, err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil {
			x.log.Error("releasing the run lock", "err", uerr)
		}
	}()
	run, err := x.store.Begin(ctx, state.RunInfo{Pipeline: p.Name, SHA256: p.SHA256, Start: x.start, DryRun: x.opts.DryRun})
	if err != nil {
		return fmt.Errorf("beginning run: %w", err)
	}
	x.run, x.runID = run, run.ID()
	x.log = x.log.With("run", x.runID)
	if rec := run.Recovery(); rec != "" {
		x.log.Warn("recovered an interrupted run", "recovery", rec)
	}
	x.log.Info("run started", "dry_run", x.opts.DryRun)

	defer func() {
		if err != nil {
			x.abort(err)
		} else {
			x.closeAll(ctx)
		}
	}()
	if err := x.setSince(ctx); err != nil {
		return err
	}
	if err := x.cleanStale(); err != nil {
		return err
	}
	if err := x.build(ctx); err != nil {
		return err
	}
	if x.empty != "" {
		return x.commitEmpty(ctx)
	}
	if err := x.stream(ctx); err != nil {
		return err
	}
	if err := x.finishOutputs(ctx); err != nil {
		return err
	}
	return x.commit(ctx)
}

// checkPaths validates the output path templates and that no two outputs
// share a file (before anything runs).
func (x *execution) checkPaths() error {
	var ds diag.List
	seen := map[string]string{}
	vars := x.pathVars("RUN")
	for _, s := range x.p.Sinks {
		if s.Component.IO != sdk.IOFile {
			continue
		}
		if s.Path == "" {
			ds.Errorf(s.PosOf("path"), "missing-path", "%s: path is required for a file sink", display(s))
			continue
		}
		if err := CheckPathTemplate(s.Path); err != nil {
			ds.Errorf(s.PosOf("path"), "path-template", "%s: %v", display(s), err)
			continue
		}
		final := x.resolve(ExpandPath(s.Path, vars))
		if other, dup := seen[final]; dup {
			ds.Errorf(s.PosOf("path"), "duplicate-output", "%s writes %s, which %s writes too", display(s), final, other)
		}
		seen[final] = display(s)
	}
	if x.p.Rejects.Path != "" {
		if err := CheckPathTemplate(x.p.Rejects.Path); err != nil {
			ds.Errorf(x.p.Rejects.Pos, "path-template", "rejects: %v", err)
		}
	}
	if len(ds) > 0 {
		return &InvalidError{Diags: ds}
	}
	return nil
}

func (x *execution) pathVars(run string) PathVars {
	return PathVars{Now: x.start, Run: run, Pipeline: x.p.Name}
}

// resolve makes a path relative to the pipeline directory.
func (x *execution) resolve(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	dir := x.p.Dir
	if dir == "" {
		dir = "."
	}
	return filepath.Join(dir, path)
}

// rejectTemplate is the reject file's path template and its encryption
// (nil: plaintext). The loader has already filled in the default path and
// the inherited encryption (spec.RejectSink); the fallback here serves
// pipelines built without the loader.
func (x *execution) rejectTemplate() (string, *spec.Encryption) {
	r := x.p.Rejects
	if r.Path != "" {
		return r.Path, r.Encrypt
	}
	for _, s := range x.p.Sinks {
		if s.Component.IO == sdk.IOFile && s.Path != "" {
			enc := r.Encrypt
			if enc == nil {
				enc = s.Encrypt
			}
			return spec.DefaultRejectsPath(s.Path, enc != nil), enc
		}
	}
	return x.p.Name + ".rejects.csv", r.Encrypt
}

func (x *execution) setSince(ctx context.Context) error {
	if !x.opts.Since.IsZero() {
		x.since = x.opts.Since
	}
	if !x.p.State.Incremental {
		return nil
	}
	wm, ok, err := x.run.Watermark(ctx)
	if err != nil {
		return fmt.Errorf("reading watermark: %w", err)
	}
	if wm, ok, err = x.heldWatermark(ctx, wm, ok); err != nil {
		return err
	}
	x.wm, x.wmOK = wm, ok
	if ok && x.opts.Since.IsZero() {
		x.since = wm.Add(-x.p.State.Overlap)
	}
	return nil
}

// cleanStale removes temporary files of earlier killed runs of this
// pipeline's outputs. It runs under the lock and after Begin, which has
// already rolled forward a run that was interrupted while committing.
func (x *execution) cleanStale() error {
	vars := x.pathVars(x.runID)
	rejects, _ := x.rejectTemplate()
	tmpls := []string{rejects}
	for _, s := range x.p.Sinks {
		if s.Component.IO == sdk.IOFile {
			tmpls = append(tmpls, s.Path)
		}
	}
	for _, t := range tmpls {
		dir := filepath.Dir(x.resolve(ExpandPath(t, vars)))
		removed, err := removeStaleTemps(dir, t)
		for _, r := range removed {
			x.log.Info("removed temporary file of an earlier run", "file", r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) env(s *spec.Step) sdk.Env {
	return sdk.Env{
		Step:      display(s),
		Pipeline:  x.p.Name,
		Dir:       x.p.Dir,
		Logger:    x.log.With("step", s.ID),
		DryRun:    x.opts.DryRun,
		BatchSize: x.batchSize(),
		Now:       x.start,
		State:     stepState{run: x.run, prefix: s.ID + "/"},
		Expressions: func(path string) sdk.Evaluator {
			if e, ok := s.Exprs[path]; ok {
				return evaluator(e)
			}
			return nil
		},
		Since: x.since,
	}
}

// evaluator returns the compiled program of e (nil when it has none).
func evaluator(e *spec.Expr) sdk.Evaluator {
	if e == nil {
		return nil
	}
	ev, _ := e.Program.(sdk.Evaluator)
	return ev
}

// ctorErr turns a constructor error into positioned diagnostics (FieldErrors)
// or a wrapped runtime error.
func (x *execution) ctorErr(s *spec.Step, err error) error {
	if fes, ok := sdk.AsFieldErrors(err); ok {
		var ds diag.List
		for _, fe := range fes {
			d := diag.Errorf(s.PosOf(fe.Path), "config", "%s: %s", display(s), fe.Error())
			d.Path = fe.Path
			ds.Add(d)
		}
		return &InvalidError{Diags: ds}
	}
	return fmt.Errorf("%s: %w", display(s), err)
}

// build constructs every component; on error the ones built so far are
// closed by abort.
func (x *execution) build(ctx context.Context) error {
	p := x.p
	x.stepIndex = map[string]int{}
	s := p.Source
	x.src = &sourceRT{step: s}
	x.stepIndex[s.ID] = 0
	switch {
	case s.Component.Kind != sdk.KindSource:
		return &InvalidError{Diags: diag.List{diag.Errorf(s.Pos, "kind", "%s is a %s, not a source", s.Type, s.Component.Kind)}}
	case s.Component.IO == sdk.IOFile:
		if err := x.inputs(ctx); err != nil { // glob or drop folder (exchange.go)
			return err
		}
		if x.empty != "" {
			// Empty inbox (exchange.on_empty ok/warning): build nothing, so
			// nothing is written, published or sent; the steps report zero.
			for _, t := range p.Transforms {
				x.transforms = append(x.transforms, &transformRT{step: t, closed: true})
			}
			for _, k := range p.Sinks {
				x.sinks = append(x.sinks, &sinkRT{step: k, closed: true})
			}
			return nil
		}
		d, err := s.Component.NewDecoder(ctx, s.Config, x.env(s))
		if err != nil {
			return x.ctorErr(s, err)
		}
		x.src.decoder = d
	default:
		src, err := s.Component.NewSource(ctx, s.Config, x.env(s))
		if err != nil {
			return x.ctorErr(s, err)
		}
		x.src.source = src
	}
	for i, s := range p.Transforms {
		x.stepIndex[s.ID] = i + 1
		if s.Component.Kind != sdk.KindTransform {
			return &InvalidError{Diags: diag.List{diag.Errorf(s.Pos, "kind", "%s is a %s, not a transform", s.Type, s.Component.Kind)}}
		}
		t, err := s.Component.NewTransform(ctx, s.Config, x.env(s))
		if err != nil {
			return x.ctorErr(s, err)
		}
		rt := &transformRT{step: s, t: t}
		if x.trackOrigins {
			rt.dropped = map[string]struct{}{}
		}
		x.transforms = append(x.transforms, rt)
		if _, ok := t.(state.CommitHook); ok {
			x.trackOrigins = true
		}
	}
	if x.trackOrigins {
		x.rejectedAt = map[string]int{}
	}
	vars := x.pathVars(x.runID)
	for i, s := range p.Sinks {
		x.stepIndex[s.ID] = len(p.Transforms) + 1 + i
		if s.Component.Kind != sdk.KindSink {
			return &InvalidError{Diags: diag.List{diag.Errorf(s.Pos, "kind", "%s is a %s, not a sink", s.Type, s.Component.Kind)}}
		}
		rt := &sinkRT{step: s}
		if s.When != nil {
			rt.when = evaluator(s.When)
			if rt.when == nil {
				return fmt.Errorf("%s: when: expression %q is not compiled", display(s), s.When.Source)
			}
		}
		x.sinks = append(x.sinks, rt)
		if s.Component.IO == sdk.IOFile {
			enc, err := s.Component.NewEncoder(ctx, s.Config, x.env(s))
			if err != nil {
				return x.ctorErr(s, err)
			}
			rt.final = x.resolve(ExpandPath(s.Path, vars))
			out, err := createOutput(s.ID, rt.final, x.runID)
			if err != nil {
				return fmt.Errorf("%s: %w", display(s), err)
			}
			rt.out = out
			if s.Encrypt != nil {
				if err := out.encryptTo(s.Encrypt.Recipients); err != nil {
					return fmt.Errorf("%s: %w", display(s), err)
				}
			}
			sink, err := enc.Create(ctx, out.sdkOutput())
			if err != nil {
				return x.ctorErr(s, err)
			}
			rt.sink = sink
		} else {
			sink, err := s.Component.NewSink(ctx, s.Config, x.env(s))
			if err != nil {
				return x.ctorErr(s, err)
			}
			rt.sink = sink
		}
	}
	rejects, enc := x.rejectTemplate()
	x.rejects = rejectFile{final: x.resolve(ExpandPath(rejects, vars)), run: x.runID, red: x.red}
	if enc != nil {
		x.rejects.encrypted, x.rejects.recipients = true, enc.Recipients
	}
	return nil
}

// glob matches the source path.
func (x *execution) glob() error {
	s := x.p.Source
	if s.Path == "" {
		return &InvalidError{Diags: diag.List{diag.Errorf(s.PosOf("path"), "missing-path", "%s: path is required for a file source", display(s))}}
	}
	pattern := x.resolve(s.Path)
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return &InvalidError{Diags: diag.List{diag.Errorf(s.PosOf("path"), "path", "%s: bad glob %q: %v", display(s), s.Path, err)}}
	}
	var files, dirs []string
	for _, m := range matches {
		fi, err := os.Stat(m)
		switch {
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s: input %s: %w", display(s), m, err)
		case err != nil: // a dangling symlink: nothing to read
		case fi.Mode().IsRegular():
			files = append(files, m)
		case fi.IsDir():
			dirs = append(dirs, m)
		}
	}
	if len(files) == 0 {
		if len(dirs) > 0 {
			d := x.inputName(dirs[0])
			return fmt.Errorf("%s: no input matches %s: %s is a directory (read the files in it with a glob such as %s/*)",
				display(s), s.Path, d, d)
		}
		return fmt.Errorf("%s: no input matches %s", display(s), s.Path)
	}
	// filepath.Glob returns matches in lexical order per directory level;
	// sort the full paths so name order holds across directories too.
	sortStrings(files)
	x.src.files = files
	for _, f := range files {
		x.src.names = append(x.src.names, x.inputName(f))
	}
	return nil
}

// inputName is how a matched input is named in origins and messages:
// relative to the pipeline's directory when the source path is relative.
func (x *execution) inputName(f string) string {
	name := f
	if !filepath.IsAbs(x.p.Source.Path) {
		dir := x.p.Dir
		if dir == "" {
			dir = "."
		}
		if r, err := filepath.Rel(dir, f); err == nil {
			name = r
		}
	}
	return filepath.ToSlash(name)
}

// finishOutputs closes the sinks (trailers, final flush) and the files.
func (x *execution) finishOutputs(ctx context.Context) error {
	for _, s := range x.sinks {
		s.closed = true
		t0 := time.Now()
		err := s.sink.Close(ctx)
		s.stats.dur += time.Since(t0)
		if err != nil {
			return fmt.Errorf("%s: %w", display(s.step), err)
		}
		if s.out != nil {
			s.out.records = s.stats.out
			if err := s.out.finish(); err != nil {
				return fmt.Errorf("%s: %w", display(s.step), err)
			}
		}
	}
	if err := x.rejects.finish(); err != nil {
		return err
	}
	return nil
}

// outputs lists the run's outputs: file sinks in order, then the reject file.
func (x *execution) outputs() []*outFile {
	var outs []*outFile
	for _, s := range x.sinks {
		if s.out != nil {
			outs = append(outs, s.out)
		}
	}
	if x.rejects.out != nil {
		outs = append(outs, x.rejects.out)
	}
	return outs
}

func (x *execution) result(status state.Status, err error) state.Result {
	res := state.Result{Status: status, End: x.end, Rejects: x.stateRejects}
	if err != nil {
		res.Error = x.red.S(err.Error())
	} else {
		res.Message = x.red.S(x.empty) // why a committed run read nothing
	}
	for _, c := range x.stepReports() {
		res.Counts = append(res.Counts, state.StepCount{Step: c.ID, In: c.In, Out: c.Out, Rejected: c.Rejected})
	}
	for _, o := range x.outputs() {
		if o.done && o.sum != "" {
			res.Outputs = append(res.Outputs, o.stateOutput())
		}
	}
	return res
}

// commit runs the commit hooks, then Prepare, publish, Commit (or, for a
// dry run, removes the outputs and records the run).
func (x *execution) commit(ctx context.Context) error {
	status := state.StatusOK
	if x.rejTotal > 0 {
		status = state.StatusWarning
	}
	if err := x.commitHooks(ctx); err != nil {
		return err
	}
	if err := x.exchangeBeforePublish(ctx); err != nil {
		return err
	}
	x.end = x.opts.Now()
	if x.opts.DryRun {
		x.preview()
		for _, o := range x.outputs() {
			o.discard()
		}
		res := x.result(status, nil)
		res.Outputs = nil
		if err := x.run.Commit(ctx, res); err != nil {
			return fmt.Errorf("recording dry run: %w", err)
		}
		x.committed = true
		x.status = string(status)
		return nil
	}
	res := x.result(status, nil)
	if err := x.run.Prepare(ctx, res); err != nil {
		return fmt.Errorf("preparing commit: %w", err)
	}
	x.prepared = true
	if err := state.Publish(res.Outputs); err != nil {
		return fmt.Errorf("publishing outputs: %w", err)
	}
	if err := x.run.Commit(ctx, res); err != nil {
		return fmt.Errorf("committing run: %w", err)
	}
	x.committed = true
	x.status = string(status)
	x.exchangeCommitted(ctx)
	for _, o := range res.Outputs {
		x.log.Info("output written", "file", o.Path, "records", o.Rows, "bytes", o.Bytes)
	}
	x.log.Info("run finished", "status", status, "rejects", x.rejTotal)
	return nil
}

func (x *execution) commitHooks(ctx context.Context) error {
	for i, t := range x.transforms {
		h, ok := t.t.(state.CommitHook)
		if !ok {
			continue
		}
		stage := i + 1
		later := x.transforms[i+1:]
		for _, lt := range later {
			if lt.unlinked != "" {
				// Neither guess is safe: taking the records as exported could
				// lose one the later step filtered out, taking them as dropped
				// would export them again next run. Nothing is committed.
				return fmt.Errorf("%s: cannot tell which records reached the sinks: %s emits records that do not come from its input (e.g. %s); put the ledger dedup after it",
					display(t.step), display(lt.step), lt.unlinked)
			}
		}
		after := func(o record.Origin) bool {
			k := originKey(o)
			if x.rejectedAt[k] > stage {
				return true
			}
			for _, lt := range later {
				if _, ok := lt.dropped[k]; ok {
					return true
				}
			}
			return false
		}
		if err := h.BeforePrepare(ctx, x.run, after); err != nil {
			return fmt.Errorf("%s: %w", display(t.step), err)
		}
	}
	return nil
}

func originKey(o record.Origin) string {
	return o.File + "\x00" + strconv.FormatInt(o.Index, 10)
}

// abort cleans up after a failed run: closes what is open, removes the
// temporary outputs (unless the run was already prepared: then the next
// Begin finishes it) and records the run as ERROR.
func (x *execution) abort(err error) {
	x.closeAll(context.WithoutCancel(context.Background()))
	if x.end.IsZero() {
		x.end = x.opts.Now()
	}
	if !x.prepared {
		for _, s := range x.sinks {
			if s.out != nil {
				s.out.discard()
			}
		}
		if x.rejects.out != nil {
			x.rejects.out.discard()
		}
	}
	x.exchangeFailed(err)
	x.status = string(state.StatusError)
	if x.run != nil && !x.committed {
		res := x.result(state.StatusError, err)
		res.Outputs = nil
		if aerr := x.run.Abort(context.WithoutCancel(context.Background()), res); aerr != nil {
			x.log.Error("recording the failed run", "err", aerr)
		}
	}
	x.log.Error("run failed", "err", err)
}

// closeAll closes every component that is still open (sinks not yet
// closed get Close with a cancelled context, so they know the run failed).
func (x *execution) closeAll(ctx context.Context) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if x.src != nil && x.src.source != nil && !x.src.closed {
		x.src.closed = true
		_ = x.src.source.Close()
	}
	for _, t := range x.transforms {
		if !t.closed {
			t.closed = true
			_ = t.t.Close()
		}
	}
	for _, s := range x.sinks {
		if s.sink != nil && !s.closed {
			s.closed = true
			_ = s.sink.Close(cctx)
		}
	}
}

type stepState struct {
	run    state.Run
	prefix string
}

// Reserve implements sdk.State; counters are global to the pipeline.
func (s stepState) Reserve(ctx context.Context, counter string, n int64) (int64, error) {
	return s.run.Reserve(ctx, counter, n)
}

// Get implements sdk.State; keys are scoped by the step id.
func (s stepState) Get(ctx context.Context, key string) (string, bool, error) {
	return s.run.Get(ctx, s.prefix+key)
}

// Put implements sdk.State; keys are scoped by the step id.
func (s stepState) Put(ctx context.Context, key, value string) error {
	return s.run.Put(ctx, s.prefix+key, value)
}

// StateRun gives engine components (staging: dedup's ledger) the
// underlying state.Run. Plugins never see it (the sdk has no such method).
func (s stepState) StateRun() state.Run { return s.run }
