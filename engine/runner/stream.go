package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func sortStrings(s []string) { sort.Strings(s) }

// previewRows is the number of records per sink a dry run prints.
const previewRows = 5

// stage is where a batch goes next: a transform (and everything after
// it) or the sinks. push hands over one batch; end says that no more will
// come (flush, then end the next stage).
type stage struct {
	push func(*record.Batch) error
	end  func() error
}

// stream runs source -> transforms... -> sinks. Stages that only use the
// CPU (file sources and file sinks, the core transforms) run in one
// goroutine, a batch passing through all of them before the next one is
// read: no channel handoffs, only one batch alive at a time, and when
// nothing can keep a reference to it the batch goes back to the source
// for reuse (see canRecycle). A stage that may wait on a peer (a non-file
// source or sink, a plugin transform) gets goroutines before and after it,
// so waiting overlaps with the other stages. Channels have capacity 1, so
// each goroutine holds at most one batch while the next one works on
// another: memory is bounded by a few batches per goroutine.
func (x *execution) stream(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	var wg sync.WaitGroup
	start := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				cancel(err)
			}
		}()
	}
	cut := x.cuts()
	x.recycle = x.canRecycle(cut)
	next := x.sinkStage(ctx)
	for k := len(x.transforms) + 1; k >= 1; k-- {
		if cut[k] {
			next = boundary(ctx, start, next)
		}
		if k >= 2 {
			next = x.transformStage(ctx, x.transforms[k-2], next)
		}
	}
	start(func() error {
		if err := x.runSource(ctx, next.push); err != nil {
			return err
		}
		return next.end()
	})
	wg.Wait()

	if parent.Err() != nil {
		return fmt.Errorf("run cancelled: %w", context.Cause(parent))
	}
	return context.Cause(ctx)
}

// inPlacer is implemented by the core transforms (engine/transform): they
// only use the CPU, append at most one record per input record after
// reading it and keep no reference to the input batch, so the runner runs
// them in the goroutine of their neighbours and lets out.Records share
// in.Records' array (no allocation per batch).
type inPlacer interface{ InPlace() bool }

// outputsConsumer is implemented by core transforms that reuse the memory
// of their earlier outputs once the runner says that nothing references
// them any more (called under the same conditions as sdk.BatchRecycler).
type outputsConsumer interface{ OutputsConsumed() }

func inPlace(t sdk.Transform) bool {
	p, ok := t.(inPlacer)
	return ok && p.InPlace()
}

// cuts returns, for each stage k (0 source, 1..n transforms, n+1 sinks),
// whether a goroutine boundary lies before it.
func (x *execution) cuts() []bool {
	n := len(x.transforms)
	waits := make([]bool, n+2) // the stage may wait on a peer
	waits[0] = x.src.source != nil
	for i, t := range x.transforms {
		waits[i+1] = !inPlace(t.t)
	}
	for _, s := range x.sinks {
		if s.out == nil {
			waits[n+1] = true
		}
	}
	cut := make([]bool, n+2)
	for k := 1; k <= n+1; k++ {
		cut[k] = waits[k] || waits[k-1]
	}
	// Not even with several CPUs: parsing in a goroutine of its own (one
	// handoff per batch) measured 20-40% faster in wall time on an idle
	// 2-core machine, but needed 50-60% more CPU and was slower when other
	// processes kept the cores busy. Fused, a second CPU still takes the
	// garbage collector's work.
	return cut
}

// canRecycle reports whether a source batch is completely consumed when
// the source's push returns: every stage runs in the source's goroutine,
// the transforms are core transforms (they keep nothing) and no sink keeps
// records (sdk.RecordRetainer). Rejects the runner keeps are copied (see
// handleRejects).
func (x *execution) canRecycle(cut []bool) bool {
	for _, c := range cut[1:] {
		if c {
			return false
		}
	}
	for _, t := range x.transforms {
		if !inPlace(t.t) || t.dropped != nil {
			return false
		}
	}
	for _, s := range x.sinks {
		r, ok := s.sink.(sdk.RecordRetainer)
		if !ok || r.RetainsRecords() {
			return false
		}
	}
	return true
}

// boundary runs next in a new goroutine fed through a channel.
func boundary(ctx context.Context, start func(func() error), next stage) stage {
	ch := make(chan *record.Batch, 1)
	start(func() error {
		for {
			select {
			case b, ok := <-ch:
				if !ok {
					if ctx.Err() != nil {
						return context.Cause(ctx)
					}
					return next.end()
				}
				if err := next.push(b); err != nil {
					return err
				}
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})
	return stage{
		push: func(b *record.Batch) error { return send(ctx, ch, b) },
		end:  func() error { close(ch); return nil },
	}
}

func send(ctx context.Context, out chan<- *record.Batch, b *record.Batch) error {
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// attribute sets the step of rejects produced by step s.
func attribute(rs []record.Reject, s *spec.Step) {
	for i := range rs {
		rs[i].Step = s.ID
	}
}

func (x *execution) runSource(ctx context.Context, out func(*record.Batch) error) (err error) {
	defer func() {
		if err == nil {
			x.reportProgress(true)
		}
	}()
	rt := x.src
	if rt.source != nil {
		defer func() { rt.closed = true; rt.source.Close() }()
		return x.pump(ctx, rt.source, out)
	}
	for i, path := range rt.files {
		if err := x.readFile(ctx, path, rt.names[i], out); err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) readFile(ctx context.Context, path, name string, out func(*record.Batch) error) error {
	rt := x.src
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", display(rt.step), err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	t0 := time.Now()
	src, err := rt.decoder.Open(ctx, sdk.Input{Name: name, R: x.progressReader(f, name), Size: size})
	rt.stats.dur += time.Since(t0)
	if err != nil {
		return fmt.Errorf("%s: %w", display(rt.step), err)
	}
	err = x.pump(ctx, src, out)
	if cerr := src.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("%s: closing %s: %w", display(rt.step), name, cerr)
	}
	return err
}

// pump moves batches from a source to out.
func (x *execution) pump(ctx context.Context, src sdk.Source, out func(*record.Batch) error) error {
	rt := x.src
	for {
		t0 := time.Now()
		b, err := src.Next(ctx)
		rt.stats.dur += time.Since(t0)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("%s: %w", display(rt.step), err)
		}
		if b == nil {
			continue
		}
		rt.stats.out += int64(len(b.Records))
		rt.stats.rejected += int64(len(b.Rejects))
		rt.stats.in += int64(len(b.Records) + len(b.Rejects))
		attribute(b.Rejects, rt.step)
		x.reportProgress(false)
		if len(b.Records) == 0 && len(b.Rejects) == 0 {
			continue
		}
		if err := out(b); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if x.recycle {
			if r, ok := src.(sdk.BatchRecycler); ok {
				r.Recycle(b)
			}
			for _, t := range x.transforms {
				if c, ok := t.t.(outputsConsumer); ok {
					c.OutputsConsumed()
				}
			}
		}
	}
}

// transformStage runs t on each batch and hands the results to next.
func (x *execution) transformStage(ctx context.Context, t *transformRT, next stage) stage {
	reuse := inPlace(t.t) && t.dropped == nil // noteDropped reads the input after Process
	// A Flusher may emit a record in a later call than the one that got
	// it (a pipelined plugin transform returns batch N-1 from the call of
	// batch N, sort emits everything at Flush): its drops are known only
	// at the end, as the origins that went in and never came out.
	_, holds := t.t.(sdk.Flusher)
	return stage{
		push: func(b *record.Batch) error {
			if t.dropped != nil && holds {
				t.noteIn(b)
			}
			prior := b.Rejects
			b.Rejects = nil
			var nb *record.Batch
			if reuse {
				nb = &record.Batch{Records: b.Records[:0:len(b.Records)]}
			} else {
				nb = &record.Batch{Records: make([]record.Record, 0, len(b.Records))}
			}
			in := len(b.Records)
			t.stats.in += int64(in)
			t0 := time.Now()
			err := t.t.Process(ctx, b, nb)
			t.stats.dur += time.Since(t0)
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				return fmt.Errorf("%s: %w", display(t.step), err)
			}
			t.stats.out += int64(len(nb.Records))
			t.stats.rejected += int64(len(nb.Rejects))
			switch {
			case t.dropped != nil && holds:
				t.noteOut(nb)
			case t.dropped != nil && len(nb.Records)+len(nb.Rejects) < in:
				t.noteDropped(b, nb)
			}
			attribute(nb.Rejects, t.step)
			if len(prior) > 0 {
				nb.Rejects = append(prior, nb.Rejects...)
			}
			if len(nb.Records) == 0 && len(nb.Rejects) == 0 {
				return nil
			}
			return next.push(nb)
		},
		end: func() error {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if f, ok := t.t.(sdk.Flusher); ok {
				t0 := time.Now()
				var inner time.Duration // time spent in later stages (fused)
				err := f.Flush(ctx, func(b *record.Batch) error {
					if b == nil {
						return nil
					}
					if t.dropped != nil {
						t.noteOut(b)
					}
					t.stats.out += int64(len(b.Records))
					t.stats.rejected += int64(len(b.Rejects))
					attribute(b.Rejects, t.step)
					if len(b.Records) == 0 && len(b.Rejects) == 0 {
						return nil
					}
					t1 := time.Now()
					err := next.push(b)
					inner += time.Since(t1)
					return err
				})
				t.stats.dur += time.Since(t0) - inner
				if err != nil {
					if ctx.Err() != nil {
						return context.Cause(ctx)
					}
					return fmt.Errorf("%s: flush: %w", display(t.step), err)
				}
				for k, out := range t.open { // went in, never came out: filtered out
					if !out {
						t.dropped[k] = struct{}{}
					}
				}
				t.open = nil
			}
			return next.end()
		},
	}
}

// sinkStage is the last stage: it handles all rejects (in order) and
// routes records to the sinks.
func (x *execution) sinkStage(ctx context.Context) stage {
	allRoute := true // every sink has a when: a record may be unrouted
	for _, s := range x.sinks {
		if s.when == nil {
			allRoute = false
		}
	}
	var routed []bool
	var whenRejects []record.Reject
	push := func(b *record.Batch) error {
		if err := x.handleRejects(b.Rejects); err != nil {
			return err
		}
		if len(b.Records) == 0 {
			return nil
		}
		if allRoute {
			routed = append(routed[:0], make([]bool, len(b.Records))...)
		}
		for _, s := range x.sinks {
			recs := b.Records
			if s.when != nil {
				recs, whenRejects = x.route(s, b.Records, routed, whenRejects[:0])
				if len(whenRejects) > 0 {
					if err := x.handleRejects(whenRejects); err != nil {
						return err
					}
				}
			}
			if len(recs) == 0 {
				continue
			}
			if err := x.write(ctx, s, recs); err != nil {
				return err
			}
		}
		if allRoute {
			for i, ok := range routed {
				if !ok {
					x.unrouted++
					if x.trackOrigins {
						x.markRejected(b.Records[i].Origin, len(x.transforms)+1)
					}
				}
			}
		}
		return nil
	}
	end := func() error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	}
	return stage{push: push, end: end}
}

// route returns the records for which s.when is true.
func (x *execution) route(s *sinkRT, recs []record.Record, routed []bool, rejects []record.Reject) ([]record.Record, []record.Reject) {
	var out []record.Record
	for i, r := range recs {
		v, err := s.when.Eval(r)
		if err != nil {
			rejects = append(rejects, record.Reject{Record: r, Step: s.step.ID, Field: "when", Reason: err.Error()})
			continue
		}
		if v.Kind() != record.KindBool {
			if v.IsNull() {
				continue
			}
			rejects = append(rejects, record.Reject{Record: r, Step: s.step.ID, Field: "when",
				Reason: fmt.Sprintf("condition %q gave %s, not bool", s.when.Source(), v.Kind())})
			continue
		}
		if v.Bool() {
			out = append(out, r)
			if routed != nil {
				routed[i] = true
			}
		}
	}
	s.stats.rejected += int64(len(rejects))
	return out, rejects
}

func (x *execution) write(ctx context.Context, s *sinkRT, recs []record.Record) error {
	s.stats.in += int64(len(recs))
	if x.opts.DryRun && len(s.preview) < previewRows {
		for _, r := range recs[:min(len(recs), previewRows-len(s.preview))] {
			s.preview = append(s.preview, r.Clone())
		}
	}
	t0 := time.Now()
	rejects, err := s.sink.Write(ctx, &record.Batch{Records: recs})
	s.stats.dur += time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("%s: %w", display(s.step), err)
	}
	s.stats.out += int64(len(recs) - len(rejects))
	s.stats.rejected += int64(len(rejects))
	if len(rejects) > 0 {
		attribute(rejects, s.step)
		return x.handleRejects(rejects)
	}
	return nil
}

// errRejected ends a run under on_error: fail or past max_rejects.
var errRejected = errors.New("record rejected")

// handleRejects writes rejects to the reject file, keeps the first ones for
// the report and state, and applies the error policy.
func (x *execution) handleRejects(rs []record.Reject) error {
	for _, r := range rs {
		x.rejTotal++
		if len(x.repRejects) < MaxReportRejects || len(x.stateRejects) < MaxStateRejects {
			// A copy: the record's values may live in a recycled batch.
			r.Record = r.Record.Clone()
		}
		if len(x.repRejects) < MaxReportRejects {
			x.repRejects = append(x.repRejects, r)
		}
		if len(x.stateRejects) < MaxStateRejects {
			x.stateRejects = append(x.stateRejects, r)
		}
		if x.trackOrigins {
			x.markRejected(r.Record.Origin, x.stepIndex[r.Step])
		}
		if x.rejTotal <= 10 {
			x.log.Warn("record rejected", "origin", r.Record.Origin.String(), "step", r.Step, "field", r.Field, "reason", r.Reason)
		}
		if x.p.OnError.Policy == "fail" {
			return fmt.Errorf("%w (on_error: fail): %s", errRejected, r.Error())
		}
		if max := x.p.OnError.MaxRejects; max > 0 && x.rejTotal > int64(max) {
			return fmt.Errorf("more than %d records rejected (max_rejects), the last: %s", max, r.Error())
		}
		if err := x.rejects.write(r); err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) markRejected(o record.Origin, stage int) {
	k := originKey(o)
	if stage > x.rejectedAt[k] {
		x.rejectedAt[k] = stage
	}
}

// noteIn records the origins of the records a Flusher got (see noteOut).
func (t *transformRT) noteIn(in *record.Batch) {
	if t.open == nil {
		t.open = map[string]bool{}
	}
	for _, r := range in.Records {
		k := originKey(r.Origin)
		if _, ok := t.open[k]; !ok {
			t.open[k] = false
		}
	}
}

// noteOut marks the origins of what a Flusher passed on or rejected; those
// still unmarked after its Flush it filtered out. An origin it never got
// makes the step unlinked.
func (t *transformRT) noteOut(out *record.Batch) {
	mark := func(o record.Origin) {
		k := originKey(o)
		if _, ok := t.open[k]; !ok {
			if t.unlinked == "" {
				t.unlinked = o.String()
			}
			return
		}
		t.open[k] = true
	}
	for _, r := range out.Records {
		mark(r.Origin)
	}
	for _, r := range out.Rejects {
		mark(r.Record.Origin)
	}
}

// noteDropped records the origins of records in in that the transform
// neither passed on nor rejected (filtered out).
func (t *transformRT) noteDropped(in, out *record.Batch) {
	kept := make(map[string]struct{}, len(out.Records)+len(out.Rejects))
	for _, r := range out.Records {
		kept[originKey(r.Origin)] = struct{}{}
	}
	for _, r := range out.Rejects {
		kept[originKey(r.Record.Origin)] = struct{}{}
	}
	for _, r := range in.Records {
		k := originKey(r.Origin)
		if _, ok := kept[k]; !ok {
			t.dropped[k] = struct{}{}
		}
	}
}
