//go:build unix

package csv

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) of the process, so
// benchmarks can report CPU per row, which is stable on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
