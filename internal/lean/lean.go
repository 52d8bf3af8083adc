// Package lean holds the Go runtime settings of the long-running daemon
// (facilityd run). Importing it turns memory profiling off from the first
// allocations on; Daemon sets the rest once the daemon is known to run.
//
// Every setting yields to the environment: GODEBUG=memprofilerate=N,
// GOGC and GOMAXPROCS keep their usual meaning.
package lean

import (
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// defaultMemProfileRate is the runtime's own default (runtime.MemProfileRate).
const defaultMemProfileRate = 512 * 1024

// GCPercent is the daemon's GOGC: the heap may grow to 1.5 times what is
// live between collections instead of 2 times. Collections cost the daemon
// little (under 1 % of its CPU at 100,000 MQTT messages, 0.1 % polling 1,000
// Modbus meters), the heap's room a third of its resident memory.
const GCPercent = 50

// MaxProcs is the daemon's GOMAXPROCS. Its work is many small steps waiting
// on sockets (a poll, a message, a batch), handed from goroutine to
// goroutine; with more than one P each hand-off wakes another thread, and
// those wake-ups were a fifth of its CPU at 100,000 MQTT messages. One P
// runs the same goroutines without them: 20 % less CPU there, 6 % polling
// 1,000 meters. A long computation (a report, a baseline) still yields to
// ingest every few milliseconds (asynchronous preemption).
const MaxProcs = 1

// Memory profiling samples an allocation every 512 KB and keeps a 1.4 MB
// table of the stacks it saw, about 0.6 MB of it resident: off unless
// GODEBUG asks for it. An init of the first package the daemon imports
// runs before the heavy ones (package initialisation follows import path
// order once dependencies are done: github.com/facilityd/… comes before
// github.com/mochi-mqtt, github.com/xuri and hash/crc32, whose tables are
// most of init's allocations).
func init() {
	if !godebugSets("memprofilerate") {
		runtime.MemProfileRate = 0
	}
}

// godebugSets reports whether GODEBUG names setting.
func godebugSets(setting string) bool {
	v, _ := syscall.Getenv("GODEBUG")
	for f := range strings.SplitSeq(v, ",") {
		if k, _, _ := strings.Cut(f, "="); strings.TrimSpace(k) == setting {
			return true
		}
	}
	return false
}

// Daemon applies GCPercent and MaxProcs where GOGC and GOMAXPROCS are not
// set (or empty). It returns what it set, for the start-up log.
func Daemon() (set []any) {
	if v, _ := syscall.Getenv("GOGC"); v == "" {
		debug.SetGCPercent(GCPercent)
		set = append(set, "gogc", GCPercent)
	}
	if v, _ := syscall.Getenv("GOMAXPROCS"); v == "" {
		runtime.GOMAXPROCS(MaxProcs)
		set = append(set, "gomaxprocs", MaxProcs)
	}
	return set
}

// Profiling turns memory profiling back on at the runtime's default rate
// when init turned it off: the heap profile of a daemon serving pprof then
// covers what is allocated from here on.
func Profiling() {
	if runtime.MemProfileRate == 0 && !godebugSets("memprofilerate") {
		runtime.MemProfileRate = defaultMemProfileRate
	}
}
