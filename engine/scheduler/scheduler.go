// Package scheduler is Kontor's built-in scheduler (`kontor schedule`): it
// runs jobs (pipelines) at the instants of their cron schedules.
//
// Rules:
//   - No overlap per job: a job that is due while its previous run is
//     still running is skipped (logged, counted in Skipped). Between
//     processes the pipeline's run lock does the same (the job's Run gets
//     LOCKED and the scheduler logs it).
//   - Missed slots (the process was down, or the machine slept): with
//     CatchUp "once" (the default) a job whose schedule had a slot between
//     its last recorded run and the scheduler's start runs once right at
//     the start, however many slots were missed; with "none" it waits for
//     its next slot. A job that never ran is not caught up. Slots missed
//     while the scheduler runs (a sleep overshoot) are skipped and logged.
//   - Stop: when the context passed to Run is cancelled (SIGTERM), no new
//     run starts; running ones get StopTimeout to finish, then their
//     context is cancelled (the runner then aborts them: nothing is
//     committed) and Run returns when they have returned.
//
// Time comes from a Clock, so tests drive the scheduler with a FakeClock.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/kontor-etl/kontor/engine/cron"
)

// Job is one scheduled pipeline.
type Job struct {
	// Name identifies the job (the pipeline name); unique.
	Name string
	// Schedule says when the job is due.
	Schedule *cron.Schedule
	// Run runs the job once and returns the run's status (OK, WARNING,
	// ERROR, INVALID, LOCKED). Its context is cancelled at the end of the
	// stop timeout.
	Run func(ctx context.Context) string
	// LastRun returns the start of the job's newest recorded run, for
	// catch-up (ok=false: never ran). nil: no catch-up for this job.
	LastRun func(ctx context.Context) (t time.Time, ok bool, err error)
}

// Catch-up policies (Options.CatchUp).
const (
	CatchUpNone = "none"
	CatchUpOnce = "once"
)

// Options configure a Scheduler. The zero value uses the real clock, the
// local time zone, catch-up "once", a stop timeout of 5 minutes and no
// logging.
type Options struct {
	Clock Clock
	// Location is the time zone of the cron fields (nil: time.Local).
	Location *time.Location
	// CatchUp is "once" (default) or "none"; anything else is an error.
	CatchUp string
	// StopTimeout is how long running jobs may finish after stop
	// (default 5m; negative: cancel at once).
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// Scheduler runs jobs on their schedules. Create it with New.
type Scheduler struct {
	opts Options
	jobs []*jobState
	log  *slog.Logger

	mu sync.Mutex
	wg sync.WaitGroup
}

type jobState struct {
	Job
	running bool
	next    time.Time
	skipped int64
	runs    int64
}

// New checks the jobs and options.
func New(jobs []Job, opts Options) (*Scheduler, error) {
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	switch opts.CatchUp {
	case "":
		opts.CatchUp = CatchUpOnce
	case CatchUpOnce, CatchUpNone:
	default:
		return nil, fmt.Errorf("invalid catch-up policy %q: want none or once", opts.CatchUp)
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 5 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{opts: opts, log: log}
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.Name == "" || j.Schedule == nil || j.Run == nil {
			return nil, fmt.Errorf("job %q: name, schedule and run are required", j.Name)
		}
		if seen[j.Name] {
			return nil, fmt.Errorf("job %q is scheduled twice", j.Name)
		}
		seen[j.Name] = true
		s.jobs = append(s.jobs, &jobState{Job: j})
	}
	if len(s.jobs) == 0 {
		return nil, errors.New("nothing to schedule")
	}
	return s, nil
}

// JobStatus is a job's state for metrics and logs.
type JobStatus struct {
	Name     string
	Schedule string
	Next     time.Time // next due instant (zero before Run)
	Running  bool
	Runs     int64 // runs started by this scheduler
	Skipped  int64 // due runs skipped because the previous one still ran
}

// Status returns the state of every job, by name.
func (s *Scheduler) Status() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, JobStatus{Name: j.Name, Schedule: j.Schedule.String(), Next: j.next, Running: j.running, Runs: j.runs, Skipped: j.skipped})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Run schedules until ctx is cancelled, then stops gracefully (see the
// package doc). It returns nil after a stop.
func (s *Scheduler) Run(ctx context.Context) error {
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	clk, loc := s.opts.Clock, s.opts.Location

	now := clk.Now()
	s.mu.Lock()
	for _, j := range s.jobs {
		j.next = j.Schedule.Next(now, loc)
		s.log.Info("scheduled", "pipeline", j.Name, "schedule", j.Schedule.String(), "next", j.next.Format(time.RFC3339))
	}
	s.mu.Unlock()
	if s.opts.CatchUp == CatchUpOnce {
		for _, j := range s.jobs {
			if j.LastRun == nil {
				continue
			}
			last, ok, err := j.LastRun(ctx)
			if err != nil {
				s.log.Error("reading the last run for catch-up", "pipeline", j.Name, "err", err)
				continue
			}
			if !ok {
				continue
			}
			if missed := j.Schedule.Next(last, loc); !missed.After(now) {
				s.log.Info("catching up a missed run", "pipeline", j.Name, "last_run", last.In(loc).Format(time.RFC3339), "missed_slot", missed.Format(time.RFC3339))
				s.start(runCtx, j, "catch-up")
			}
		}
	}

	for {
		s.mu.Lock()
		var due time.Time
		for _, j := range s.jobs {
			if due.IsZero() || j.next.Before(due) {
				due = j.next
			}
		}
		s.mu.Unlock()
		if due.IsZero() {
			s.log.Error("no job has a next run")
			break
		}
		if err := clk.SleepUntil(ctx, due); err != nil {
			break
		}
		now := clk.Now()
		for _, j := range s.jobs {
			s.mu.Lock()
			slot := j.next
			isDue := !slot.After(now)
			if isDue {
				j.next = j.Schedule.Next(now, loc)
			}
			s.mu.Unlock()
			if !isDue {
				continue
			}
			if now.Sub(slot) > time.Minute {
				s.log.Warn("run started late", "pipeline", j.Name, "slot", slot.Format(time.RFC3339), "late", now.Sub(slot).Round(time.Second).String())
			}
			s.start(runCtx, j, slot.Format(time.RFC3339))
		}
	}
	return s.stop(cancelRuns)
}

// start runs j in a goroutine unless it is still running.
func (s *Scheduler) start(ctx context.Context, j *jobState, slot string) {
	s.mu.Lock()
	if j.running {
		j.skipped++
		s.mu.Unlock()
		s.log.Warn("skipped: the previous run is still running", "pipeline", j.Name, "slot", slot)
		return
	}
	j.running = true
	j.runs++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.log.Info("run due", "pipeline", j.Name, "slot", slot)
		status := j.Run(ctx)
		s.mu.Lock()
		j.running = false
		s.mu.Unlock()
		lvl := slog.LevelInfo
		switch status {
		case "ERROR", "INVALID":
			lvl = slog.LevelError
		case "WARNING", "LOCKED":
			lvl = slog.LevelWarn
		}
		msg := "run ended"
		if status == "LOCKED" {
			msg = "skipped: the pipeline is already running in another process"
		}
		s.log.Log(ctx, lvl, msg, "pipeline", j.Name, "slot", slot, "status", status)
	}()
}

// stop waits for running jobs up to the stop timeout, then cancels them.
func (s *Scheduler) stop(cancel context.CancelFunc) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	running := 0
	s.mu.Lock()
	for _, j := range s.jobs {
		if j.running {
			running++
		}
	}
	s.mu.Unlock()
	if running > 0 {
		s.log.Info("stopping: waiting for running pipelines", "running", running, "timeout", s.opts.StopTimeout.String())
	}
	if s.opts.StopTimeout > 0 {
		t := time.NewTimer(s.opts.StopTimeout)
		defer t.Stop()
		select {
		case <-done:
			s.log.Info("stopped")
			return nil
		case <-t.C:
		}
	}
	select {
	case <-done:
	default:
		s.log.Warn("stop timeout reached: cancelling running pipelines")
		cancel()
		<-done
	}
	s.log.Info("stopped")
	return nil
}
