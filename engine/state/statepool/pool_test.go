package statepool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/state"
)

func TestPool(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.duckdb"), nil, 0o644)
	p := NewWith(dir, func(string) (state.Store, error) { return state.NewMemory(), nil })
	defer p.Close()
	a1, _ := p.Store("a")
	a2, _ := p.Store("a")
	if a1 != a2 {
		t.Error("two stores for one pipeline")
	}
	if n, _ := p.Names(); strings.Join(n, ",") != "a,b" {
		t.Errorf("names %v", n)
	}
	ctx := context.Background()
	unlock, err := a1.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Lock(ctx, 0); !errors.Is(err, state.ErrLocked) {
		t.Errorf("second lock in one process: %v", err)
	}
	if _, err := a1.History(ctx, 0); err != nil { // reads work while locked
		t.Error(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if u, err := a2.Lock(ctx, 0); err != nil {
		t.Errorf("lock after unlock: %v", err)
	} else {
		u()
	}
}
