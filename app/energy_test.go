package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/web"
)

// TestEnergyLeak backfills a year and a fortnight of a water meter and a
// weather station into a real influxd, with a constant leak (10 L/min) over
// the last two days, and starts the daemon: it fits the water meter's
// baseline at start and stores it with its window and statistics, the
// leak rule fires with an excess above zero, and an energy ticket opens.
func TestEnergyLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	influx := testenv.StartInfluxd(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	deadAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing answers: history only
	text := fmt.Sprintf(`site: test-site
state_dir: %q
timezone: Asia/Shanghai
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
profile_files: [%q]
devices:
  - id: water-meter-1
    profile: water_meter
    tags: {building: A, category: water}
    modbus: {address: %q, unit_id: 5, interval: 5s, timeout: 200ms}
  - id: weather-1
    profile: weather_station
    tags: {building: A}
    modbus: {address: %q, unit_id: 7, interval: 10s, timeout: 200ms}
energy:
  temperature: weather-1.outdoor_temperature
  meters:
    - {id: water-main, device: water-meter-1, counter: total_volume, max_gap: 20m}
rules:
  - name: water_leak
    kind: energy
    match: {tags: {category: water}}
    detector: leak
    annotations: {summary: 'leak, {{ fmt .Value 2 }} m³ so far'}
    ticket: {priority: P2, category: plumbing}
`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr, filepath.Join(root, "configs/profiles/*.yaml"), deadAddr, deadAddr)
	path := filepath.Join(dir, "facilityd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	span := 375 * 24 * time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	backfillEnergy(t, ctx, cfg, now.Add(-span), now, sim.Fault{Device: "water-meter-1", Kind: sim.FaultWaterLeak, After: span - 48*time.Hour})
	t.Logf("backfill of %s: %s", span, time.Since(start).Round(time.Millisecond))

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start = time.Now()
	stop := startDaemonAllowingUnhealthy(t, ctx, cfg, logger, httpAddr)
	defer stop()

	var anomalies []web.EnergyAnomaly
	waitFor(t, 60*time.Second, "an active water_leak anomaly", func() bool {
		var body struct{ Anomalies []web.EnergyAnomaly }
		getJSON(t, "http://"+httpAddr+"/api/v1/energy/anomalies?active=true", &body)
		anomalies = body.Anomalies
		return len(anomalies) > 0
	})
	t.Logf("anomaly found %s after the start: %+v", time.Since(start).Round(time.Millisecond), anomalies)
	if a := anomalies[0]; a.Meter != "water-main" || a.Rule != "water_leak" || a.Excess <= 0 || a.Unit != "m3" {
		t.Errorf("anomaly %+v, want water_leak on water-main with an excess in m3", a)
	}
	var bs struct{ Baselines []web.EnergyBaseline }
	getJSON(t, "http://"+httpAddr+"/api/v1/energy/baselines", &bs)
	if len(bs.Baselines) != 1 || bs.Baselines[0].Model == nil || bs.Baselines[0].TrainingTo.Sub(bs.Baselines[0].TrainingFrom) < 364*24*time.Hour {
		t.Fatalf("baselines %+v", bs.Baselines)
	}
	stored, err := os.ReadFile(filepath.Join(cfg.StateDir, app.BaselinesFile))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Baselines []struct {
			Meter string
			Model struct {
				N      int     `json:"n"`
				CVRMSE float64 `json:"cvrmse"`
				From   string  `json:"training_from"`
			}
		}
	}
	if err := json.Unmarshal(stored, &file); err != nil || len(file.Baselines) != 1 || file.Baselines[0].Model.N < 8000 || file.Baselines[0].Model.From == "" {
		t.Fatalf("stored baselines (%v): %.300s", err, stored)
	}
	t.Logf("water-main: n %d, CV(RMSE) %.3f, fit for alarms %v %v", file.Baselines[0].Model.N, file.Baselines[0].Model.CVRMSE,
		bs.Baselines[0].FitForAlarms, bs.Baselines[0].Reasons)

	var alert web.Alert
	waitFor(t, 10*time.Second, "the water_leak alert firing", func() bool {
		var as []web.Alert
		getJSON(t, "http://"+httpAddr+"/api/v1/alerts", &as)
		for _, a := range as {
			if a.Rule == "water_leak" && a.State == "firing" {
				alert = a
				return true
			}
		}
		return false
	})
	if alert.Value == nil || *alert.Value <= 0 || alert.Device != "water-meter-1" {
		t.Errorf("alert %+v: want the excess as its value", alert)
	}
	var tk tickets.Ticket
	waitFor(t, 10*time.Second, "an energy ticket", func() bool {
		for _, x := range openTickets(t, httpAddr) {
			if x.Source == tickets.SourceEnergy {
				tk = x
				return true
			}
		}
		return false
	})
	if tk.Device != "water-meter-1" || tk.Priority != "P2" {
		t.Errorf("ticket %+v", tk)
	}
	t.Logf("alert value %.3f m³, ticket %d %q", *alert.Value, tk.ID, tk.Title)
}

// backfillEnergy writes the simulated history of cfg's devices over
// [from, to) at 15 min into cfg's InfluxDB with the daemon's tags.
func backfillEnergy(t *testing.T, ctx context.Context, cfg *config.Config, from, to time.Time, faults ...sim.Fault) {
	t.Helper()
	var devs []sim.BackfillDevice
	for _, d := range cfg.Devices {
		devs = append(devs, sim.BackfillDevice{ID: d.ID, Profile: cfg.Profiles[d.Profile]})
	}
	b, err := sim.NewBackfill(sim.BackfillConfig{Devices: devs, From: from, To: to, Step: 15 * time.Minute, OldStep: 15 * time.Minute, Seed: 1}, faults)
	if err != nil {
		t.Fatal(err)
	}
	tags := cfg.DeviceTags()
	w, err := store.NewWriter(cfg.InfluxDB, store.WriterOptions{Tags: func(id string) map[string]string { return tags[id] }})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWriter := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stopWriter(); <-done }()
	drainTo := func(limit int64) {
		for w.Stats().Pending > limit {
			if ctx.Err() != nil {
				t.Fatal("backfill: InfluxDB too slow")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	sink := sinkFunc(func(ctx context.Context, s []drivers.Sample) {
		drainTo(int64(cfg.InfluxDB.WithDefaults().MaxBuffered / 2))
		w.Put(ctx, s)
	})
	if _, err := b.Run(ctx, sink, nil); err != nil {
		t.Fatal(err)
	}
	drainTo(0)
	if st := w.Stats(); st.Dropped > 0 || st.Skipped > 0 {
		t.Fatalf("backfill: %+v", st)
	}
}

type sinkFunc func(context.Context, []drivers.Sample)

func (f sinkFunc) Put(ctx context.Context, s []drivers.Sample) { f(ctx, s) }

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
