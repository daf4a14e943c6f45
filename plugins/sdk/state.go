package sdk

import (
	"context"
	"sync"
)

// MemState is an in-memory State for tests, lint and dry runs. Its zero
// value is ready to use; it is safe for concurrent use.
type MemState struct {
	mu       sync.Mutex
	counters map[string]int64
	values   map[string]string
}

// Reserve implements State.
func (m *MemState) Reserve(_ context.Context, counter string, n int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counters == nil {
		m.counters = map[string]int64{}
	}
	first := m.counters[counter] + 1
	m.counters[counter] += n
	return first, nil
}

// Get implements State.
func (m *MemState) Get(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	return v, ok, nil
}

// Put implements State.
func (m *MemState) Put(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = map[string]string{}
	}
	m.values[key] = value
	return nil
}
