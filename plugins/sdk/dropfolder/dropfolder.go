// Package dropfolder is the file-exchange transport of partners that trade
// files through shared directories (PepperShop's Caller with _inp/_ok/_err
// status files, municipal data centres, SFTP drop boxes mounted locally).
//
// A Folder watches an inbox. Ready lists the files that are complete: they
// match the pattern, are not hidden or temporary, and either have a marker
// file beside them ("invoice.xml" + "invoice.xml.ok") or kept the same size
// and modification time over the settle time, so a file still being written
// is never picked up. Claim moves a file atomically (rename) into
// processing/, so two runs never take the same file; Done moves it on to
// done/ with a status marker NAME.ok, Fail to error/ with NAME.err holding
// the reason. Optional hooks (an HTTP webhook or a command) run before a
// claim (and may veto it) and after the outcome. Deliver is the sink side:
// it writes a file into an outbox under a temporary name, fsyncs and
// renames it, then writes the marker.
//
// All directories must be on one file system (rename is atomic only there).
package dropfolder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Options configure a Folder. Zero values mean the defaults.
type Options struct {
	// Inbox is the directory files arrive in (required).
	Inbox string
	// Pattern is a filepath.Match pattern on base names (default "*").
	Pattern string
	// Processing, Done and Error default to inbox/processing, inbox/done
	// and inbox/error. They are created when missing.
	Processing, Done, Error string
	// Settle is how long size and modification time must stay unchanged
	// before a file counts as complete (default 2s). Ignored with Marker.
	Settle time.Duration
	// Marker, when set (e.g. ".ok"), makes a file ready only once
	// NAME+Marker exists beside it; the writer creates the marker last.
	Marker string
	// Before runs before a claim; an error vetoes it (the file stays).
	Before Hook
	// After runs after Done or Fail; its error is returned but does not
	// undo the move.
	After Hook
	// Now and Sleep are the clock (default: the wall clock).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Event tells a hook what happens.
type Event struct {
	Phase  string `json:"phase"`            // "before" or "after"
	File   string `json:"file"`             // base name
	Path   string `json:"path"`             // current full path
	Status string `json:"status,omitempty"` // after: "ok", "error" or "requeued"
	Reason string `json:"reason,omitempty"` // after an error
}

// Hook is called around a transfer.
type Hook func(ctx context.Context, e Event) error

// Errors of Claim.
var (
	// ErrGone: the file was claimed by someone else or removed meanwhile.
	ErrGone = errors.New("file is gone (claimed by another run?)")
	// ErrVetoed: the before hook refused the transfer.
	ErrVetoed = errors.New("transfer vetoed by the before hook")
)

// Folder is an inbox with its processing, done and error directories.
type Folder struct {
	o Options
}

// Open checks the options and creates the missing directories.
func Open(o Options) (*Folder, error) {
	if o.Inbox == "" {
		return nil, errors.New("dropfolder: inbox is required")
	}
	if o.Pattern == "" {
		o.Pattern = "*"
	}
	if _, err := filepath.Match(o.Pattern, "x"); err != nil {
		return nil, fmt.Errorf("dropfolder: pattern %q: %w", o.Pattern, err)
	}
	def := func(p *string, name string) {
		if *p == "" {
			*p = filepath.Join(o.Inbox, name)
		}
	}
	def(&o.Processing, "processing")
	def(&o.Done, "done")
	def(&o.Error, "error")
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if st, err := os.Stat(o.Inbox); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("dropfolder: inbox %s is not a directory", o.Inbox)
	}
	for _, d := range []string{o.Processing, o.Done, o.Error} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("dropfolder: %w", err)
		}
	}
	return &Folder{o: o}, nil
}

type seen struct {
	size int64
	mod  time.Time
}

// candidates lists matching regular files of the inbox with their stats
// (with a Marker only those whose marker exists).
func (f *Folder) candidates() (map[string]seen, error) { return f.matching(true) }

// matching lists the regular files of the inbox that match the pattern and
// are neither hidden, temporary nor status files; needMarker leaves out
// the ones whose marker does not exist yet.
func (f *Folder) matching(needMarker bool) (map[string]seen, error) {
	ents, err := os.ReadDir(f.o.Inbox)
	if err != nil {
		return nil, fmt.Errorf("reading inbox: %w", err)
	}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	out := map[string]seen{}
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || isTemp(n) {
			continue
		}
		if f.o.Marker != "" && strings.HasSuffix(n, f.o.Marker) {
			continue
		}
		if strings.HasSuffix(n, ".ok") || strings.HasSuffix(n, ".err") {
			continue
		}
		if ok, _ := filepath.Match(f.o.Pattern, n); !ok {
			continue
		}
		if needMarker && f.o.Marker != "" && !names[n+f.o.Marker] {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out[n] = seen{info.Size(), info.ModTime()}
	}
	return out, nil
}

func isTemp(n string) bool {
	for _, s := range []string{".tmp", ".part", ".partial", ".crdownload", "~"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return strings.Contains(n, "_tmp.")
}

// Ready returns the complete files of the inbox in name order. Without a
// marker it may wait up to one settle time to see that recent files stopped
// changing.
func (f *Folder) Ready(ctx context.Context) ([]string, error) {
	first, err := f.candidates()
	if err != nil {
		return nil, err
	}
	var ready []string
	var recent []string
	now := f.o.Now()
	for n, s := range first {
		if f.o.Marker != "" || now.Sub(s.mod) >= f.o.Settle {
			ready = append(ready, n)
		} else {
			recent = append(recent, n)
		}
	}
	if len(recent) > 0 {
		if err := f.o.Sleep(ctx, f.o.Settle); err != nil {
			return nil, err
		}
		second, err := f.candidates()
		if err != nil {
			return nil, err
		}
		// Recent files that did not change over the settle time are complete.
		for _, n := range recent {
			if s2, ok := second[n]; ok && s2 == first[n] {
				ready = append(ready, n)
			}
		}
	}
	sort.Strings(ready)
	return ready, nil
}

// Incomplete returns, in name order, the files of the inbox that match the
// pattern but are not among ready (the names Ready returned): files still
// being written, or waiting for their marker. Hidden, temporary (.tmp,
// .part, ...) and status files (.ok, .err) are not counted. It does not
// wait; a run uses it to tell "nothing arrived" from "not complete yet".
func (f *Folder) Incomplete(ready []string) ([]string, error) {
	all, err := f.matching(false)
	if err != nil {
		return nil, err
	}
	for _, n := range ready {
		delete(all, n)
	}
	out := make([]string, 0, len(all))
	for n := range all {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Claim is a file taken from the inbox.
type Claim struct {
	f    *Folder
	Name string // base name
	Path string // full path in the processing directory
	// Attempts counts the earlier failed runs of this file: the "attempts:"
	// line of the NAME.err note that Requeue left beside it in the inbox
	// (0 for a fresh file). Claim removes that note.
	Attempts int
	done     bool
}

// Claim runs the before hook and moves name from the inbox into the
// processing directory. It returns ErrGone when the file is no longer there
// (another run claimed it) and ErrVetoed (wrapped) when the hook refused.
func (f *Folder) Claim(ctx context.Context, name string) (*Claim, error) {
	if name != filepath.Base(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("claim %q: not a base name", name)
	}
	src := filepath.Join(f.o.Inbox, name)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrGone, name)
	}
	if f.o.Before != nil {
		if err := f.o.Before(ctx, Event{Phase: "before", File: name, Path: src}); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrVetoed, name, err)
		}
	}
	dst := filepath.Join(f.o.Processing, name)
	if _, err := os.Lstat(dst); err == nil {
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrGone, name) // lost a race with another run
		}
		return nil, fmt.Errorf("claim %s: %s already holds a file of that name (left by a crashed run? see Requeue)", name, f.o.Processing)
	}
	if err := os.Rename(src, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrGone, name)
		}
		return nil, fmt.Errorf("claim %s: %w", name, err)
	}
	if f.o.Marker != "" {
		_ = os.Remove(src + f.o.Marker)
	}
	c := &Claim{f: f, Name: name, Path: dst}
	if b, err := os.ReadFile(src + ".err"); err == nil {
		c.Attempts = parseAttempts(string(b))
		_ = os.Remove(src + ".err")
	}
	return c, nil
}

// parseAttempts reads the "attempts: N" line of a requeue note (1 when missing).
func parseAttempts(note string) int {
	for _, line := range strings.Split(note, "\n") {
		if v, ok := strings.CutPrefix(line, "attempts: "); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
				return n
			}
		}
	}
	return 1
}

// Requeue puts a claimed file back into the inbox so the next run takes it
// again (a failed run must not lose its input). Beside it goes NAME.err
// with the reason and the attempt count (Attempts+1), which the next Claim
// reads and removes; with a Marker the marker is written again, so the file
// is ready at once. The after hook runs with status "requeued".
func (c *Claim) Requeue(ctx context.Context, reason string) error {
	if c.done {
		return fmt.Errorf("%s: already finished", c.Name)
	}
	o := c.f.o
	dst := filepath.Join(o.Inbox, c.Name)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("requeue %s: the inbox already holds a new file of that name", c.Name)
	}
	if err := os.Rename(c.Path, dst); err != nil {
		return fmt.Errorf("requeue %s: %w", c.Name, err)
	}
	c.done = true
	text := fmt.Sprintf("status: requeued\nfile: %s\nat: %s\nattempts: %d\nreason: %s\n", c.Name,
		o.Now().UTC().Format(time.RFC3339), c.Attempts+1, strings.ReplaceAll(reason, "\n", " "))
	if err := writeAtomic(dst+".err", strings.NewReader(text)); err != nil {
		return err
	}
	if o.Marker != "" {
		if err := writeAtomic(dst+o.Marker, strings.NewReader("")); err != nil {
			return err
		}
	}
	if o.After != nil {
		if err := o.After(ctx, Event{Phase: "after", File: c.Name, Path: dst, Status: "requeued", Reason: reason}); err != nil {
			return fmt.Errorf("after hook for %s: %w", c.Name, err)
		}
	}
	return nil
}

// Leftovers returns claims for the files a crashed run left in the
// processing directory, in name order, so the caller decides per file
// (Done when its run committed, else Requeue). Call it only while holding
// the pipeline lock.
func (f *Folder) Leftovers() ([]*Claim, error) {
	ents, err := os.ReadDir(f.o.Processing)
	if err != nil {
		return nil, err
	}
	var out []*Claim
	for _, e := range ents {
		if e.Type().IsRegular() {
			out = append(out, &Claim{f: f, Name: e.Name(), Path: filepath.Join(f.o.Processing, e.Name())})
		}
	}
	return out, nil
}

// Done moves the file to the done directory and writes NAME.ok there.
func (c *Claim) Done(ctx context.Context) error { return c.finish(ctx, c.f.o.Done, "ok", "") }

// Fail moves the file to the error directory and writes NAME.err with the reason.
func (c *Claim) Fail(ctx context.Context, reason string) error {
	return c.finish(ctx, c.f.o.Error, "error", reason)
}

func (c *Claim) finish(ctx context.Context, dir, status, reason string) error {
	if c.done {
		return fmt.Errorf("%s: already finished", c.Name)
	}
	name := c.Name
	if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
		// Keep earlier deliveries of the same name: add a time stamp.
		ext := filepath.Ext(name)
		name = strings.TrimSuffix(name, ext) + "." + c.f.o.Now().UTC().Format("20060102T150405.000000000") + ext
	}
	dst := filepath.Join(dir, name)
	if err := os.Rename(c.Path, dst); err != nil {
		return fmt.Errorf("moving %s to %s: %w", c.Name, dir, err)
	}
	c.done = true
	marker := dst + ".ok"
	text := fmt.Sprintf("status: %s\nfile: %s\nat: %s\n", status, c.Name, c.f.o.Now().UTC().Format(time.RFC3339))
	if status != "ok" {
		marker = dst + ".err"
		text += "reason: " + strings.ReplaceAll(reason, "\n", " ") + "\n"
	}
	if err := writeAtomic(marker, strings.NewReader(text)); err != nil {
		return err
	}
	if c.f.o.After != nil {
		if err := c.f.o.After(ctx, Event{Phase: "after", File: c.Name, Path: dst, Status: status, Reason: reason}); err != nil {
			return fmt.Errorf("after hook for %s: %w", c.Name, err)
		}
	}
	return nil
}

// Requeue moves files left in the processing directory (by a run that
// crashed) back to the inbox and returns their names. Call it only while
// holding the pipeline lock, so no other run is processing them.
func (f *Folder) Requeue() ([]string, error) {
	ents, err := os.ReadDir(f.o.Processing)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := os.Rename(filepath.Join(f.o.Processing, e.Name()), filepath.Join(f.o.Inbox, e.Name())); err != nil {
			return out, fmt.Errorf("requeue %s: %w", e.Name(), err)
		}
		out = append(out, e.Name())
	}
	return out, nil
}

// Deliver writes r as dir/name the way a partner's pick-up expects it:
// under a hidden temporary name first, fsynced, renamed into place, then
// the marker (if set) is written last. before/after hooks run around it.
func Deliver(ctx context.Context, dir, name string, r io.Reader, marker string, before, after Hook) error {
	if name != filepath.Base(name) {
		return fmt.Errorf("deliver %q: not a base name", name)
	}
	dst := filepath.Join(dir, name)
	if before != nil {
		if err := before(ctx, Event{Phase: "before", File: name, Path: dst}); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrVetoed, name, err)
		}
	}
	if err := writeAtomic(dst, r); err != nil {
		return err
	}
	if marker != "" {
		if err := writeAtomic(dst+marker, strings.NewReader("")); err != nil {
			return err
		}
	}
	if after != nil {
		if err := after(ctx, Event{Phase: "after", File: name, Path: dst, Status: "ok"}); err != nil {
			return fmt.Errorf("after hook for %s: %w", name, err)
		}
	}
	return nil
}

// Mark completes the delivery of a file that is already in place (the
// engine wrote it atomically at path): it writes the marker path+marker
// last ("" writes none) and runs the after hook with status "ok".
func Mark(ctx context.Context, path, marker string, after Hook) error {
	if marker != "" {
		if err := writeAtomic(path+marker, strings.NewReader("")); err != nil {
			return err
		}
	}
	if after != nil {
		if err := after(ctx, Event{Phase: "after", File: filepath.Base(path), Path: path, Status: "ok"}); err != nil {
			return fmt.Errorf("after hook for %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// writeAtomic writes path via a temporary file in the same directory.
func writeAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
