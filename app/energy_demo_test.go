package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/web"
)

// TestEnergyDemo runs the demo's energy section on a year of simulated
// history of the whole demo building: every meter gets a baseline of its
// configured kind (hourly, and daily for gas), with no error.
func TestEnergyDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	influx := testenv.StartInfluxd(t)
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	for k, v := range map[string]string{
		"FACILITYD_INFLUXDB_URL": influx.URL, "FACILITYD_INFLUXDB_BUCKET": influx.Bucket, "FACILITYD_STATE_DIR": filepath.Join(dir, "state"),
		"FACILITYD_HTTP_ADDR": httpAddr, "FACILITYD_API_TOKEN_FILE": filepath.Join(dir, "token"),
		"FACILITYD_MQTT_ADDR":   fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"FACILITYD_MODBUS_ADDR": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.Load("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now()
	start := time.Now()
	backfillEnergy(t, ctx, cfg, now.Add(-375*24*time.Hour), now)
	t.Logf("backfill: %s", time.Since(start).Round(time.Millisecond))
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	start = time.Now()
	stop := startDaemonAllowingUnhealthy(t, ctx, cfg, logger, httpAddr)
	defer stop()
	var bs struct{ Baselines []web.EnergyBaseline }
	waitFor(t, 60*time.Second, "four baselines", func() bool {
		bs.Baselines = nil
		getJSON(t, "http://"+httpAddr+"/api/v1/energy/baselines", &bs)
		n := 0
		for _, b := range bs.Baselines {
			if !b.FittedAt.IsZero() {
				n++
			}
		}
		return n == 4
	})
	t.Logf("fitted in %s", time.Since(start).Round(time.Millisecond))
	for _, b := range bs.Baselines {
		m, _ := b.Model.(map[string]any)
		t.Logf("%-20s %-6s %-8v fit %-5v cvrmse %.3v nmbe %.3v %v %s", b.Meter, b.Kind, m["model"], b.FitForAlarms, m["cvrmse"], m["nmbe"], b.Reasons, b.Error)
		if b.Error != "" || b.Model == nil {
			t.Errorf("%s: %s", b.Meter, b.Error)
		}
		if want := map[string]string{"gas-main": "daily"}[b.Meter]; want != "" && b.Kind != want || want == "" && b.Kind != "hourly" {
			t.Errorf("%s: kind %s", b.Meter, b.Kind)
		}
	}
	var as struct{ Anomalies []web.EnergyAnomaly }
	getJSON(t, "http://"+httpAddr+"/api/v1/energy/anomalies", &as)
	for _, a := range as.Anomalies {
		t.Logf("anomaly in a week without faults: %+v", a) // a false alarm, reported rather than failed: the detectors' rate is energy/quality's to hold
	}
}
