package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Database is the InfluxDB database that StartInfluxd creates.
const Database = "facility"

// influxdInstall is how a developer gets the binary StartInfluxd looks for.
const influxdInstall = "GOBIN=$PWD/bin go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10 " +
	"(from the module root), or set FACILITYD_INFLUXD to an influxd 1.8 binary"

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

	dir  string
	conf string
	proc process
}

// StartInfluxd starts influxd for t, waits until it answers /ping, creates the
// database and registers its shutdown with t.Cleanup. The binary is taken from
// $FACILITYD_INFLUXD, else <module root>/bin/influxd, else PATH; when none is
// found the test is skipped, or failed when CI=true.
func StartInfluxd(t testing.TB) *Influxd {
	t.Helper()
	return startInfluxd(t, t.TempDir())
}

// StartInfluxdIn is StartInfluxd over the directory dir, which outlives
// the test: its meta, data and wal stay for the next test that starts
// influxd there (a benchmark's data set, generated once). Only one influxd
// may use dir at a time.
func StartInfluxdIn(t testing.TB, dir string) *Influxd {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("testenv: influxd: %v", err)
	}
	return startInfluxd(t, dir)
}

func startInfluxd(t testing.TB, dir string) *Influxd {
	t.Helper()
	bin := findInfluxd(t)
	i := &Influxd{
		Bucket: Database + "/autogen",
		DB:     Database,
		dir:    dir,
		conf:   filepath.Join(dir, "influxd.conf"),
	}
	i.proc = process{
		t:       t,
		name:    "influxd",
		argv:    []string{bin, "-config", i.conf},
		logPath: filepath.Join(dir, "influxd.log"),
		ready:   i.ping,
	}
	t.Cleanup(i.Stop)
	i.proc.launch(func() error { return i.configure(FreePort(t), FreePort(t)) })
	if err := i.createDatabase(); err != nil {
		t.Fatalf("testenv: %v\n%s", err, i.proc.logTail())
	}
	return i
}

// Start brings a stopped influxd back on the same address and data directory.
// It does nothing when influxd is running.
func (i *Influxd) Start() {
	i.proc.t.Helper()
	i.proc.restart()
}

// Stop terminates influxd (SIGTERM, then SIGKILL after a grace period) and
// waits for it to exit. Written data survives for the next Start. It does
// nothing when influxd is not running.
func (i *Influxd) Stop() { i.proc.stop() }

// LogPath is the file that holds influxd's output, across restarts.
func (i *Influxd) LogPath() string { return i.proc.logPath }

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

// ping reports whether influxd answers /ping with 204.
func (i *Influxd) ping(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, i.URL+"/ping", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
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
