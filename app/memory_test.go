package app

import (
	"log/slog"
	"os"
	"runtime/debug"
	"testing"
)

// TestReleaseStartupMemory: once started, the daemon's heap goal is
// steadyGCPercent, unless GOGC says otherwise.
func TestReleaseStartupMemory(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: the daemon leaves it")
	}
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	a := &app{log: slog.New(slog.DiscardHandler)}
	a.releaseStartupMemory()
	if got := debug.SetGCPercent(100); got != steadyGCPercent {
		t.Errorf("GOGC after start-up %d, want %d", got, steadyGCPercent)
	}
}
