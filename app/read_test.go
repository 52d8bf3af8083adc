package app_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestReadTokenFromConfig: http.read: token in the config protects the
// daemon's reads on loopback too (the default there is open).
func TestReadTokenFromConfig(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "viewer.token")
	os.WriteFile(tok, []byte("viewer-token-0123456789\n"), 0o600)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf(`site: read
state_dir: %q
influxdb: {url: "http://127.0.0.1:%d", bucket: facility/autogen}
http:
  listen: %q
  read: token
  tokens: [{name: wall, role: viewer, file: %q}]
`, filepath.Join(dir, "state"), testenv.FreePort(t), httpAddr, tok)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	stop := startDaemonAllowingUnhealthy(t, t.Context(), cfg, nil, httpAddr)
	defer stop()
	get := func(token string) int {
		req, _ := http.NewRequest("GET", "http://"+httpAddr+"/api/v1/devices", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(5 * time.Second)
	for get("") != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("GET without a token was not refused although http.read is token")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := get("viewer-token-0123456789"); code != http.StatusOK {
		t.Errorf("GET with the viewer token: %d", code)
	}
}
