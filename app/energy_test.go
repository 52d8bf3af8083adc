package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/web"
)

// TestEnergyLeak backfills a year and a fortnight of a water meter and a
// weather station into a real influxd, with a constant leak (10 L/min) since
// the local midnight two days back, and starts the daemon: it fits the water meter's
// baseline at start and stores it with its window and statistics, the
// leak rule fires with an excess above zero, and an energy ticket opens;
// the water meter's daily fallback (its hourly model fails the gate)
// finds the leak by the day too.
func TestEnergyLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	influx := testenv.StartInfluxd(t)
	cfg, httpAddr, dir := siteConfig(t, influx, "test-site", `http:
  listen: "{http}"
  tokens: [{name: op, role: operator, file: "{dir}/token", generate: true}]
devices:
  - id: water-meter-1
    profile: water_meter
    tags: {building: A, category: water}
    modbus: {address: "{dead}", unit_id: 5, interval: 5s, timeout: 200ms}
  - id: meter-1
    profile: energy_meter
    tags: {building: A, category: electricity}
    modbus: {address: "{dead}", unit_id: 2, interval: 1s, timeout: 200ms}
  - id: weather-1
    profile: weather_station
    tags: {building: A}
    modbus: {address: "{dead}", unit_id: 7, interval: 10s, timeout: 200ms}
energy:
  temperature: weather-1.outdoor_temperature
  meters:
    - {id: water-main, device: water-meter-1, counter: total_volume, max_gap: 20m}
    - {id: electricity-main, device: meter-1, counter: import_energy, max_gap: 20m}
tariffs:
  currency: CNY
  water:
    - {from: 2024-01-01, price: 5.80}
rules:
  - name: water_leak
    kind: energy
    match: {tags: {category: water}}
    detector: leak
    annotations: {summary: 'leak, {{ fmt .Value 2 }} m³ so far'}
    ticket: {priority: P2, category: plumbing}
  - name: electricity_overuse
    kind: energy
    match: {tags: {category: electricity}}
    detector: residual
    k: 3
    n: 3
    ticket: {priority: P3, category: energy}
  - name: water_quiet
    kind: energy
    match: {tags: {category: water}}
    detector: residual
    ticket: {priority: P4, category: plumbing}
  - name: water_base_load
    kind: energy
    match: {tags: {category: water}}
    detector: baseload
    ticket: {priority: P4, category: plumbing}
`)
	now := time.Now()
	span := 375 * 24 * time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	// The leak starts at the local midnight two days back, so that the two
	// whole days before today have it whatever the time the test runs: the
	// daily residual needs two days over (n: 2), and a leak of the last 48 h
	// only fills the day before yesterday near midnight.
	y, mo, d := now.In(sim.Zone).Date()
	leakFrom := time.Date(y, mo, d-2, 0, 0, 0, 0, sim.Zone)
	backfillEnergy(t, ctx, cfg, now.Add(-span), now,
		sim.Fault{Device: "water-meter-1", Kind: sim.FaultWaterLeak, After: leakFrom.Sub(now.Add(-span))},
		sim.Fault{Device: "meter-1", Kind: sim.FaultHVACNight, After: span - 72*time.Hour})
	t.Logf("backfill of %s: %s", span, time.Since(start).Round(time.Millisecond))

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start = time.Now()
	stop := startDaemonAllowingUnhealthy(t, ctx, cfg, logger, httpAddr)
	defer func() { stop() }()

	var anomalies []web.EnergyAnomaly
	// The leak is active; HVAC left on at night is an anomaly of every
	// night, active only while it lasts.
	active := map[string]web.EnergyAnomaly{} // by rule
	waitFor(t, 60*time.Second, "anomalies", func() bool {
		var body struct{ Anomalies []web.EnergyAnomaly }
		getJSON(t, "http://"+httpAddr+"/api/v1/energy/anomalies", &body)
		anomalies = body.Anomalies
		for _, a := range anomalies {
			if _, seen := active[a.Rule]; !seen && (a.Active || a.Rule != "water_leak") {
				active[a.Rule] = a
			}
		}
		return len(active) >= 3
	})
	t.Logf("anomalies found %s after the start: %+v", time.Since(start).Round(time.Millisecond), anomalies)
	if a := active["water_leak"]; a.Meter != "water-main" || a.Excess <= 0 || a.Unit != "m3" ||
		a.Currency != "CNY" || math.Abs(a.Cost-5.80*a.Excess) > 1e-6*a.Cost {
		t.Errorf("anomaly %+v, want water_leak on water-main with an excess in m3 costing 5.80 CNY/m³", a)
	}
	// The water meter's hourly model fails the hourly gate; its daily
	// fallback watches it by the day, and finds the two days of leak.
	if a := active["water_quiet"]; a.Meter != "water-main" || !a.Active || a.Excess <= 0 || a.End.Sub(a.Start) < 24*time.Hour {
		t.Errorf("anomaly %+v, want water_quiet active on water-main by the day, with an excess", a)
	}
	// No electricity tariff: no cost.
	if a := active["electricity_overuse"]; a.Cost != 0 || a.Currency != "" {
		t.Errorf("electricity anomaly priced without a tariff: %+v", a)
	}
	if a := active["electricity_overuse"]; a.Meter != "electricity-main" || a.Excess <= 0 || a.Unit != "kWh" || a.Start.In(sim.Zone).Hour() < 19 && a.Start.In(sim.Zone).Hour() > 9 {
		t.Errorf("anomaly %+v, want electricity_overuse on electricity-main at night with an excess in kWh", a)
	}
	var bs struct{ Baselines []web.EnergyBaseline }
	getJSON(t, "http://"+httpAddr+"/api/v1/energy/baselines", &bs)
	if len(bs.Baselines) != 2 {
		t.Fatalf("baselines %+v", bs.Baselines)
	}
	fitted := map[string]web.EnergyBaseline{}
	for _, b := range bs.Baselines {
		if b.Model == nil || b.TrainingTo.Sub(b.TrainingFrom) < 364*24*time.Hour {
			t.Fatalf("baseline %+v", b)
		}
		t.Logf("%s: fit for alarms %v %v", b.Meter, b.FitForAlarms, b.Reasons)
		fitted[b.Meter] = b
	}
	if !fitted["electricity-main"].FitForAlarms {
		t.Errorf("the electricity baseline is not fit for alarms: %+v", fitted["electricity-main"].Reasons)
	}
	// The check wrote what the fit baselines expect of the lookback's whole
	// hours (energy_expected.go), for the portfolio.
	eq, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	defer eq.Close()
	var expectedHours int
	waitFor(t, 10*time.Second, "the electricity meter's expectations", func() bool {
		expectedHours = 0
		err := eq.QueryInfluxQL(ctx, `SELECT import_energy_expected FROM energy_expected WHERE "device" = 'meter-1' AND "site" = 'test-site'`, func(s store.InfluxQLSeries) error {
			expectedHours += len(s.Values)
			return nil
		})
		return err == nil && expectedHours >= 167 // the lookback's 168 hours, 167 when the check ran at the turn of an hour
	})
	t.Logf("energy_expected: %d hours of electricity-main", expectedHours)
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
	if err := json.Unmarshal(stored, &file); err != nil || len(file.Baselines) != 2 || file.Baselines[0].Model.N < 8000 || file.Baselines[1].Model.From == "" {
		t.Fatalf("stored baselines (%v): %.300s", err, stored)
	}
	for _, b := range file.Baselines {
		t.Logf("%s: n %d, CV(RMSE) %.3f", b.Meter, b.Model.N, b.Model.CVRMSE)
	}

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
			if x.Source == tickets.SourceEnergy && x.Key == rules.Fingerprint("water_leak", "water-meter-1", nil) {
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

	// A refit on demand fits again and checks: the ticket hears of the
	// excess so far.
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/api/v1/energy/baselines/refit?meter=water-main", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var refit struct{ Baselines []web.EnergyBaseline }
	json.NewDecoder(resp.Body).Decode(&refit)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(refit.Baselines) != 1 || !refit.Baselines[0].FittedAt.After(fitted["water-main"].FittedAt) {
		t.Fatalf("refit: %s %+v", resp.Status, refit.Baselines)
	}
	var got struct {
		Events []tickets.Event
	}
	getJSON(t, fmt.Sprintf("http://%s/api/v1/tickets/%d", httpAddr, tk.ID), &got)
	noted := false
	for _, e := range got.Events {
		noted = noted || e.Actor == "energy" && strings.Contains(e.Detail, "Excess so far") && strings.Contains(e.Detail, "CNY at the tariff")
	}
	if !noted {
		t.Errorf("no excess noted on the ticket: %+v", got.Events)
	}

	// A restart keeps the baselines: nothing is fitted again. Meanwhile an
	// energy ticket was left open with its alert firing, as a power cut
	// that lost the alert would leave it (water_base_load raises nothing:
	// a base load needs hours of a model fit for alarms, and the water
	// meter's is a daily fallback): the first check at start records the
	// resolution.
	stop()
	stale := rules.Fingerprint("water_base_load", "water-meter-1", nil)
	st, err := tickets.Open(ctx, app.TicketsPath(cfg), tickets.Config{Site: cfg.Site}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, []tickets.Change{{Alert: tickets.Alert{Key: stale, Title: "stale", Device: "water-meter-1", Priority: "P4", Source: tickets.SourceEnergy}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	stop = startDaemonAllowingUnhealthy(t, ctx, cfg, logger, httpAddr)
	waitFor(t, 60*time.Second, "the stale energy ticket's alert resolved", func() bool {
		for _, x := range openTickets(t, httpAddr) {
			if x.Source == tickets.SourceEnergy && x.Key == stale {
				return !x.AlertResolvedAt.IsZero()
			}
		}
		return true // closed: also resolved
	})
	// The API answers before the first generation has started: wait for it.
	var again struct{ Baselines []web.EnergyBaseline }
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		again.Baselines = nil
		getJSON(t, "http://"+httpAddr+"/api/v1/energy/baselines", &again)
		if len(again.Baselines) > 0 || time.Now().After(deadline) {
			break
		}
	}
	fitted["water-main"] = refit.Baselines[0]
	for _, b := range again.Baselines {
		if !b.FittedAt.Equal(fitted[b.Meter].FittedAt) {
			t.Errorf("after a restart, %s fitted at %s, want %s (stored)", b.Meter, b.FittedAt, fitted[b.Meter].FittedAt)
		}
	}
	if len(again.Baselines) != 2 {
		t.Errorf("after a restart: %d baselines", len(again.Baselines))
	}
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
