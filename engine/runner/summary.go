package runner

import (
	"errors"
	"fmt"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

// report builds the run report; err is the (redacted) run error.
func (x *execution) report(err error) *Report {
	end := x.end
	if end.IsZero() {
		end = x.opts.Now()
	}
	rep := &Report{
		RunID: x.runID, Pipeline: x.p.Name, File: x.p.File, SHA256: x.p.SHA256,
		DryRun: x.opts.DryRun, Start: x.start, End: end,
		DurationMS: end.Sub(x.start).Milliseconds(),
		Unrouted:   x.unrouted, RejectsTotal: x.rejTotal,
		Steps: x.stepReports(), Rejects: []RejectReport{}, Outputs: []OutputReport{},
	}
	if !x.since.IsZero() {
		s := x.since
		rep.Since = &s
	}
	if x.run != nil {
		rep.Recovery = x.red.S(x.run.Recovery())
	}
	var inv *InvalidError
	switch {
	case err == nil:
		rep.Status = x.status
		rep.ExitCode = ExitOK
		if rep.Status == string(state.StatusWarning) {
			rep.ExitCode = ExitWarning
		}
	case errors.As(err, &inv):
		rep.Status, rep.ExitCode = StatusInvalid, ExitInvalid
		for _, d := range inv.Diags {
			rep.Diagnostics = append(rep.Diagnostics, d.String())
		}
	case errors.Is(err, state.ErrLocked):
		rep.Status, rep.ExitCode = StatusLocked, ExitLocked
	default:
		rep.Status, rep.ExitCode = string(state.StatusError), ExitError
	}
	if err != nil {
		rep.Error = x.red.S(err.Error())
	} else {
		rep.Message = x.red.S(x.empty)
	}
	for _, r := range x.repRejects {
		rep.Rejects = append(rep.Rejects, RejectReport{
			Origin: x.red.S(r.Record.Origin.String()), Step: r.Step, Field: r.Field, Reason: x.red.S(r.Reason),
		})
	}
	// Outputs: what was committed, or in a dry run what would have been.
	if err == nil {
		for _, o := range x.outputs() {
			rep.Outputs = append(rep.Outputs, OutputReport{Step: o.step, Path: o.final, SHA256: o.sum, Bytes: o.n, Records: o.records})
		}
		if x.rejects.out != nil {
			rep.RejectsFile = x.rejects.final
		}
	}
	return rep
}

// stepReports returns the counts of every step, source first.
func (x *execution) stepReports() []StepReport {
	var out []StepReport
	if x.src != nil {
		s := x.src
		out = append(out, StepReport{ID: s.step.ID, Type: s.step.Type, Section: s.step.Section,
			In: s.stats.in, Out: s.stats.out, Rejected: s.stats.rejected, DurationMS: ms(s.stats.dur)})
	}
	for _, t := range x.transforms {
		f := t.stats.in - t.stats.out - t.stats.rejected
		if f < 0 {
			f = 0
		}
		out = append(out, StepReport{ID: t.step.ID, Type: t.step.Type, Section: t.step.Section,
			In: t.stats.in, Out: t.stats.out, Rejected: t.stats.rejected, Filtered: f, DurationMS: ms(t.stats.dur)})
	}
	for _, s := range x.sinks {
		out = append(out, StepReport{ID: s.step.ID, Type: s.step.Type, Section: s.step.Section,
			In: s.stats.in, Out: s.stats.out, Rejected: s.stats.rejected, DurationMS: ms(s.stats.dur)})
	}
	return out
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// preview prints what a dry run would have written.
func (x *execution) preview() {
	w := x.opts.Stdout
	fmt.Fprintf(w, "dry run of %s: nothing written, state unchanged\n", x.p.Name)
	for _, s := range x.sinks {
		target := "(no file)"
		if s.out != nil {
			target = s.out.final
		}
		fmt.Fprintf(w, "%s: would write %s: %d records", display(s.step), target, s.stats.out)
		if s.out != nil {
			fmt.Fprintf(w, ", %d bytes", s.out.n)
		}
		if s.stats.rejected > 0 {
			fmt.Fprintf(w, ", %d rejected", s.stats.rejected)
		}
		fmt.Fprintln(w)
		for _, r := range s.preview {
			fmt.Fprintf(w, "  %s\n", x.red.S(r.String()))
		}
		if s.stats.in > int64(len(s.preview)) && len(s.preview) > 0 {
			fmt.Fprintf(w, "  ... %d more\n", s.stats.in-int64(len(s.preview)))
		}
	}
	if x.unrouted > 0 {
		fmt.Fprintf(w, "unrouted (no sink took them): %d records\n", x.unrouted)
	}
	if x.rejTotal > 0 {
		fmt.Fprintf(w, "rejects: would write %s: %d rejects\n", x.rejects.final, x.rejTotal)
	}
}
