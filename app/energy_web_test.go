package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/web"
)

// The building of TestEnergyTodayAndCost: an electricity meter whose
// hourly use depends on the hour of the week, and a water meter at a
// constant flow; today both use more than the weeks before. Its gas meter
// has a daily degree-day model: each day's gas follows that day's outdoor
// temperature (gasM3PerDay), most of it burnt in the morning; yesterday it
// burnt a quarter more, today as usual.
const (
	todayElectricityFactor = 1.5
	todayWaterFactor       = 2.0
	waterM3PerHour         = 0.2
	yesterdayGasFactor     = 1.25
)

// outdoorC is the day's outdoor temperature, the same all day (in °C).
func outdoorC(t time.Time) float64 {
	l := t.In(shanghai)
	return 2 + 2*float64((l.YearDay()*5)%9)
}

// gasM3PerDay is a day's gas at its outdoor temperature.
func gasM3PerDay(t time.Time) float64 { return 6 + 0.8*math.Max(0, 16-outdoorC(t)) }

// gasM3PerHour shares the day's gas out: hours 6–9 burn twice the others.
func gasM3PerHour(t time.Time) float64 {
	w := 1.0
	if h := t.In(shanghai).Hour(); h >= 6 && h < 10 {
		w = 2
	}
	return gasM3PerDay(t) * w / 28
}

// electricityKWhPerHour is the electricity meter's use in the hour of t
// (in Shanghai): distinct for every hour of the week, higher in the day.
func electricityKWhPerHour(t time.Time) float64 {
	l := t.In(shanghai)
	how := (int(l.Weekday())+6)%7*24 + l.Hour()
	v := 1 + 0.01*float64(how)
	if l.Hour() >= 8 && l.Hour() < 20 {
		v += 2
	}
	return v
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// TestEnergyTodayAndCost runs the daemon, on a fixed clock, over 40 days
// of quarter-hour counter readings written straight into a real influxd,
// and checks GET /api/v1/energy/today (each meter's time-of-week baseline,
// fitted by the daemon, against today so far) and GET
// /api/v1/energy/consumption?cost=true (this month at a time-of-use tariff)
// against sums computed here from the written readings and the tariff.
func TestEnergyTodayAndCost(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	now := time.Date(2026, 11, 18, 15, 40, 0, 0, shanghai) // a Wednesday
	midnight := time.Date(2026, 11, 18, 0, 0, 0, 0, shanghai)
	monthStart := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)

	// Each reading adds the quarter hour's use to the counter; the usage
	// engine counts a rise in the slot of the reading that shows it.
	type reading struct {
		t             time.Time
		kwh, m3       float64 // what the reading adds
		counterKWh, m float64
	}
	var rs []reading
	var lines []string
	kwhCounter, m3Counter, gasCounter := 1000.0, 50.0, 300.0
	yesterday := midnight.AddDate(0, 0, -1)
	for ts := now.AddDate(0, 0, -40).Truncate(15 * time.Minute); !ts.After(now); ts = ts.Add(15 * time.Minute) {
		e, w, g := electricityKWhPerHour(ts)/4, waterM3PerHour/4, gasM3PerHour(ts)/4
		if !ts.Before(midnight) {
			e, w = e*todayElectricityFactor, w*todayWaterFactor
		} else if !ts.Before(yesterday) {
			g *= yesterdayGasFactor
		}
		kwhCounter += e
		m3Counter += w
		gasCounter += g
		rs = append(rs, reading{ts, e, w, kwhCounter, m3Counter})
		lines = append(lines,
			fmt.Sprintf("energy_meter,site=test-site,device=meter-1 import_energy=%.6f %d", kwhCounter, ts.Unix()),
			fmt.Sprintf("water_meter,site=test-site,device=water-1 total_volume=%.6f %d", m3Counter, ts.Unix()),
			fmt.Sprintf("gas_meter,site=test-site,device=gas-1 total_volume=%.6f %d", gasCounter, ts.Unix()),
			fmt.Sprintf("weather_station,site=test-site,device=weather-1 outdoor_temperature=%.2f %d", outdoorC(ts), ts.Unix()))
	}
	writeLineProtocol(t, influx, lines)

	cfg, httpAddr, _ := siteConfig(t, influx, "test-site", `http: {listen: "{http}"}
devices:
  - {id: meter-1, profile: energy_meter, modbus: {address: "{dead}", unit_id: 1, interval: 1m, timeout: 200ms}}
  - {id: water-1, profile: water_meter, modbus: {address: "{dead}", unit_id: 2, interval: 1m, timeout: 200ms}}
  - {id: gas-1, profile: gas_meter, modbus: {address: "{dead}", unit_id: 3, interval: 1m, timeout: 200ms}}
  - {id: weather-1, profile: weather_station, modbus: {address: "{dead}", unit_id: 4, interval: 1m, timeout: 200ms}}
energy:
  temperature: weather-1.outdoor_temperature
  baseline: {model: tow, models: {gas: daily}, window: 28d, refit: "0 3 * * *"}
  meters:
    - {id: electricity-main, device: meter-1, counter: import_energy, category: electricity, poll_interval: 15m}
    - {id: water-main, device: water-1, counter: total_volume, category: water, poll_interval: 15m}
    - {id: gas-main, device: gas-1, counter: total_volume, category: gas, poll_interval: 15m}
tariffs:
  currency: CNY
  electricity:
    - from: 2025-01-01
      bands:
        - {band: peak, hours: ["08:00-20:00"], price: 1.0}
        - {band: valley, hours: ["20:00-08:00"], price: 0.5}
  water:
    - {from: 2025-01-01, price: 5.8}
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), Now: func() time.Time { return now }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("daemon did not stop within 15 s")
		}
	})
	base := "http://" + httpAddr
	var bs struct{ Baselines []web.EnergyBaseline }
	waitUntil(t, 60*time.Second, "the three baselines fitted", func() bool {
		if fetchJSON(base+"/api/v1/energy/baselines", &bs) != http.StatusOK || len(bs.Baselines) != 3 {
			return false
		}
		for _, b := range bs.Baselines {
			if b.Model == nil {
				return false
			}
		}
		return true
	})

	// Today: the whole hours 00:00 … 15:00. The baseline is the mean of
	// each hour of the week over the 28 days that end a week before today
	// (every week alike), so it predicts the weeks' use of each hour.
	var today web.EnergyToday
	if code := fetchJSON(base+"/api/v1/energy/today", &today); code != http.StatusOK {
		t.Fatalf("today: %d", code)
	}
	wantKWh, wantPredKWh := 0.0, 0.0
	for h := midnight; h.Before(midnight.Add(15 * time.Hour)); h = h.Add(time.Hour) {
		wantKWh += electricityKWhPerHour(h) * todayElectricityFactor
		wantPredKWh += electricityKWhPerHour(h)
	}
	want := map[string][2]float64{
		"electricity-main": {wantKWh, wantPredKWh},
		"water-main":       {15 * waterM3PerHour * todayWaterFactor, 15 * waterM3PerHour},
	}
	if !today.From.Equal(midnight) || !today.To.Equal(midnight.Add(15*time.Hour)) || len(today.Meters) != 3 {
		t.Fatalf("today: %v … %v, %d meters; want %v … 15:00, 3", today.From, today.To, len(today.Meters), midnight)
	}
	if !today.Yesterday.From.Equal(yesterday) || !today.Yesterday.To.Equal(midnight) {
		t.Errorf("yesterday: %v … %v, want %v … %v", today.Yesterday.From, today.Yesterday.To, yesterday, midnight)
	}
	// Yesterday, whole: electricity and water as the weeks before, so as
	// predicted hour by hour; gas a quarter over its daily model's
	// prediction at yesterday's temperature.
	var gasModel *baseline.Model
	for _, b := range bs.Baselines {
		if js, _ := json.Marshal(b.Model); b.Meter == "gas-main" && json.Unmarshal(js, &gasModel) != nil {
			t.Fatalf("gas-main's model: %s", js)
		}
	}
	if gasModel == nil || gasModel.Kind != baseline.KindDaily {
		t.Fatalf("gas-main's model: %+v, want a daily one", gasModel)
	}
	yKWh := 0.0
	for h := yesterday; h.Before(midnight); h = h.Add(time.Hour) {
		yKWh += electricityKWhPerHour(h)
	}
	yGas := yesterdayGasFactor * gasM3PerDay(yesterday)
	yGasPred := gasModel.Predict(yesterday, outdoorC(yesterday))
	wantY := map[string][2]float64{
		"electricity-main": {yKWh, yKWh},
		"water-main":       {24 * waterM3PerHour, 24 * waterM3PerHour},
		"gas-main":         {yGas, yGasPred},
	}
	for _, m := range today.Meters {
		y, w := m.Yesterday, wantY[m.Meter]
		if y == nil || y.Predicted == nil || y.DiffPct == nil || y.Hours != 24 || !near(y.Measured, w[0]) || !near(*y.Predicted, w[1]) || !near(*y.DiffPct, 100*(w[0]-w[1])/w[1]) {
			t.Errorf("%s yesterday: %+v; want %v against %v over 24 hours", m.Meter, y, w[0], w[1])
			continue
		}
		if m.Meter != "gas-main" {
			continue
		}
		// Today the gas meter has no prediction over the hours so far: its
		// model predicts whole days; the day's is context. (Shared out
		// evenly, 15 of its 24 hours would stand against the morning's
		// burn, a difference where nothing is wrong.)
		gasSoFar := 0.0
		for h := midnight; h.Before(midnight.Add(15 * time.Hour)); h = h.Add(time.Hour) {
			gasSoFar += gasM3PerHour(h)
		}
		dayPred := gasModel.Predict(midnight, outdoorC(midnight))
		if m.Compared != "days" || m.Kind != "daily" || m.Predicted != nil || m.DiffPct != nil || m.DayPredicted == nil || !near(*m.DayPredicted, dayPred) ||
			m.Hours != 15 || !near(m.Measured, gasSoFar) {
			t.Errorf("gas-main today: %+v (day predicted %v); want %v so far over 15 hours, no prediction but the day's %v", m, ptr(m.DayPredicted), gasSoFar, dayPred)
		}
	}
	for _, m := range today.Meters {
		if m.Meter == "gas-main" {
			continue
		}
		w := want[m.Meter]
		if m.Predicted == nil || m.Hours != 15 || !near(m.Measured, w[0]) || !near(*m.Predicted, w[1]) || m.Kind != "tow" || m.Compared != "hours" {
			t.Errorf("%s today: measured %v predicted %v over %d hours (%s, %q); want %v and %v over 15",
				m.Meter, m.Measured, ptr(m.Predicted), m.Hours, m.Kind, m.Error, w[0], w[1])
		}
	}
	// Today's categories sum the hourly meters only: no gas row.
	if len(today.Categories) != 2 {
		t.Fatalf("today's categories: %+v", today.Categories)
	}
	for _, c := range today.Categories {
		w, pct := want["electricity-main"], 100*(todayElectricityFactor-1)
		if c.Category == "water" {
			w, pct = want["water-main"], 100*(todayWaterFactor-1)
		}
		if c.Meters != 1 || !near(c.Measured, w[0]) || !near(c.Predicted, w[1]) || c.DiffPct == nil || !near(*c.DiffPct, pct) {
			t.Errorf("today's %s: %+v (diff %v); want %v against %v, %+.0f %%", c.Category, c, ptr(c.DiffPct), w[0], w[1], pct)
		}
	}
	// Yesterday's sum every meter, gas included.
	if len(today.Yesterday.Categories) != 3 {
		t.Fatalf("yesterday's categories: %+v", today.Yesterday.Categories)
	}
	for _, c := range today.Yesterday.Categories {
		w := wantY[c.Category+"-main"]
		if c.Meters != 1 || !near(c.Measured, w[0]) || !near(c.Predicted, w[1]) || c.DiffPct == nil || !near(*c.DiffPct, 100*(w[0]-w[1])/w[1]) {
			t.Errorf("yesterday's %s: %+v (diff %v); want %v against %v", c.Category, c, ptr(c.DiffPct), w[0], w[1])
		}
	}

	// This month: 1 November 00:00 up to now rounded down to the quarter
	// hour, each reading's quarter hour at the band price of its hour.
	end := time.Date(2026, 11, 18, 15, 30, 0, 0, shanghai)
	var kwh, kwhCost, m3 float64
	for _, r := range rs {
		if r.t.Before(monthStart) || !r.t.Before(end) {
			continue
		}
		price := 0.5
		if h := r.t.In(shanghai).Hour(); h >= 8 && h < 20 {
			price = 1.0
		}
		kwh, kwhCost, m3 = kwh+r.kwh, kwhCost+r.kwh*price, m3+r.m3
	}
	q := url.Values{"from": {monthStart.Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}, "interval": {"1d"}, "cost": {"true"}}
	var month struct {
		Meters []struct{ Meter string }
		Cost   web.EnergyCost
	}
	if code := fetchJSON(base+"/api/v1/energy/consumption?"+q.Encode(), &month); code != http.StatusOK || len(month.Meters) != 3 {
		t.Fatalf("consumption with cost: %d, %d meters", code, len(month.Meters))
	}
	c := month.Cost
	if c.Error != "" || c.Currency != "CNY" || !c.Partial || !c.To.Equal(end) || len(c.Categories) != 3 || len(c.Meters) != 3 {
		t.Fatalf("cost: %+v; want CNY, partial, up to %v, 3 categories and 3 meters", c, end)
	}
	for _, a := range c.Categories {
		wq, wc := kwh, kwhCost
		switch a.Category {
		case "water":
			wq, wc = m3, m3*5.8
		case "gas": // no tariff
			continue
		}
		if !near(a.Quantity, wq) || !near(a.Cost, wc) || !near(a.EnergyCost, wc) || !a.Billed {
			t.Errorf("cost of %s: %+v; want %v for %v", a.Category, a, wq, wc)
		}
	}
	if code := fetchJSON(base+"/api/v1/energy/consumption?cost=true&meter=water-main&"+q.Encode(), nil); code != http.StatusBadRequest {
		t.Errorf("cost of one meter: %d, want 400 (cost is per category)", code)
	}
	if code := fetchJSON(base+"/api/v1/energy/consumption?"+strings.Replace(q.Encode(), "cost=true", "cost=maybe", 1), nil); code != http.StatusBadRequest {
		t.Errorf("cost=maybe: %d, want 400", code)
	}
	var plain map[string]any
	if fetchJSON(base+"/api/v1/energy/consumption?"+strings.Replace(q.Encode(), "cost=true", "cost=false", 1), &plain); plain["cost"] != nil || plain["meters"] == nil {
		t.Errorf("cost=false: the report has a cost, or no meters: %v", plain["cost"])
	}
}

// writeLineProtocol posts line protocol (seconds) to influxd's v1 API.
func writeLineProtocol(t testing.TB, inf *testenv.Influxd, lines []string) {
	t.Helper()
	for len(lines) > 0 {
		n := min(len(lines), 5000)
		resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=s", "text/plain", strings.NewReader(strings.Join(lines[:n], "\n")))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("write: %s: %s", resp.Status, msg)
		}
		lines = lines[n:]
	}
}

// fetchJSON GETs u and decodes a 200's body into v (when not nil).
func fetchJSON(u string, v any) int {
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if json.NewDecoder(resp.Body).Decode(v) != nil {
			return -1
		}
	}
	return resp.StatusCode
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
