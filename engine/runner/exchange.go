package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk/dropfolder"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

// File exchange through drop folders (the `exchange:` engine key, see
// spec.Exchange), implemented with plugins/sdk/dropfolder:
//
//   - inputs (instead of a plain glob): under the pipeline lock, files a
//     crashed run left in processing/ are resolved (done/ when that run
//     committed, back to the inbox otherwise), then the complete files of
//     the inbox are claimed (atomic rename into processing/) and read from
//     there; their origins keep the inbox name. The claimed set is written
//     to the run state (key exchangeStateKey), so it becomes durable with
//     the run's commit.
//   - exchangeBeforePublish: the before hooks of sink outboxes (a veto
//     fails the run before anything is published).
//   - exchangeCommitted: after the commit, markers and after hooks of the
//     outboxes, and the claimed inputs move to done/ with NAME.ok. Problems
//     here are logged; the run stays committed.
//   - exchangeFailed: a run that fails before Prepare puts its claimed
//     files back into the inbox (requeue, with NAME.err) or into error/.
//     After Prepare the run is finished by the next Begin, so the files
//     stay in processing/ and the next run moves them to done/.
//
// A dry run reads the complete files in place and moves nothing.

// exchangeStateKey holds the claims of the last committed run: one
// "name\tsize\tmtime" line per file.
const exchangeStateKey = "#exchange/claimed"

type exchangeRT struct {
	folder *dropfolder.Folder
	claims []*dropfolder.Claim
	ex     *spec.Exchange
}

// inputs finds the source's input files: a glob, or the drop-folder inbox.
func (x *execution) inputs(ctx context.Context) error {
	s := x.p.Source
	if s.Exchange == nil {
		return x.glob()
	}
	if s.Path == "" {
		return &InvalidError{Diags: diag.List{diag.Errorf(s.PosOf("path"), "missing-path", "%s: path is required for a file source", display(s))}}
	}
	ex := s.Exchange
	inbox := x.resolve(filepath.Dir(s.Path))
	dir := func(p string) string {
		if p == "" {
			return ""
		}
		return x.resolve(p)
	}
	var before, after dropfolder.Hook
	var err error
	if before, err = x.hook(ex.Before); err != nil {
		return fmt.Errorf("%s: exchange.before: %w", display(s), err)
	}
	if after, err = x.hook(ex.After); err != nil {
		return fmt.Errorf("%s: exchange.after: %w", display(s), err)
	}
	o := dropfolder.Options{Inbox: inbox, Pattern: filepath.Base(s.Path), Settle: ex.Settle, Marker: ex.Marker,
		Processing: dir(ex.Processing), Done: dir(ex.Done), Error: dir(ex.Error), Before: before, After: after,
		Now: x.opts.Now}
	if x.opts.DryRun {
		// No hooks, and Open must not create directories: a dry run reads
		// the complete files in place and changes nothing.
		o.Before, o.After = nil, nil
		o.Processing, o.Done, o.Error = inbox, inbox, inbox
	}
	f, err := dropfolder.Open(o)
	if err != nil {
		return fmt.Errorf("%s: exchange: %w", display(s), err)
	}
	x.exch = &exchangeRT{folder: f, ex: ex}
	if !x.opts.DryRun {
		if err := x.recoverLeftovers(ctx); err != nil {
			return fmt.Errorf("%s: exchange: %w", display(s), err)
		}
	}
	ready, err := f.Ready(ctx)
	if err != nil {
		return fmt.Errorf("%s: exchange: %w", display(s), err)
	}
	rel := func(name string) string {
		p := filepath.Join(filepath.Dir(s.Path), name)
		return filepath.ToSlash(p)
	}
	var lines []string
	var vetoed []string
	for _, name := range ready {
		if x.opts.DryRun {
			x.src.files = append(x.src.files, filepath.Join(inbox, name))
			x.src.names = append(x.src.names, rel(name))
			continue
		}
		c, err := f.Claim(ctx, name)
		if errors.Is(err, dropfolder.ErrGone) || errors.Is(err, dropfolder.ErrVetoed) {
			x.log.Warn("input file not taken", "file", rel(name), "reason", x.red.S(err.Error()))
			if errors.Is(err, dropfolder.ErrVetoed) {
				vetoed = append(vetoed, name)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: exchange: %w", display(s), err)
		}
		x.exch.claims = append(x.exch.claims, c)
		x.src.files = append(x.src.files, c.Path)
		x.src.names = append(x.src.names, rel(name))
		if info, err := os.Stat(c.Path); err == nil {
			lines = append(lines, claimLine(name, info))
		}
	}
	if len(x.src.files) == 0 {
		msg, err := x.emptyInbox(f, ready, vetoed)
		if err != nil {
			return fmt.Errorf("%s: exchange: %w", display(s), err)
		}
		if len(vetoed) > 0 || ex.OnEmpty == "error" {
			return fmt.Errorf("%s: no input ready: %s", display(s), msg)
		}
		x.empty = msg
		return nil
	}
	if len(lines) > 0 {
		if err := x.run.Put(ctx, exchangeStateKey, strings.Join(lines, "\n")); err != nil {
			return fmt.Errorf("%s: exchange: recording the claimed files: %w", display(s), err)
		}
	}
	if x.p.State.Incremental && !x.opts.DryRun {
		// This run reads files: the watermark moves with it again.
		if err := x.run.Put(ctx, heldWatermarkKey, ""); err != nil {
			return fmt.Errorf("%s: exchange: %w", display(s), err)
		}
	}
	x.log.Info("input files claimed", "files", len(x.src.files), "inbox", filepath.Dir(s.Path))
	return nil
}

// emptyInbox describes an inbox without a file to read: "inbox <dir>: no
// files matching <pattern>", with the files still incomplete or vetoed.
func (x *execution) emptyInbox(f *dropfolder.Folder, ready, vetoed []string) (string, error) {
	s := x.p.Source
	where := fmt.Sprintf("inbox %s: ", filepath.ToSlash(filepath.Dir(s.Path)))
	pattern := filepath.Base(s.Path)
	if len(vetoed) > 0 {
		return where + fmt.Sprintf("the before hook refused every complete file matching %s (%s)", pattern, strings.Join(vetoed, ", ")), nil
	}
	incomplete, err := f.Incomplete(ready)
	if err != nil {
		return "", err
	}
	if len(incomplete) == 0 {
		return where + "no files matching " + pattern, nil
	}
	waiting := "still being written"
	if ex := s.Exchange; ex.Marker != "" {
		waiting = "waiting for its " + ex.Marker + " marker"
		if len(incomplete) > 1 {
			waiting = "waiting for their " + ex.Marker + " markers"
		}
	}
	return where + fmt.Sprintf("no complete files matching %s (%d %s: %s)", pattern, len(incomplete), waiting, strings.Join(incomplete, ", ")), nil
}

// commitEmpty ends a run whose inbox had nothing to read (exchange.on_empty
// ok or warning): nothing was built, nothing is written or published; the
// run is committed with zero records, and for an incremental pipeline the
// watermark is held (see heldWatermarkKey).
func (x *execution) commitEmpty(ctx context.Context) error {
	status := state.StatusOK
	if x.p.Source.Exchange.OnEmpty == "warning" {
		status = state.StatusWarning
	}
	if x.p.State.Incremental && !x.opts.DryRun {
		held := ""
		if x.wmOK {
			held = x.wm.UTC().Format(time.RFC3339Nano)
		}
		if err := x.run.Put(ctx, heldWatermarkKey, x.start.UTC().Format(time.RFC3339Nano)+"\t"+held); err != nil {
			return fmt.Errorf("holding the watermark: %w", err)
		}
	}
	x.end = x.opts.Now()
	if x.opts.DryRun {
		fmt.Fprintf(x.opts.Stdout, "dry run of %s: nothing written, state unchanged\n%s\n", x.p.Name, x.empty)
	}
	if err := x.run.Commit(ctx, x.result(status, nil)); err != nil {
		return fmt.Errorf("committing run: %w", err)
	}
	x.committed = true
	x.status = string(status)
	x.log.Info("run finished", "status", status, "message", x.empty)
	return nil
}

// heldWatermarkKey keeps an incremental pipeline's watermark where it was
// across runs that found the inbox empty. The store's watermark is the
// start of the last OK/WARNING run, which would be the empty run, so an
// empty run records "<its start>\t<the watermark it saw>" (RFC 3339, ""
// for none) and a run that reads files clears it. The next run takes the
// held watermark when the store's is that empty run's start.
const heldWatermarkKey = "#exchange/held-watermark"

// heldWatermark applies heldWatermarkKey to the store's watermark wm.
func (x *execution) heldWatermark(ctx context.Context, wm time.Time, ok bool) (time.Time, bool, error) {
	if !ok || x.p.Source == nil || x.p.Source.Exchange == nil {
		return wm, ok, nil
	}
	v, found, err := x.run.Get(ctx, heldWatermarkKey)
	if err != nil {
		return wm, ok, fmt.Errorf("reading the held watermark: %w", err)
	}
	startText, heldText, _ := strings.Cut(v, "\t")
	if !found || startText == "" {
		return wm, ok, nil
	}
	start, err := time.Parse(time.RFC3339Nano, startText)
	// Stores keep times in microseconds.
	if err != nil || wm.Sub(start).Abs() >= time.Millisecond {
		return wm, ok, nil
	}
	if heldText == "" {
		return time.Time{}, false, nil
	}
	held, err := time.Parse(time.RFC3339Nano, heldText)
	if err != nil {
		return wm, ok, nil
	}
	return held, true, nil
}

func claimLine(name string, info os.FileInfo) string {
	return name + "\t" + strconv.FormatInt(info.Size(), 10) + "\t" + strconv.FormatInt(info.ModTime().UnixNano(), 10)
}

// recoverLeftovers resolves files a crashed run left in processing/: the
// ones the last committed run claimed (same name, size and mtime) go to
// done/, the others back to the inbox.
func (x *execution) recoverLeftovers(ctx context.Context) error {
	left, err := x.exch.folder.Leftovers()
	if err != nil || len(left) == 0 {
		return err
	}
	prev, _, err := x.run.Get(ctx, exchangeStateKey)
	if err != nil {
		return fmt.Errorf("reading the claims of the last run: %w", err)
	}
	committed := map[string]bool{}
	for _, l := range strings.Split(prev, "\n") {
		committed[l] = true
	}
	for _, c := range left {
		info, err := os.Stat(c.Path)
		if err != nil {
			continue
		}
		if committed[claimLine(c.Name, info)] {
			err = c.Done(ctx)
			x.log.Warn("input file of a committed run moved to done", "file", c.Name)
		} else {
			err = c.Requeue(ctx, "left in processing by an interrupted run")
			x.log.Warn("input file of an interrupted run put back into the inbox", "file", c.Name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// hook builds a dropfolder hook from the spec (nil: none).
func (x *execution) hook(h *spec.ExchangeHook) (dropfolder.Hook, error) {
	if h == nil {
		return nil, nil
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	if len(h.Command) > 0 {
		argv := append([]string(nil), h.Command...)
		if !filepath.IsAbs(argv[0]) && strings.ContainsRune(argv[0], '/') {
			argv[0] = x.resolve(argv[0]) // relative to the pipeline file, like every other path
		}
		return dropfolder.CommandHook(argv, timeout), nil
	}
	if h.Webhook == nil {
		return nil, nil
	}
	hdr := http.Header{}
	for k, v := range h.Webhook.Headers {
		hdr.Set(k, v)
	}
	c, err := httpclient.New(h.Webhook.URL, httpclient.Options{Timeout: timeout, TotalTimeout: 2 * timeout,
		MaxAttempts: 3, Header: hdr, Logger: x.log})
	if err != nil {
		return nil, err
	}
	return dropfolder.WebhookHook(c, ""), nil
}

// outboxes lists the file sinks with an exchange (outbox delivery).
func (x *execution) outboxes() []*sinkRT {
	var out []*sinkRT
	for _, s := range x.sinks {
		if s.step.Exchange != nil && s.out != nil {
			out = append(out, s)
		}
	}
	return out
}

// exchangeBeforePublish runs the before hooks of the outboxes; a veto
// fails the run before anything is published.
func (x *execution) exchangeBeforePublish(ctx context.Context) error {
	if x.opts.DryRun {
		return nil
	}
	for _, s := range x.outboxes() {
		h, err := x.hook(s.step.Exchange.Before)
		if err != nil || h == nil {
			if err != nil {
				return fmt.Errorf("%s: exchange.before: %w", display(s.step), err)
			}
			continue
		}
		ev := dropfolder.Event{Phase: "before", File: filepath.Base(s.final), Path: s.final}
		if err := h(ctx, ev); err != nil {
			return fmt.Errorf("%s: %w: %s: %v", display(s.step), dropfolder.ErrVetoed, ev.File, err)
		}
	}
	return nil
}

// exchangeCommitted finishes the exchange of a committed run: outbox
// markers and after hooks, inputs to done/.
func (x *execution) exchangeCommitted(ctx context.Context) {
	if x.opts.DryRun {
		return
	}
	for _, s := range x.outboxes() {
		h, err := x.hook(s.step.Exchange.After)
		if err == nil {
			err = dropfolder.Mark(ctx, s.final, s.step.Exchange.Marker, h)
		}
		if err != nil {
			x.log.Error("output delivered, but its exchange did not finish", "step", s.step.ID, "file", s.final, "err", x.red.S(err.Error()))
		}
	}
	if x.exch == nil {
		return
	}
	for _, c := range x.exch.claims {
		if err := c.Done(ctx); err != nil {
			x.log.Error("input processed, but moving it to done failed (the next run finishes it)", "file", c.Name, "err", x.red.S(err.Error()))
		}
	}
}

// exchangeFailed puts the claimed inputs of a failed run back into the
// inbox or into error/ (see spec.Exchange.OnError and MaxAttempts). A
// prepared run is finished by the next Begin: its files stay.
func (x *execution) exchangeFailed(cause error) {
	if x.exch == nil || x.prepared || x.opts.DryRun {
		return
	}
	ctx := context.WithoutCancel(context.Background())
	reason := x.red.S(cause.Error())
	ex := x.exch.ex
	claims := append([]*dropfolder.Claim(nil), x.exch.claims...)
	sort.Slice(claims, func(i, j int) bool { return claims[i].Name < claims[j].Name })
	for _, c := range claims {
		var err error
		if ex.OnError == "error" || ex.MaxAttempts > 0 && c.Attempts+1 >= ex.MaxAttempts {
			err = c.Fail(ctx, reason)
			x.log.Warn("input file of the failed run moved to error", "file", c.Name, "attempts", c.Attempts+1)
		} else {
			err = c.Requeue(ctx, reason)
			x.log.Info("input file of the failed run put back into the inbox", "file", c.Name, "attempts", c.Attempts+1)
		}
		if err != nil {
			x.log.Error("returning an input file of the failed run", "file", c.Name, "err", x.red.S(err.Error()))
		}
	}
}
