package app

import (
	"os"
	"runtime/debug"
)

// releaseStartupMemory returns to the system what start-up left behind: the
// garbage of the config load (its YAML trees, the profiles' and devices'
// decoding), which the heap would otherwise keep as room until the
// scavenger hands it back minutes later, and the executable's pages that
// only start-up touched. From then on the heap is held to a tighter goal
// (steadyGCPercent). Run calls it once, after the first generation has
// started its drivers; it costs one collection and a few milliseconds.
func (a *app) releaseStartupMemory() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(steadyGCPercent)
	}
	debug.FreeOSMemory()
	if n := pageOutExecutable(); n > 0 {
		a.log.Debug("start-up pages of the executable paged out", "bytes", n)
	}
}

// steadyGCPercent is the GOGC of the daemon once started, unless GOGC is
// set. Start-up allocates most of what a run ever does (the config load:
// about 20 MB at 1,000 meters) and keeps the default; steady ingest
// allocates little (about 0.3 MB/s at 1,000 meters × 16 samples/s), so a
// heap goal of 1.5 × the live heap instead of 2 × costs one more
// collection every 30 s or so (about 15 ms of CPU) and saves a quarter of
// the heap's pages (4 MB there).
const steadyGCPercent = 50
