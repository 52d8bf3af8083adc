package lean

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestDaemon: without GOGC and GOMAXPROCS the daemon's own values are
// set; with them, the environment's stay.
func TestDaemon(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gc) })

	t.Setenv("GOGC", "")
	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(2)
	set := Daemon()
	if got := runtime.GOMAXPROCS(0); got != MaxProcs {
		t.Errorf("GOMAXPROCS = %d, want %d", got, MaxProcs)
	}
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Errorf("GOGC = %d, want %d", got, GCPercent)
	}
	if len(set) != 4 {
		t.Errorf("Daemon() = %v, want both settings named", set)
	}

	t.Setenv("GOGC", "200")
	t.Setenv("GOMAXPROCS", "2")
	runtime.GOMAXPROCS(2)
	if set := Daemon(); len(set) != 0 {
		t.Errorf("Daemon() = %v with both set in the environment", set)
	}
	if runtime.GOMAXPROCS(0) != 2 || debug.SetGCPercent(100) != 100 {
		t.Error("Daemon changed what the environment set")
	}
}

// TestMemoryProfiling: importing the package turns memory profiling off;
// Profiling turns it back on at the runtime's default rate.
func TestMemoryProfiling(t *testing.T) {
	if godebugSets("memprofilerate") {
		t.Skip("GODEBUG sets memprofilerate")
	}
	if runtime.MemProfileRate != 0 {
		t.Fatalf("MemProfileRate = %d after init, want 0", runtime.MemProfileRate)
	}
	Profiling()
	t.Cleanup(func() { runtime.MemProfileRate = 0 })
	if runtime.MemProfileRate != defaultMemProfileRate {
		t.Errorf("MemProfileRate = %d after Profiling, want %d", runtime.MemProfileRate, defaultMemProfileRate)
	}
}

func TestGodebugSets(t *testing.T) {
	t.Setenv("GODEBUG", "madvdontneed=1, memprofilerate=1")
	if !godebugSets("memprofilerate") || godebugSets("gctrace") {
		t.Error("godebugSets misread GODEBUG")
	}
}
