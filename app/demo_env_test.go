package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// siteConfig writes and loads a test site's config: the site's name, a
// state directory in a fresh temporary directory, the Shanghai zone, the
// influxd (flushed every 200 ms) and the shipped profiles, then body, in
// which {http} is a free loopback address for the http section, {dead} one
// nothing answers (devices with history only), {root} the module root and
// {dir} the temporary directory. It returns the config, the http address
// and the directory.
func siteConfig(t testing.TB, influx *testenv.Influxd, site, body string) (*config.Config, string, string) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	text := fmt.Sprintf("site: %s\nstate_dir: %q\ntimezone: Asia/Shanghai\ninfluxdb: {url: %q, bucket: %q, flush_interval: 200ms}\nprofile_files: [%q]\n",
		site, filepath.Join(dir, "state"), influx.URL, influx.Bucket, filepath.Join(root, "configs/profiles/*.yaml")) +
		strings.NewReplacer("{http}", httpAddr, "{dead}", dead, "{root}", root, "{dir}", dir).Replace(body)
	path := filepath.Join(dir, "facilityd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, httpAddr, dir
}
