//go:build unix

package mqtt

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, so that benchmarks can
// report the cost per message on a core whatever else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
