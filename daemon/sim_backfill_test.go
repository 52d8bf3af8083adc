package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestSimBackfill backfills two hours of the demo building at one-minute
// steps into a real influxd and reads it back: every device, Modbus and MQTT
// alike, has a sample per step with the daemon's tags, counters rise, and a
// fault shows after its delay.
func TestSimBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	t.Setenv("FACILITYD_INFLUXDB_URL", influx.URL)
	t.Setenv("FACILITYD_INFLUXDB_BUCKET", influx.Bucket)
	t.Setenv("FACILITYD_STATE_DIR", t.TempDir())

	start := time.Now()
	var out, errOut bytes.Buffer
	args := []string{"sim", "-c", "../configs/demo.yaml", "--backfill", "2h", "--backfill-step", "1m", "--backfill-only",
		"--fault", "pump-1:low_pressure@1h"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("sim --backfill: exit %d\n%s", code, errOut.String())
	}
	stop := time.Now()
	if !strings.Contains(errOut.String(), "backfill done") || !strings.Contains(errOut.String(), "samples/s") {
		t.Errorf("no summary in the log:\n%s", errOut.String())
	}

	q, err := store.NewQuerier(store.Config{URL: influx.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	from := start.Add(-2*time.Hour - time.Minute)
	series := func(measurement, device, field string) []store.Point {
		t.Helper()
		pts, err := q.Range(ctx, measurement, device, field, from, stop.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) < 120 || len(pts) > 121 {
			t.Fatalf("%s %s.%s: %d points, want 120 or 121 (2h at 1m)", device, measurement, field, len(pts))
		}
		for i, p := range pts {
			if !p.Time.Equal(p.Time.Truncate(time.Minute)) || i > 0 && p.Time.Sub(pts[i-1].Time) != time.Minute {
				t.Fatalf("%s.%s: point %d at %s, off the minute grid", device, field, i, p.Time)
			}
		}
		return pts
	}
	for _, c := range []struct{ measurement, device, counter string }{
		{"pump", "pump-1", "run_hours"},
		{"energy_meter", "meter-1", "import_energy"},
		{"elevator", "elevator-1", "trips"},
		{"fire_panel", "fire-panel-1", "battery_voltage"},
		{"water_meter", "water-meter-1", "total_volume"},
		{"gas_meter", "gas-meter-1", "total_volume"},
		{"water_meter", "water-meter-2", "total_volume"}, // over MQTT
	} {
		pts := series(c.measurement, c.device, c.counter)
		if c.measurement == "fire_panel" {
			continue // not a counter
		}
		for i := 1; i < len(pts); i++ {
			if pts[i].Value < pts[i-1].Value {
				t.Fatalf("%s %s went down at %s", c.device, c.counter, pts[i].Time)
			}
		}
		if c.counter != "total_volume" && pts[len(pts)-1].Value <= pts[0].Value {
			t.Errorf("%s %s did not rise over 2h: %v -> %v", c.device, c.counter, pts[0].Value, pts[len(pts)-1].Value)
		}
	}
	// The gas boiler keeps a base load, so its counter rises at any hour.
	if gas := series("gas_meter", "gas-meter-1", "total_volume"); gas[len(gas)-1].Value <= gas[0].Value {
		t.Errorf("gas total_volume did not rise: %v", gas)
	}
	pressure := series("pump", "pump-1", "discharge_pressure")
	first := pressure[0].Time
	for _, p := range pressure {
		if low := p.Value < 1.5; low != (p.Time.Sub(first) >= time.Hour) {
			t.Fatalf("discharge %.2f bar at %s, %s after the start; the fault starts after 1h", p.Value, p.Time, p.Time.Sub(first))
		}
	}

	// Tags are the daemon's: site, device and the device's own.
	resp, err := http.Get(influx.URL + "/query?" + url.Values{"db": {influx.DB}, "q": {"SHOW SERIES FROM energy_meter"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := "energy_meter,building=A,category=electricity,device=meter-1,floor=G,site=demo-building"; !strings.Contains(string(body), want) {
		t.Errorf("series %s, want %s", body, want)
	}
}

func TestSpanFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "36h": 36 * time.Hour, "0": 0, "90m": 90 * time.Minute} {
		var f spanFlag
		if err := f.Set(in); err != nil || time.Duration(f) != want {
			t.Errorf("Set(%q) = %s, %v; want %s", in, time.Duration(f), err, want)
		}
	}
	for _, in := range []string{"", "d", "1.5d", "-2d", "-1h", "week"} {
		var f spanFlag
		if err := f.Set(in); err == nil {
			t.Errorf("Set(%q) accepted", in)
		}
	}
}
