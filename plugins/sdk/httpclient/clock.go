package httpclient

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source of the client, the limiter and the backoff, so
// tests can run hours of retries in microseconds. RealClock is the default.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FakeClock is a manual clock for tests: Sleep advances the time at once
// and records the slept durations. It is safe for concurrent use.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	Slept  []time.Duration // every Sleep call's duration, in order
	OnTick func(now time.Time)
}

// NewFakeClock returns a fake clock set to start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now implements Clock.
func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d.
func (f *FakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Sleep implements Clock: it advances the clock by d without waiting.
func (f *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	if d > 0 {
		f.now = f.now.Add(d)
	}
	f.Slept = append(f.Slept, d)
	f.mu.Unlock()
	return nil
}

// TotalSlept returns the sum of all Sleep durations.
func (f *FakeClock) TotalSlept() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var t time.Duration
	for _, d := range f.Slept {
		t += d
	}
	return t
}
