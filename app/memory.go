package app

import "runtime/debug"

// releaseStartupMemory returns to the system what start-up left behind: the
// garbage of the config load (its YAML trees, the profiles' and devices'
// decoding), which the heap would otherwise keep as room until the
// scavenger hands it back minutes later, and the executable's pages that
// only start-up touched. Run calls it once, after the first generation has
// started its drivers; it costs one collection and a few milliseconds.
func (a *app) releaseStartupMemory() {
	debug.FreeOSMemory()
	if n := pageOutExecutable(); n > 0 {
		a.log.Debug("start-up pages of the executable paged out", "bytes", n)
	}
}
