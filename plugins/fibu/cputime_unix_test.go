//go:build unix

package fibu

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time (for cpu-ns/row in benchmarks).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
