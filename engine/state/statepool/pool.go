// Package statepool shares one state.Store per pipeline of a state
// directory between the goroutines of a long-running process (`kontor
// serve`, `kontor schedule`): the navigator's reads, the scheduler's runs
// and the "run now" button all use the same Store value.
//
// Why: DuckDB's file lock does not separate two opens of the same file
// inside ONE process, and duckstate opens the database read-only for
// readers that do not hold the run lock. Stores from the pool therefore
// serialise the two: a read-only read never overlaps taking the run lock
// (the read-write open). While the lock is held, reads use the lock
// holder's read-write database (duckstate does that by itself). Between
// processes the OS locks of duckstate apply as usual.
package statepool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

// Pool hands out the shared Store of each pipeline. The zero value is not
// usable; use New or NewWith. Safe for concurrent use.
type Pool struct {
	dir    string
	open   func(name string) (state.Store, error)
	mu     sync.Mutex
	stores map[string]*guarded
}

// New returns a pool over the DuckDB state files in dir (default
// duckstate.DefaultDir, ".kontor").
func New(dir string) *Pool {
	if dir == "" {
		dir = duckstate.DefaultDir
	}
	return NewWith(dir, func(name string) (state.Store, error) { return duckstate.Open(dir, name) })
}

// NewWith returns a pool that opens stores with open (tests: state.NewMemory).
// dir is still where Names looks for state files.
func NewWith(dir string, open func(name string) (state.Store, error)) *Pool {
	return &Pool{dir: dir, open: open, stores: map[string]*guarded{}}
}

// Dir is the state directory.
func (p *Pool) Dir() string { return p.dir }

// Store returns the shared store of a pipeline, opening it on first use.
// Its Close does nothing; Pool.Close closes all stores.
func (p *Pool) Store(name string) (state.Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g, ok := p.stores[name]; ok {
		return g, nil
	}
	s, err := p.open(name)
	if err != nil {
		return nil, err
	}
	g := &guarded{inner: s}
	p.stores[name] = g
	return g, nil
}

// Names lists the pipelines that have state in the directory (files
// <name>.duckdb) and the ones opened through the pool, sorted.
func (p *Pool) Names() ([]string, error) {
	seen := map[string]bool{}
	ents, err := os.ReadDir(p.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listing state directory: %w", err)
	}
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".duckdb"); ok && !e.IsDir() && n != "" {
			seen[n] = true
		}
	}
	p.mu.Lock()
	for n := range p.stores {
		seen[n] = true
	}
	p.mu.Unlock()
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Close closes every store opened through the pool.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for n, g := range p.stores {
		if err := g.inner.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing state of %s: %w", n, err))
		}
		delete(p.stores, n)
	}
	return errors.Join(errs...)
}

// guarded serialises read-only reads against taking the run lock.
type guarded struct {
	inner state.Store
	rw    sync.RWMutex
}

func (g *guarded) Lock(ctx context.Context, wait time.Duration) (func() error, error) {
	g.rw.Lock()
	unlock, err := g.inner.Lock(ctx, wait)
	g.rw.Unlock()
	if err != nil {
		return nil, err
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			g.rw.Lock()
			defer g.rw.Unlock()
			uerr = unlock()
		})
		return uerr
	}, nil
}

func (g *guarded) Begin(ctx context.Context, info state.RunInfo) (state.Run, error) {
	return g.inner.Begin(ctx, info)
}

func (g *guarded) History(ctx context.Context, limit int) ([]state.RunRecord, error) {
	g.rw.RLock()
	defer g.rw.RUnlock()
	return g.inner.History(ctx, limit)
}

func (g *guarded) GetRun(ctx context.Context, id string) (state.RunRecord, error) {
	g.rw.RLock()
	defer g.rw.RUnlock()
	return g.inner.GetRun(ctx, id)
}

func (g *guarded) Rejects(ctx context.Context, runID string) ([]state.RejectRecord, error) {
	g.rw.RLock()
	defer g.rw.RUnlock()
	return g.inner.Rejects(ctx, runID)
}

// Close does nothing: the pool owns the store.
func (g *guarded) Close() error { return nil }
