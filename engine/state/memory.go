package state

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// NewMemory returns a Store that keeps everything in memory, with the same
// semantics as the DuckDB store (engine/state/duckstate): lock, commit
// protocol, recovery of unfinished runs at Begin, gap-free counters,
// ledger, watermarks. It is used by runner tests and for dry runs; it is
// safe for concurrent use and needs no cgo. Its Run also implements
// LedgerScanner. Times are kept with microsecond precision, like the
// DuckDB store.
//
// A Run that was neither committed nor aborted counts as interrupted: the
// next Begin on the same Store recovers it like a crashed process's run.
func NewMemory() Store {
	return &memStore{ledger: map[string]map[string]string{}, counters: map[string]int64{}, checkpoints: map[string]string{}}
}

type memStore struct {
	mu          sync.Mutex
	locked      bool
	seq         int64
	runs        []*memRunRec // oldest first
	ledger      map[string]map[string]string
	counters    map[string]int64
	checkpoints map[string]string
	closed      bool
}

type memRunRec struct {
	rec     RunRecord
	rejects []RejectRecord
	pending *Changes // set while COMMITTING
}

func (s *memStore) Lock(ctx context.Context, wait time.Duration) (func() error, error) {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		if !s.locked {
			s.locked = true
			s.mu.Unlock()
			var once sync.Once
			return func() error {
				once.Do(func() { s.mu.Lock(); s.locked = false; s.mu.Unlock() })
				return nil
			}, nil
		}
		s.mu.Unlock()
		if wait <= 0 || time.Now().After(deadline) {
			return nil, ErrLocked
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(10*time.Millisecond, time.Until(deadline)+time.Millisecond)):
		}
	}
}

func (s *memStore) Begin(ctx context.Context, info RunInfo) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("beginning run: store is closed")
	}
	var recovery []string
	for _, r := range s.runs {
		if r.rec.Status != StatusRunning && r.rec.Status != StatusCommitting {
			continue
		}
		final := Status("")
		if r.pending != nil {
			final = r.pending.Final
		}
		apply, status, errText, msg, err := Recover(r.rec, final)
		if err != nil {
			return nil, err
		}
		if apply && r.pending != nil {
			s.apply(r.pending)
		}
		r.rec.Status, r.rec.Error, r.pending = status, errText, nil
		if r.rec.End.IsZero() {
			r.rec.End = time.Now().UTC()
		}
		recovery = append(recovery, msg)
	}
	s.seq++
	start := info.Start
	if start.IsZero() {
		start = time.Now()
	}
	rr := &memRunRec{rec: RunRecord{
		ID: strconv.FormatInt(s.seq, 10), Pipeline: info.Pipeline, SHA256: info.SHA256,
		Status: StatusRunning, Start: start.UTC().Truncate(time.Microsecond), DryRun: info.DryRun,
	}}
	s.runs = append(s.runs, rr)
	rec := ""
	for i, m := range recovery {
		if i > 0 {
			rec += "; "
		}
		rec += m
	}
	return &memRun{s: s, r: rr, recovery: rec}, nil
}

// apply writes changes into the committed state; s.mu is held.
func (s *memStore) apply(c *Changes) {
	for k, v := range c.Counters {
		if v > s.counters[k] {
			s.counters[k] = v
		}
	}
	for k, v := range c.Checkpoints {
		s.checkpoints[k] = v
	}
	for scope, m := range c.Ledger {
		l := s.ledger[scope]
		if l == nil {
			l = make(map[string]string, len(m))
			s.ledger[scope] = l
		}
		for k, h := range m {
			l[k] = h
		}
	}
}

func (s *memStore) History(ctx context.Context, limit int) ([]RunRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RunRecord
	for i := len(s.runs) - 1; i >= 0; i-- {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, cloneRec(s.runs[i].rec))
	}
	return out, nil
}

func cloneRec(r RunRecord) RunRecord {
	r.Counts = append([]StepCount(nil), r.Counts...)
	r.Outputs = append([]Output(nil), r.Outputs...)
	return r
}

func (s *memStore) find(id string) *memRunRec {
	for _, r := range s.runs {
		if r.rec.ID == id {
			return r
		}
	}
	return nil
}

func (s *memStore) GetRun(ctx context.Context, id string) (RunRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(id)
	if r == nil {
		return RunRecord{}, fmt.Errorf("run %q not found", id)
	}
	return cloneRec(r.rec), nil
}

func (s *memStore) Rejects(ctx context.Context, runID string) ([]RejectRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(runID)
	if r == nil {
		return nil, fmt.Errorf("run %q not found", runID)
	}
	return append([]RejectRecord(nil), r.rejects...), nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

type memRun struct {
	s        *memStore
	r        *memRunRec
	recovery string
	changes  Changes
	prepared bool
	finished bool
}

func (r *memRun) ID() string       { return r.r.rec.ID }
func (r *memRun) Recovery() string { return r.recovery }

func (r *memRun) check() error {
	if r.finished {
		return ErrFinished
	}
	return nil
}

func (r *memRun) Watermark(ctx context.Context) (time.Time, bool, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	t, ok := watermark(r.s.runs, r.r)
	return t, ok, nil
}

func watermark(runs []*memRunRec, self *memRunRec) (time.Time, bool) {
	var best time.Time
	ok := false
	for _, x := range runs {
		if x == self || x.rec.DryRun || (x.rec.Status != StatusOK && x.rec.Status != StatusWarning) {
			continue
		}
		if !ok || x.rec.Start.After(best) {
			best, ok = x.rec.Start, true
		}
	}
	return best.UTC(), ok
}

func (r *memRun) Reserve(ctx context.Context, counter string, n int64) (int64, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	r.s.mu.Lock()
	committed := r.s.counters[counter]
	r.s.mu.Unlock()
	return r.changes.Reserve(counter, committed, n)
}

func (r *memRun) Get(ctx context.Context, key string) (string, bool, error) {
	if v, ok := r.changes.Checkpoints[key]; ok {
		return v, true, nil
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	v, ok := r.s.checkpoints[key]
	return v, ok, nil
}

func (r *memRun) Put(ctx context.Context, key, value string) error {
	if err := r.check(); err != nil {
		return err
	}
	r.changes.Put(key, value)
	return nil
}

func (r *memRun) LedgerLookup(ctx context.Context, scope string, keys []string) ([]string, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	out := make([]string, len(keys))
	l := r.s.ledger[scope]
	for i, k := range keys {
		out[i] = l[k]
	}
	return out, nil
}

func (r *memRun) LedgerScan(ctx context.Context, scope string, fn func(key, hash string) error) error {
	r.s.mu.Lock()
	l := r.s.ledger[scope]
	keys := SortedKeys(l)
	hashes := make([]string, len(keys))
	for i, k := range keys {
		hashes[i] = l[k]
	}
	r.s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, hashes[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r *memRun) LedgerCount(ctx context.Context, scope string) (int64, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return int64(len(r.s.ledger[scope])), nil
}

func (r *memRun) LedgerAdd(ctx context.Context, scope string, entries []LedgerEntry) error {
	if err := r.check(); err != nil {
		return err
	}
	if r.prepared {
		return fmt.Errorf("adding ledger entries: run %s is already prepared", r.ID())
	}
	if scope == "" {
		return fmt.Errorf("adding ledger entries: scope is empty")
	}
	r.changes.AddLedger(scope, entries)
	return nil
}

func (r *memRun) Prepare(ctx context.Context, res Result) error {
	if err := r.check(); err != nil {
		return err
	}
	if r.prepared {
		return fmt.Errorf("preparing run %s: already prepared", r.ID())
	}
	final, err := FinalStatus(res)
	if err != nil {
		return fmt.Errorf("preparing run %s: %w", r.ID(), err)
	}
	r.changes.Final = final
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	rec := &r.r.rec
	rec.Status = StatusCommitting
	rec.Counts = append([]StepCount(nil), res.Counts...)
	rec.Outputs = append([]Output(nil), res.Outputs...)
	rec.Rejected = RejectedCount(res)
	rec.Message = res.Message
	r.r.rejects = RejectRecords(rec.ID, res.Rejects)
	if rec.DryRun {
		r.r.pending = &Changes{Final: final} // dry runs never advance state
	} else {
		c := r.changes
		r.r.pending = &c
	}
	r.prepared = true
	return nil
}

func (r *memRun) Commit(ctx context.Context, res Result) error {
	if err := r.check(); err != nil {
		return err
	}
	if !r.prepared {
		if err := r.Prepare(ctx, res); err != nil {
			return err
		}
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	rec := &r.r.rec
	if rec.Status != StatusCommitting || r.r.pending == nil {
		return fmt.Errorf("committing run %s: status is %s, not COMMITTING", rec.ID, rec.Status)
	}
	r.s.apply(r.r.pending)
	rec.Status = r.r.pending.Final
	rec.End = endTime(res.End)
	if len(res.Counts) > 0 {
		rec.Counts = append([]StepCount(nil), res.Counts...)
	}
	if res.Message != "" {
		rec.Message = res.Message
	}
	r.r.pending = nil
	r.finished = true
	return nil
}

func endTime(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC()
}

func (r *memRun) Abort(ctx context.Context, res Result) error {
	if err := r.check(); err != nil {
		return err
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	rec := &r.r.rec
	r.finished = true
	if r.prepared {
		rec.Error = res.Error
		return fmt.Errorf("aborting run %s: %w", rec.ID, ErrCommitPending)
	}
	rec.Status = StatusError
	rec.Error = res.Error
	if rec.Error == "" {
		rec.Error = "aborted"
	}
	rec.Message = res.Message
	rec.End = endTime(res.End)
	rec.Counts = append([]StepCount(nil), res.Counts...)
	rec.Outputs = append([]Output(nil), res.Outputs...)
	rec.Rejected = RejectedCount(res)
	r.r.rejects = RejectRecords(rec.ID, res.Rejects)
	return nil
}
