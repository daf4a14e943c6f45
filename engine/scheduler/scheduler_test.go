package scheduler

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/cron"
)

func mustCron(t *testing.T, s string) *cron.Schedule {
	t.Helper()
	c, err := cron.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// harness runs a scheduler on a fake clock in the background.
type harness struct {
	t      *testing.T
	clock  *FakeClock
	s      *Scheduler
	cancel context.CancelFunc
	done   chan error
	log    *syncBuf
}

func start(t *testing.T, at time.Time, jobs []Job, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, clock: NewFakeClock(at), done: make(chan error, 1), log: &syncBuf{}}
	opts.Clock = h.clock
	opts.Location = time.UTC
	opts.Logger = slog.New(slog.NewTextHandler(h.log, nil))
	s, err := New(jobs, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h
}

// tick waits until the scheduler sleeps, then moves the clock to its wake-up time.
func (h *harness) tick() time.Time {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.clock.WaitForSleepers(ctx, 1); err != nil {
		h.t.Fatalf("scheduler does not sleep: %v", err)
	}
	w, _ := h.clock.NextWake()
	h.clock.Set(w)
	return w
}

// waitIdle waits until no job runs (a run's work can be done before the
// scheduler has seen it return).
func (h *harness) waitIdle() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		busy := false
		for _, st := range h.s.Status() {
			busy = busy || st.Running
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("jobs still running")
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		h.t.Fatal("scheduler did not stop")
	}
}

// TestEveryMinuteFiveMinutes: an every-minute job over 5 simulated minutes
// runs 5 times, at the minute boundaries, never overlapping.
func TestEveryMinuteFiveMinutes(t *testing.T) {
	var active, maxActive, runs atomic.Int32
	var mu sync.Mutex
	var at []string
	finished := make(chan struct{}, 10)
	var h *harness
	job := Job{Name: "abo", Schedule: mustCron(t, "* * * * *"), Run: func(ctx context.Context) string {
		n := active.Add(1)
		if n > maxActive.Load() {
			maxActive.Store(n)
		}
		mu.Lock()
		at = append(at, h.clock.Now().Format("15:04:05"))
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // some work
		runs.Add(1)
		active.Add(-1)
		finished <- struct{}{}
		return "OK"
	}}
	h = start(t, time.Date(2026, 11, 23, 10, 0, 30, 0, time.UTC), []Job{job}, Options{})
	for i := 0; i < 5; i++ {
		h.tick()
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d did not happen", i+1)
		}
		h.waitIdle()
	}
	h.stop()
	if runs.Load() != 5 || maxActive.Load() != 1 {
		t.Errorf("%d runs, at most %d at once; want 5, 1", runs.Load(), maxActive.Load())
	}
	if got := strings.Join(at, " "); got != "10:01:00 10:02:00 10:03:00 10:04:00 10:05:00" {
		t.Errorf("run times %s", got)
	}
	if st := h.s.Status(); st[0].Runs != 5 || st[0].Skipped != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestOverlapSkipped: a run that takes longer than the interval makes the
// next slot skip (logged and counted), not run twice at once.
func TestOverlapSkipped(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var active, maxActive atomic.Int32
	job := Job{Name: "slow", Schedule: mustCron(t, "*/1 * * * *"), Run: func(ctx context.Context) string {
		if n := active.Add(1); n > maxActive.Load() {
			maxActive.Store(n)
		}
		started <- struct{}{}
		<-release
		active.Add(-1)
		return "OK"
	}}
	h := start(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), []Job{job}, Options{})
	h.tick() // 10:01 starts
	<-started
	h.tick() // 10:02 skipped
	h.tick() // 10:03 skipped
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.clock.WaitForSleepers(ctx, 1)
	release <- struct{}{}
	h.waitIdle()
	h.tick() // 10:04 runs
	<-started
	close(release)
	h.stop()
	st := h.s.Status()[0]
	if st.Runs != 2 || st.Skipped != 2 || maxActive.Load() != 1 {
		t.Errorf("runs %d skipped %d max active %d; want 2, 2, 1", st.Runs, st.Skipped, maxActive.Load())
	}
	if n := strings.Count(h.log.String(), "skipped: the previous run is still running"); n != 2 {
		t.Errorf("%d skip log lines:\n%s", n, h.log)
	}
}

// TestCatchUp: a slot missed since the last recorded run runs once at the
// start with "once", not at all with "none"; a job that never ran is not
// caught up.
func TestCatchUp(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		policy string
		last   time.Time
		hasRun bool
		want   int32
	}{
		{CatchUpOnce, now.Add(-5 * time.Hour), true, 1}, // 5 slots missed: one run
		{CatchUpOnce, now.Add(-20 * time.Minute), true, 0},
		{CatchUpOnce, time.Time{}, false, 0},
		{CatchUpNone, now.Add(-5 * time.Hour), true, 0},
	} {
		var runs atomic.Int32
		done := make(chan struct{}, 5)
		job := Job{Name: "p", Schedule: mustCron(t, "@hourly"),
			Run:     func(context.Context) string { runs.Add(1); done <- struct{}{}; return "OK" },
			LastRun: func(context.Context) (time.Time, bool, error) { return tc.last, tc.hasRun, nil }}
		h := start(t, now, []Job{job}, Options{CatchUp: tc.policy})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h.clock.WaitForSleepers(ctx, 1)
		cancel()
		if tc.want > 0 {
			<-done
		}
		h.stop()
		if runs.Load() != tc.want {
			t.Errorf("%s, last %v: %d runs at start, want %d", tc.policy, tc.last, runs.Load(), tc.want)
		}
	}
	if _, err := New([]Job{{Name: "x", Schedule: mustCron(t, "@daily"), Run: func(context.Context) string { return "" }}}, Options{CatchUp: "all"}); err == nil {
		t.Error("catch-up all accepted")
	}
}

// TestGracefulStop: on stop a running job may finish within the timeout;
// past it, its context is cancelled and Run returns.
func TestGracefulStop(t *testing.T) {
	for _, tc := range []struct {
		name      string
		work      time.Duration
		timeout   time.Duration
		cancelled bool
	}{
		{"finishes", 20 * time.Millisecond, 2 * time.Second, false},
		{"cancelled", time.Hour, 50 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			var wasCancelled atomic.Bool
			job := Job{Name: "p", Schedule: mustCron(t, "* * * * *"), Run: func(ctx context.Context) string {
				close(started)
				select {
				case <-time.After(tc.work):
					return "OK"
				case <-ctx.Done():
					wasCancelled.Store(true)
					return "ERROR"
				}
			}}
			h := start(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), []Job{job}, Options{StopTimeout: tc.timeout})
			h.tick()
			<-started
			t0 := time.Now()
			h.stop()
			if wasCancelled.Load() != tc.cancelled {
				t.Errorf("cancelled = %v, want %v", wasCancelled.Load(), tc.cancelled)
			}
			if time.Since(t0) > 3*time.Second {
				t.Errorf("stop took %s", time.Since(t0))
			}
		})
	}
}
