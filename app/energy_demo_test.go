package app_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/web"
)

// TestEnergyDemo runs the demo's energy section on a year of simulated
// history of the whole demo building: every meter gets a baseline of its
// configured kind (hourly, and daily for gas), with no error, fit for
// alarms, those with days of the week keeping the demo's holidays.
func TestEnergyDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	dir := t.TempDir()
	cfg, httpAddr := loadDemoConfig(t, dir)
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
		// Every meter is watched by a model fit for alarms. A water
		// meter's hours are people's: its hourly model meets the hourly
		// gate with the demo's holidays kept as Sundays (energy.calendar),
		// or else a daily fallback stands in, under the monthly gate.
		if !b.FitForAlarms {
			t.Errorf("%s: not fit for alarms: %v", b.Meter, b.Reasons)
		}
		// The models with days of the week keep the demo's holidays.
		if dow, _ := m["model"].(string); m["kind"] != "daily" || strings.HasPrefix(dow, baseline.DayOfWeek) {
			if c, _ := m["calendar"].(map[string]any); len(c["holidays"].([]any)) == 0 {
				t.Errorf("%s: %v model without the calendar: %v", b.Meter, m["model"], m["calendar"])
			}
		}
		if _, fallback := m["fallback_for"]; b.Category == "water" && !fallback {
			t.Logf("%-20s hourly model fit for alarms with the calendar, CV(RMSE) %.3v NMBE %.3v", b.Meter, m["cvrmse"], m["nmbe"])
		} else if b.Category == "water" {
			fb, _ := m["fallback_for"].(map[string]any)
			gate, _ := m["gate"].(map[string]any)
			mo, _ := m["monthly"].(map[string]any)
			t.Logf("%-20s daily fallback %v for %v (hourly CV(RMSE) %.3v), monthly CV(RMSE) %.3v NMBE %.3v under %q",
				b.Meter, m["model"], fb["model"], fb["stats"].(map[string]any)["cvrmse"], mo["cvrmse"], mo["nmbe"], gate["name"])
			if m["kind"] != "daily" || fb == nil || gate["name"] != baseline.GateMonthly.Name {
				t.Errorf("%s: model kind %v, fallback for %v, gate %v: want a daily fallback under the monthly gate", b.Meter, m["kind"], fb, gate["name"])
			}
		}
	}
	var as struct{ Anomalies []web.EnergyAnomaly }
	getJSON(t, "http://"+httpAddr+"/api/v1/energy/anomalies", &as)
	for _, a := range as.Anomalies {
		t.Logf("anomaly in a week without faults: %+v", a) // a false alarm, reported rather than failed: the detectors' rate is energy/quality's to hold
	}
}
