// Package testenv starts the real services that integration tests need — for
// now InfluxDB 1.8 — each on free loopback ports with a temporary data
// directory, and stops them when the test ends.
//
// A test that needs a service it cannot find skips with a hint on how to install
// it, except in CI (CI=true), where a missing service fails the test: CI must
// never pass by silently skipping what it is there to check.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Database is the InfluxDB database that StartInfluxd creates.
const Database = "facility"

// influxdInstall is how a developer gets the binary StartInfluxd looks for.
const influxdInstall = "GOBIN=$PWD/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10 " +
	"(from the module root), or set FACILITYD_INFLUXD to an influxd 1.8 binary"

const (
	readyTimeout = 60 * time.Second // Flux start-up alone takes ~5 s of CPU; 14 s seen with 3 at once on 2 CPUs
	stopTimeout  = 15 * time.Second // after SIGTERM, before SIGKILL
	pollEvery    = 25 * time.Millisecond
)

// Influxd is an influxd 1.8 process owned by one test. It serves the v2 API
// (write and Flux query) that influxdb-client-go uses, with an empty org and
// token. Stop and Start let a test take it away and bring it back on the same
// address with the same data.
type Influxd struct {
	// URL is the HTTP base address, such as http://127.0.0.1:43127.
	URL string
	// Bucket is DB/RP as the v2 API wants it: "facility/autogen".
	Bucket string
	// DB is the database name: "facility".
	DB string

	t       testing.TB
	bin     string
	dir     string
	conf    string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

// StartInfluxd starts influxd for t, waits until it answers /ping, creates the
// database and registers its shutdown with t.Cleanup. The binary is taken from
// $FACILITYD_INFLUXD, else <module root>/bin/influxd, else PATH; when none is
// found the test is skipped, or failed when CI=true.
func StartInfluxd(t testing.TB) *Influxd {
	t.Helper()
	bin := findInfluxd(t)
	dir := t.TempDir()
	i := &Influxd{
		Bucket:  Database + "/autogen",
		DB:      Database,
		t:       t,
		bin:     bin,
		dir:     dir,
		conf:    filepath.Join(dir, "influxd.conf"),
		logPath: filepath.Join(dir, "influxd.log"),
	}
	t.Cleanup(i.Stop)
	// Free ports are only free until someone takes them: on a clash, try
	// others before giving up.
	var err error
	for range 3 {
		_ = os.Remove(i.logPath) // so the clash check reads this attempt only
		if err = i.configure(FreePort(t), FreePort(t)); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = i.start()
		if err == nil || !strings.Contains(i.logTail(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("testenv: start influxd: %v\n%s", err, i.logTail())
	}
	if err := i.createDatabase(); err != nil {
		t.Fatalf("testenv: %v\n%s", err, i.logTail())
	}
	return i
}

// Start brings a stopped influxd back on the same address and data directory.
// It does nothing when influxd is running.
func (i *Influxd) Start() {
	i.t.Helper()
	if err := i.start(); err != nil {
		i.t.Fatalf("testenv: restart influxd: %v\n%s", err, i.logTail())
	}
}

// Stop terminates influxd (SIGTERM, then SIGKILL after a grace period) and
// waits for it to exit. Written data survives for the next Start. It does
// nothing when influxd is not running.
func (i *Influxd) Stop() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cmd == nil {
		return
	}
	_ = i.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-i.done:
	case <-time.After(stopTimeout):
		i.t.Logf("testenv: influxd ignored SIGTERM for %v; killing it", stopTimeout)
		_ = i.cmd.Process.Kill()
		<-i.done
	}
	i.cmd = nil
	_ = i.log.Close()
}

// LogPath is the file that holds influxd's output, across restarts.
func (i *Influxd) LogPath() string { return i.logPath }

func (i *Influxd) configure(httpPort, rpcPort int) error {
	i.URL = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q

[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:%d"
  flux-enabled = true
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
`, rpcPort, filepath.Join(i.dir, "meta"), filepath.Join(i.dir, "data"), filepath.Join(i.dir, "wal"), httpPort)
	return os.WriteFile(i.conf, []byte(conf), 0o600)
}

func (i *Influxd) start() error {
	i.t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(i.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(i.bin, "-config", i.conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // owned: Stop and start wait on done
	i.cmd, i.done, i.log = cmd, done, logf

	began := time.Now()
	if err := waitReady(i.URL, done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		i.cmd = nil
		_ = logf.Close()
		return err
	}
	i.t.Logf("testenv: influxd ready at %s in %v", i.URL, time.Since(began).Round(time.Millisecond))
	return nil
}

// waitReady polls /ping until it answers 204, influxd exits, or the deadline.
func waitReady(base string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ping", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("influxd exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("influxd not ready after %v", readyTimeout)
		case <-tick.C:
		}
	}
}

func (i *Influxd) createDatabase() error {
	form := url.Values{"q": {fmt.Sprintf("CREATE DATABASE %q", i.DB)}}
	resp, err := http.PostForm(i.URL+"/query", form)
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(body.String(), `"error"`) {
		return fmt.Errorf("create database: %s: %s", resp.Status, body.String())
	}
	return nil
}

// logTail returns the end of influxd's output for failure messages.
func (i *Influxd) logTail() string {
	const max = 4 << 10
	b, err := os.ReadFile(i.logPath)
	if err != nil {
		return "(no influxd log: " + err.Error() + ")"
	}
	if len(b) > max {
		b = b[len(b)-max:]
		if n := bytes.IndexByte(b, '\n'); n >= 0 {
			b = b[n+1:]
		}
	}
	return "--- tail of " + i.logPath + " ---\n" + string(b)
}

// findInfluxd locates the binary, or skips (fails in CI) with how to get one.
func findInfluxd(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FACILITYD_INFLUXD"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("testenv: FACILITYD_INFLUXD: %v", err)
		}
		return p
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "bin", "influxd")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("influxd"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: influxd not found (CI=true, so this fails instead of skipping); install it: %s", influxdInstall)
		return ""
	}
	t.Skipf("testenv: influxd not found; install it: %s", influxdInstall)
	return ""
}

// ModuleRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
