package testenv

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("ModuleRoot() = %s, which has no go.mod: %v", root, err)
	}
}

func TestFreePort(t *testing.T) {
	a, b := FreePort(t), FreePort(t)
	if a <= 0 || b <= 0 {
		t.Fatalf("FreePort() = %d, %d", a, b)
	}
}

// TestInfluxdRestartKeepsData checks the contract later tests rely on: the
// database exists, Stop really takes the server away, and Start brings it
// back on the same URL with the data written before.
func TestInfluxdRestartKeepsData(t *testing.T) {
	i := StartInfluxd(t)
	if i.Bucket != "facility/autogen" || i.DB != "facility" {
		t.Fatalf("Bucket, DB = %q, %q", i.Bucket, i.DB)
	}

	resp, err := http.Post(i.URL+"/api/v2/write?bucket="+url.QueryEscape(i.Bucket), "text/plain",
		strings.NewReader("pump,device=p1 flow=1.5 1700000000000000000"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}

	url0 := i.URL
	i.Stop()
	if resp, err := http.Get(i.URL + "/ping"); err == nil {
		resp.Body.Close()
		t.Fatal("influxd still answers after Stop")
	}
	i.Stop() // idempotent
	i.Start()
	if i.URL != url0 {
		t.Fatalf("URL after restart = %s, want %s", i.URL, url0)
	}

	q := url.Values{"db": {i.DB}, "q": {`SELECT count(flow) FROM pump`}}
	resp, err = http.Get(i.URL + "/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"values":[["1970-01-01T00:00:00Z",1]]`) {
		t.Fatalf("count after restart: %s", body)
	}
}

// recordTB notes Fatalf and Skipf instead of stopping the test.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper()                      {}
func (r *recordTB) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...) }
func (r *recordTB) Skipf(f string, args ...any)  { r.skip = fmt.Sprintf(f, args...) }

// TestMissingInfluxd: without a binary, a developer gets a skip that says how
// to install it, and CI gets a failure.
func TestMissingInfluxd(t *testing.T) {
	t.Chdir(t.TempDir()) // no go.mod, so no <module root>/bin/influxd
	t.Setenv("PATH", t.TempDir())
	t.Setenv("FACILITYD_INFLUXD", "")
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recordTB{TB: t}
		findInfluxd(r)
		msg, other := r.skip, r.fatal
		if ci == "true" {
			msg, other = r.fatal, r.skip
		}
		if !strings.Contains(msg, "go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10") || other != "" {
			t.Errorf("CI=%q: skip %q, fatal %q", ci, r.skip, r.fatal)
		}
	}
}
