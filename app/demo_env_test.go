package app_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
)

// loadDemoConfig starts a real influxd and loads configs/demo.yaml with its
// addresses (influxd, HTTP, MQTT broker, Modbus) and state directory pointed
// at free loopback ports and dir, as scripts/demo.sh does through the same
// environment variables. It returns the config and the HTTP address.
func loadDemoConfig(t testing.TB, dir string) (*config.Config, string) {
	t.Helper()
	influx := testenv.StartInfluxd(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	for k, v := range map[string]string{
		"FACILITYD_INFLUXDB_URL": influx.URL, "FACILITYD_INFLUXDB_BUCKET": influx.Bucket, "FACILITYD_STATE_DIR": filepath.Join(dir, "state"),
		"FACILITYD_HTTP_ADDR": httpAddr, "FACILITYD_API_TOKEN_FILE": filepath.Join(dir, "api-token"),
		"FACILITYD_MQTT_ADDR":   fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"FACILITYD_MODBUS_ADDR": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.Load("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, httpAddr
}
