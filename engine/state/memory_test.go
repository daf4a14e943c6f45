package state_test

import (
	"testing"

	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/statetest"
)

func TestMemoryConformance(t *testing.T) {
	statetest.Run(t, statetest.Harness{
		New:    func(t *testing.T) state.Store { return state.NewMemory() },
		Reopen: func(t *testing.T, s state.Store) state.Store { return s },
	})
}
