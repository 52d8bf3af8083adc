package app_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestDaemonRollsUp gives the daemon ten days of two meters' readings (one
// with a reset) and starts it: it rolls their history, its state file and
// metric say how far, InfluxDB holds the rows, and the consumption API —
// read through the rollup — equals a computation from the readings alone.
// Readings then written into a rolled day are found by the hourly check at
// the next start and that day is rolled again.
func TestDaemonRollsUp(t *testing.T) {
	influx := testenv.StartInfluxd(t)
	cfg, httpAddr, dir := siteConfig(t, influx, "roll-site", `http: {listen: "{http}"}
devices:
  - {id: meter-1, profile: energy_meter, tags: {building: A, category: electricity}, modbus: {address: "{dead}", unit_id: 2, interval: 5m, timeout: 200ms}}
  - {id: meter-2, profile: energy_meter, tags: {building: A, category: electricity}, modbus: {address: "{dead}", unit_id: 3, interval: 5m, timeout: 200ms}}
energy:
  rollup: {backfill: 12d}
  meters:
    - {id: main, device: meter-1, counter: import_energy}
    - {id: sub, device: meter-2, counter: import_energy, parent: main}
`)
	now := time.Now()
	from := now.Add(-10 * 24 * time.Hour).Truncate(5 * time.Minute)
	resetAt := from.Add(3*24*time.Hour + 7*time.Hour)
	var lp bytes.Buffer
	v1, v2 := 1000.0, 50.0
	for t := from; t.Before(now.Add(-30 * time.Minute)); t = t.Add(5 * time.Minute) {
		h := t.Hour()
		v1 += 2 + float64(h%6)
		v2 += 0.5 + float64(h%3)/4
		if t.Equal(resetAt) {
			v2 = 0.25
		}
		fmt.Fprintf(&lp, "energy_meter,device=meter-1,site=roll-site import_energy=%v %d\n", v1, t.UnixNano())
		fmt.Fprintf(&lp, "energy_meter,device=meter-2,site=roll-site import_energy=%v %d\n", v2, t.UnixNano())
	}
	writeInflux(t, influx, lp.Bytes())

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stop := startDaemonAllowingUnhealthy(t, t.Context(), cfg, logger, httpAddr)
	through := regexp.MustCompile(`(?m)^facilityd_energy_rollup_through_seconds ([0-9.e+]+)$`)
	waitFor(t, 60*time.Second, "the rollup's first cycle", func() bool {
		m := through.FindStringSubmatch(scrape(t, httpAddr))
		if m == nil {
			return false
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		return f > 0
	})
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	rolled := usage.NewEngine(q, cfg.Energy.Usage).UseRollup()
	var days map[string]map[time.Time][2]int
	waitFor(t, 30*time.Second, "the rollup's rows in InfluxDB", func() bool {
		days, err = rolled.RolledDays(t.Context(), from, now)
		return err == nil && len(days["main"]) >= 10 && len(days["sub"]) >= 10
	})

	// The API, through the rollup, against the readings alone.
	qs := url.Values{"from": {from.Add(24 * time.Hour).Format(time.RFC3339)}, "to": {now.Add(-time.Hour).Truncate(time.Hour).Format(time.RFC3339)}, "interval": {"1h"}}
	var api usage.Report
	if code := fetchJSON("http://"+httpAddr+"/api/v1/energy/consumption?"+qs.Encode(), &api); code != http.StatusOK {
		t.Fatalf("consumption: %d", code)
	}
	raw, err := usage.NewEngine(q, cfg.Energy.Usage).Consumption(t.Context(), usage.Query{From: from.Add(24 * time.Hour),
		To: now.Add(-time.Hour).Truncate(time.Hour), Interval: usage.Hour, Zone: cfg.Zone})
	if err != nil {
		t.Fatal(err)
	}
	if !api.FromRollup || raw.FromRollup {
		t.Errorf("from_rollup: API %v, raw engine %v; want true, false", api.FromRollup, raw.FromRollup)
	}
	if len(api.Meters) != 2 || len(raw.Meters) != 2 {
		t.Fatalf("meters: API %d, raw %d", len(api.Meters), len(raw.Meters))
	}
	for i := range raw.Meters {
		a, r := api.Meters[i], raw.Meters[i]
		if a.Meter != r.Meter || len(a.Slots) != len(r.Slots) || len(a.Events) != len(r.Events) || fmt.Sprintf("%.6f", a.Total) != fmt.Sprintf("%.6f", r.Total) {
			t.Fatalf("%s: API total %.6f, %d slots, %d events; readings %.6f, %d, %d", r.Meter, a.Total, len(a.Slots), len(a.Events), r.Total, len(r.Slots), len(r.Events))
		}
		for j := range r.Slots {
			if fmt.Sprintf("%.6f", a.Slots[j].Amount) != fmt.Sprintf("%.6f", r.Slots[j].Amount) || a.Slots[j].Samples != r.Slots[j].Samples {
				t.Errorf("%s slot %s: API %+v, readings %+v", r.Meter, r.Slots[j].Start, a.Slots[j], r.Slots[j])
			}
		}
	}
	if len(raw.Meters[1].Events) != 1 || raw.Meters[1].Events[0].Kind != usage.Reset {
		t.Errorf("sub's events %+v, want its reset", raw.Meters[1].Events)
	}
	stop()
	data, err := os.ReadFile(filepath.Join(dir, "state", app.RollupFile))
	if err != nil || !bytes.Contains(data, []byte(`"main"`)) {
		t.Fatalf("state file: %s %v", data, err)
	}

	// Late readings of a rolled day: another meter-2 reading between two
	// of its own, five days ago; the next start's check rolls the day again.
	late := from.Add(5*24*time.Hour + 2*time.Minute)
	writeInflux(t, influx, fmt.Appendf(nil, "energy_meter,device=meter-2,site=roll-site import_energy=%v %d\n", 1e6, late.UnixNano()))
	stop = startDaemonAllowingUnhealthy(t, t.Context(), cfg, logger, httpAddr)
	defer stop()
	rerolled := regexp.MustCompile(`(?m)^facilityd_energy_rollup_rerolled_days_total ([1-9][0-9]*)$`)
	waitFor(t, 60*time.Second, "the changed day rolled again", func() bool { return rerolled.MatchString(scrape(t, httpAddr)) })
	waitFor(t, 30*time.Second, "the rows to hold the late reading", func() bool {
		stale, err := rolled.Stale(t.Context(), late.Add(-24*time.Hour), now.Add(-24*time.Hour))
		return err == nil && len(stale) == 0
	})
}

// writeInflux writes line protocol with nanosecond times.
func writeInflux(t *testing.T, inf *testenv.Influxd, body []byte) {
	t.Helper()
	resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=ns", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
}
