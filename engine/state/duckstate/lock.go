package duckstate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

// fileLock is an advisory flock(2) on <dir>/<pipeline>.lock. The kernel
// releases it when the process ends in any way (also SIGKILL), so a lock
// left by a dead process is simply taken over. The file holds "pid host
// start" of the holder for messages; it is never deleted (deleting would
// race with a process that has just opened it).
type fileLock struct {
	f *os.File
}

func tryLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) {
			return nil, state.ErrLocked
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// holder returns the text the lock holder wrote ("pid 123 on host since ...").
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// acquire polls tryLock until wait expires (wait <= 0: one attempt).
func acquire(ctx context.Context, path string, wait time.Duration) (*fileLock, error) {
	deadline := time.Now().Add(wait)
	for {
		l, err := tryLock(path)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, state.ErrLocked) {
			return nil, err
		}
		if wait <= 0 || !time.Now().Before(deadline) {
			if h := holder(path); h != "" {
				return nil, fmt.Errorf("%w (lock held by %s)", state.ErrLocked, h)
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(50*time.Millisecond, time.Until(deadline)+time.Millisecond)):
		}
	}
}
