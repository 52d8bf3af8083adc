package app

import (
	"os"
	"strconv"
	"strings"
	"testing"
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
