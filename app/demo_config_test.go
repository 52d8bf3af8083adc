package app_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestDemoConfigRunsOnItsOwn: `facilityd run -c configs/demo.yaml` needs no
// setup: on the first start the API token file is created (0600) and works
// for changes; nothing else is required to start (InfluxDB and the devices
// may be away: readings wait in the spool, devices show offline).
func TestDemoConfigRunsOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "sub", "api-token")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	t.Setenv("FACILITYD_API_TOKEN_FILE", tok)
	t.Setenv("FACILITYD_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("FACILITYD_HTTP_ADDR", httpAddr)
	t.Setenv("FACILITYD_MQTT_ADDR", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	t.Setenv("FACILITYD_MODBUS_ADDR", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	t.Setenv("FACILITYD_INFLUXDB_URL", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)))
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(root, "configs/demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := cfg.CheckSecrets(); len(errs) > 0 {
		t.Fatalf("check refuses the demo config before its token exists: %v", errs)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stop := startDaemonAllowingUnhealthy(t, t.Context(), cfg, logger, httpAddr)
	defer func() { stop() }()
	st, err := os.Stat(tok)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want created with mode 0600", st, err)
	}
	b, _ := os.ReadFile(tok)
	secret := strings.TrimSpace(string(b))
	if len(secret) < 32 {
		t.Fatalf("generated token of %d characters", len(secret))
	}
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/tickets", strings.NewReader(`{"title": "door sticks", "priority": "P3"}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Errorf("POST a ticket with the generated token: %d", resp.StatusCode)
	}
	stop()
	stop = startDaemonAllowingUnhealthy(t, t.Context(), cfg, logger, httpAddr) // a restart keeps the token
	if b2, _ := os.ReadFile(tok); string(b2) != string(b) {
		t.Error("a restart replaced the token")
	}
}
