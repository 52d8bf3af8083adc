package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestInfluxDownAtStart starts the daemon while InfluxDB is down: polling,
// the live API and rules (a ticket) must work regardless, and the readings
// taken during the outage must reach InfluxDB once it is back.
func TestInfluxDownAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	influx.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, httpAddr := building(t, influx)
	startSim(t, ctx, cfg, logger, "pump-1:low_pressure@1s", sim.Config{Seed: 3})
	started := time.Now()
	stop := startDaemonAllowingUnhealthy(t, ctx, cfg, logger, httpAddr)
	defer stop()

	// Rules and tickets work without InfluxDB.
	tk := waitTicket(t, ctx, httpAddr)
	if tk.Device != "pump-1" {
		t.Errorf("ticket for %q, want pump-1", tk.Device)
	}
	var devs []struct {
		ID     string         `json:"id"`
		State  string         `json:"state"`
		Points map[string]any `json:"points"`
	}
	getJSON(t, "http://"+httpAddr+"/api/v1/devices", &devs)
	for _, d := range devs {
		if d.State != "online" || len(d.Points) == 0 {
			t.Errorf("device %s during the InfluxDB outage: state %q, %d points", d.ID, d.State, len(d.Points))
		}
	}

	// InfluxDB returns: the readings from the outage arrive.
	influx.Start()
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pts, err := q.Range(ctx, "energy_meter", "meter-1", "voltage_l1", started.Add(-time.Second), time.Now().Add(time.Second))
		if err == nil && len(pts) > 0 && !pts[0].Time.After(started.Add(2*time.Second)) {
			break // the oldest reading, taken while InfluxDB was down, is stored
		}
		if time.Now().After(deadline) {
			t.Fatalf("readings from the outage did not reach InfluxDB (err %v, %d points)", err, len(pts))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
