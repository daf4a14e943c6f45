package duckstate

import (
	"testing"

	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/statetest"
)

func TestConformance(t *testing.T) {
	dirs := map[state.Store]string{}
	statetest.Run(t, statetest.Harness{
		New: func(t *testing.T) state.Store {
			dir := t.TempDir()
			s, err := Open(dir, "p")
			if err != nil {
				t.Fatal(err)
			}
			dirs[s] = dir
			return s
		},
		Reopen: func(t *testing.T, s state.Store) state.Store {
			dir := dirs[s]
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(dir, "p")
			if err != nil {
				t.Fatal(err)
			}
			dirs[s2] = dir
			return s2
		},
	})
}
