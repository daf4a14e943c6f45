package duckstate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

var ctx = context.Background()

// TestMain lets the test binary act as a child process that holds a
// pipeline's lock with a RUNNING run until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("KONTOR_STATE_CHILD"); dir != "" {
		s, err := Open(dir, "p")
		if err == nil {
			_, err = s.Lock(ctx, 0)
		}
		if err == nil {
			_, err = s.Begin(ctx, state.RunInfo{Pipeline: "p", Start: time.Now()})
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestTwoPipelinesDoNotBlock(t *testing.T) {
	dir := t.TempDir()
	a, _ := Open(dir, "a")
	b, _ := Open(dir, "b")
	defer a.Close()
	defer b.Close()
	ua, err := a.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	ub, err := b.Lock(ctx, 0)
	if err != nil {
		t.Fatalf("second pipeline blocked: %v", err)
	}
	ra, err := a.Begin(ctx, state.RunInfo{Pipeline: "a"})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Begin(ctx, state.RunInfo{Pipeline: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.Commit(ctx, state.Result{}); err != nil {
		t.Fatal(err)
	}
	if err := rb.Commit(ctx, state.Result{}); err != nil {
		t.Fatal(err)
	}
	// same pipeline, another store (another "process" as far as flock goes)
	a2, _ := Open(dir, "a")
	defer a2.Close()
	if _, err := a2.Lock(ctx, 0); !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("same pipeline twice: %v, want ErrLocked naming the holder", err)
	}
	if _, err := a2.Begin(ctx, state.RunInfo{Pipeline: "a"}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Begin without the lock: %v, want ErrLocked", err)
	}
	ua()
	ub()
	u, err := a2.Lock(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	u()
}

func TestKilledHolderLockTakenOver(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KONTOR_STATE_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("child said %q", line)
	}
	s, _ := OpenWith(dir, "p", Options{ReadWait: 10 * time.Second})
	defer s.Close()
	if _, err := s.Lock(ctx, 0); !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("Lock while child holds it: %v", err)
	}
	// Read-only history works while the child holds the lock.
	hist, err := s.History(ctx, 0)
	if err != nil {
		t.Fatalf("History while locked: %v", err)
	}
	if len(hist) != 1 || hist[0].Status != state.StatusRunning {
		t.Fatalf("history = %+v", hist)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	unlock, err := s.Lock(ctx, 5*time.Second)
	if err != nil {
		t.Fatalf("lock of a killed process not taken over: %v", err)
	}
	defer unlock()
	r, err := s.Begin(ctx, state.RunInfo{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Recovery(), "run 1") || !strings.Contains(r.Recovery(), "interrupted") {
		t.Fatalf("Recovery = %q", r.Recovery())
	}
	if err := r.Commit(ctx, state.Result{}); err != nil {
		t.Fatal(err)
	}
}
