package app

import (
	"runtime/debug"
	"time"

	"github.com/facilityd/facilityd/internal/retry"
)

// ReleaseInitMemory gives back the executable's pages that the packages'
// initialization touched, about 18 MB of the binary (most of its read-only
// data and a good part of its code) that the daemon does not need again.
// The daemon calls it first thing, before it loads its config, so that
// start-up's peak is not those pages plus the config load's, the ticket
// store's and the drivers'. It costs a few milliseconds.
func ReleaseInitMemory() { pageOutExecutable() }

// releaseLoadMemory returns to the system what came before the run: the
// garbage of the config load (its YAML trees, the profiles' and devices'
// decoding) and the executable's pages the load touched. Run calls it
// first; it costs one collection and a few milliseconds.
func (a *app) releaseLoadMemory() {
	debug.FreeOSMemory()
	a.pageOut("config load")
}

// releaseStartupMemory returns to the system what start-up left behind:
// its garbage, which the heap would otherwise keep as room until the
// scavenger hands it back minutes later, and the executable's pages that
// only start-up touched. Run calls it once, after the first generation has
// started its drivers; it costs one collection and a few milliseconds.
//
// The first seconds of a run still touch code that steady ingest does not
// (the rest of start-up in other goroutines, the first connections, polls,
// subscriptions and writes): at 1,000 Modbus meters about 11 MB of the
// binary stayed resident where steady ingest needs 4 to 6. So the pages are
// paged out again once the run has settled (settleDelays); those that steady
// ingest touches come back one page each (pageOutExecutable).
func (a *app) releaseStartupMemory() {
	debug.FreeOSMemory()
	a.pageOut("start-up")
	ctx := a.drivers.ctx
	go func() {
		for _, d := range settleDelays {
			if !retry.Sleep(ctx, d) {
				return
			}
			a.settledBytes.Add(a.pageOut("settling"))
			a.settled.Add(1)
		}
	}()
}

// settleDelays are the pauses, one after the other, before the executable's
// pages are paged out again after start-up: after the first polls, writes
// and subscriptions, and after the first collections of steady ingest.
var settleDelays = []time.Duration{2 * time.Second, 8 * time.Second}

func (a *app) pageOut(after string) int64 {
	n := pageOutExecutable()
	if n > 0 {
		a.log.Debug("pages of the executable paged out", "after", after, "bytes", n)
	}
	return n
}
