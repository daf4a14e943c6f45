package httpclient

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Limiter caps the number of calls in any time window of length Per to N,
// exactly: call k+N may start only Per after call k has *finished*. Counting
// from the end of a call (not its start) keeps the cap exact however long
// the network takes, because the server receives a request between its start
// and its end. Retries are calls like any other, so they count too.
//
// This is a sliding-window log, not a token bucket: a token bucket with
// burst N lets through up to 2N-1 calls in one window, which gets a caller
// blocked for good by partners with a hard limit (Hypersoft: 60 calls per
// minute, then blocked until re-activated by hand).
//
// The zero N means unlimited. A Limiter is safe for concurrent use; calls in
// flight count against the window until they end.
type Limiter struct {
	n     int
	per   time.Duration
	clock Clock

	mu       sync.Mutex
	ends     []time.Time // end times of the last n finished calls (ring)
	head     int         // index of the oldest entry when len(ends) == n
	inflight int
}

// NewLimiter returns a limiter of n calls per period (n <= 0: unlimited).
// clock nil means the wall clock.
func NewLimiter(n int, per time.Duration, clock Clock) *Limiter {
	if clock == nil {
		clock = RealClock{}
	}
	return &Limiter{n: n, per: per, clock: clock}
}

// pollInterval is how often a waiter re-checks when all slots are taken by
// calls still in flight (their end is unknown).
const pollInterval = 5 * time.Millisecond

// Acquire waits until one more call fits into the window and reserves it.
// The caller must call the returned release exactly once when the call has
// ended (response read or error), which stamps the end time.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if l == nil || l.n <= 0 {
		return func() {}, ctx.Err()
	}
	for {
		l.mu.Lock()
		now := l.clock.Now()
		wait, ok := l.waitLocked(now)
		if ok {
			l.inflight++
			l.mu.Unlock()
			var once sync.Once
			return func() { once.Do(l.release) }, nil
		}
		l.mu.Unlock()
		if err := l.clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting for the rate limit: %w", err)
		}
	}
}

// waitLocked reports whether a call may start now, else how long to wait.
func (l *Limiter) waitLocked(now time.Time) (time.Duration, bool) {
	// Calls in the window: finished calls whose end is within (now-per, now],
	// plus calls in flight. ends holds at most n end times in order, oldest
	// at head, so the first one inside the window is found by bisection.
	m := len(l.ends)
	at := func(i int) time.Time { return l.ends[(l.head+i)%m] }
	first := sort.Search(m, func(i int) bool { return now.Sub(at(i)) < l.per })
	busy := l.inflight + m - first
	found := first < m
	var oldest time.Time
	if found {
		oldest = at(first)
	}
	if busy < l.n {
		return 0, true
	}
	if found {
		if d := oldest.Add(l.per).Sub(now); d > 0 {
			return d, false
		}
	}
	return pollInterval, false
}

func (l *Limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	now := l.clock.Now()
	if len(l.ends) < l.n {
		l.ends = append(l.ends, now)
		return
	}
	l.ends[l.head] = now
	l.head = (l.head + 1) % l.n
}
