//go:build !unix

package fibu

import "time"

// cpuTime is not measured on this platform; cpu-ns/row reports 0.
func cpuTime() time.Duration { return 0 }
