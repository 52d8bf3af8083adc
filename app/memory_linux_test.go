package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssFileKB reads RssFile (the resident pages mapped from files, the
// executable's among them) from /proc/self/status.
func rssFileKB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestPageOutExecutable: the executable's pages that start-up touched leave
// the process's resident set (the test binary, like the daemon, touched
// most of its code and read-only data by the time its tests run), and the
// code still runs after.
func TestPageOutExecutable(t *testing.T) {
	before := rssFileKB(t)
	advised := pageOutExecutable()
	if advised == 0 {
		t.Fatal("no mapping of the executable advised")
	}
	after := rssFileKB(t)
	t.Logf("RssFile %d → %d kB, %d kB advised", before, after, advised/1024)
	if after >= before {
		t.Errorf("RssFile %d kB after paging out, was %d kB", after, before)
	}
}

// touchExecutable reads the executable's read-only data through
// /proc/self/mem, which faults its pages back into the process.
func touchExecutable(t *testing.T) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip(err)
	}
	defer mem.Close()
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 6 || f[5] != exe || f[1] != "r--p" {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		if _, err := mem.ReadAt(make([]byte, end-start), int64(start)); err != nil {
			t.Skip(err)
		}
	}
}

// TestSettledPageOut: after start-up's page-out, the executable's mappings
// are paged out again once the run has settled, each time. That the pages
// leave the resident set is TestPageOutExecutable's; here RssFile is only
// logged: in a test binary whose other tests' goroutines (servers, stores,
// drivers still winding down) run code meanwhile, and under -race, it
// need not fall within the test (CI saw it stay flat once).
func TestSettledPageOut(t *testing.T) {
	old := settleDelays
	settleDelays = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}
	t.Cleanup(func() { settleDelays = old })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := &app{log: slog.New(slog.DiscardHandler), drivers: driverSet{ctx: ctx}}
	a.releaseStartupMemory()
	for i := range 2 {
		touchExecutable(t)
		touched := rssFileKB(t)
		deadline := time.Now().Add(5 * time.Second)
		for a.settled.Load() <= int32(i) {
			if time.Now().After(deadline) {
				t.Fatalf("no page-out %d after start-up's within 5 s", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
		after := rssFileKB(t)
		t.Logf("page-out %d: RssFile %d → %d kB, %d kB advised so far", i+1, touched, after, a.settledBytes.Load()/1024)
	}
	if got := a.settledBytes.Load(); got <= 0 {
		t.Errorf("the settling page-outs advised %d bytes of the executable, want its mappings", got)
	}
}
