package httpclient

import (
	"context"
	"testing"
	"time"
)

// maxInWindow returns the most events within any half-open window of length per.
func maxInWindow(ts []time.Time, per time.Duration) int {
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= per {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func TestLimiterMathFakeClock(t *testing.T) {
	fc := NewFakeClock(t0)
	l := NewLimiter(60, time.Minute, fc)
	var starts []time.Time
	for i := 0; i < 200; i++ {
		rel, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, fc.Now())
		fc.Advance(150 * time.Millisecond) // the call takes 150ms
		rel()
	}
	if got := maxInWindow(starts, time.Minute); got > 60 {
		t.Fatalf("%d calls in one minute, limit 60", got)
	}
	// 200 calls at 60/min: calls 61, 121, 181 each wait for the window, so
	// the last call starts three windows (plus the call times) after the first.
	elapsed := starts[199].Sub(starts[0])
	if elapsed < 3*time.Minute || elapsed > 3*time.Minute+200*150*time.Millisecond {
		t.Errorf("200 calls took %v, want 3m plus at most the call times", elapsed)
	}
	// Exactly 60 in the first window: the limiter does not under-use it.
	if got := maxInWindow(starts[:61], time.Minute); got != 60 {
		t.Errorf("first window holds %d calls, want 60", got)
	}
}

func TestLimiterCountsFromCallEnd(t *testing.T) {
	fc := NewFakeClock(t0)
	l := NewLimiter(2, 10*time.Second, fc)
	r1, _ := l.Acquire(context.Background())
	fc.Advance(5 * time.Second) // a slow call: ends at +5s
	r1()
	r2, _ := l.Acquire(context.Background())
	r2()
	r3, _ := l.Acquire(context.Background())
	// The third call must wait until 10s after the end of the first one.
	if got := fc.Now().Sub(t0); got != 15*time.Second {
		t.Errorf("third call at +%v, want +15s", got)
	}
	r3()
}

func TestLimiterUnlimitedAndCancel(t *testing.T) {
	l := NewLimiter(0, time.Minute, nil)
	for i := 0; i < 1000; i++ {
		r, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r()
	}
	l = NewLimiter(1, time.Hour, nil)
	r, _ := l.Acquire(context.Background())
	r()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx); err == nil {
		t.Fatal("acquire past the limit returned without waiting")
	}
}

func BenchmarkLimiterAcquire(b *testing.B) {
	l := NewLimiter(1000, time.Nanosecond, nil) // a full ring, entries expire at once
	for b.Loop() {
		r, _ := l.Acquire(context.Background())
		r()
	}
}
