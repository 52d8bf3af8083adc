package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/portfolio"
	"github.com/facilityd/facilityd/store"
)

// expectedTemp is the synthetic outdoor temperature at t: a daily swing
// around a seasonal mean.
func expectedTemp(t time.Time) float64 {
	day := float64(t.Unix()) / 86400
	return 12 + 10*math.Sin(2*math.Pi*day/365) + 4*math.Sin(2*math.Pi*day)
}

// TestPublishExpected fits two gate-passing baselines on a synthetic year,
// a time-of-week profile (meter main) and a daily degree-day model (meter
// heat), has the energy check's publisher write their expectations into a
// real influxd through the daemon's writer, and reads them back: one point
// per whole past hour of the lookback for main and one per whole past day
// for heat, each equal to the model's own Predict (the daily one at the
// day's mean temperature, computed here from the temperatures); a second
// runner (a restart) writes the lookback again and the points do not
// double. A day without its temperature yet is written by the next check
// once it has come. A meter whose baseline is unfit gets none.
func TestPublishExpected(t *testing.T) {
	// The portfolio reads what is written here.
	if ExpectedMeasurement != portfolio.ExpectedMeasurement || ExpectedSuffix != portfolio.ExpectedSuffix || ExpectedHoursSuffix != portfolio.ExpectedHoursSuffix {
		t.Fatalf("the portfolio reads %s.*%s/%s, the daemon writes %s.*%s/%s", portfolio.ExpectedMeasurement, portfolio.ExpectedSuffix,
			portfolio.ExpectedHoursSuffix, ExpectedMeasurement, ExpectedSuffix, ExpectedHoursSuffix)
	}
	if testing.Short() {
		t.Skip("needs influxd")
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	trainTo := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	trainFrom := trainTo.AddDate(-1, 0, 0)
	now := trainTo.AddDate(0, 0, 10).Add(13*time.Hour + 25*time.Minute)
	var office, heat []baseline.Reading
	var temps []baseline.TempReading
	for h := trainFrom; h.Before(now); h = h.Add(time.Hour) {
		wiggle := 0.3 * math.Sin(float64(h.Unix())/7e3)
		u := 20 + wiggle
		if l := h.In(loc); l.Weekday() != time.Sunday && l.Hour() >= 8 && l.Hour() < 19 {
			u += 30
		}
		office = append(office, baseline.Reading{Start: h, Usage: u})
		heat = append(heat, baseline.Reading{Start: h, Usage: 2 + 0.4*math.Max(0, 15-expectedTemp(h)) + wiggle/10})
		temps = append(temps, baseline.TempReading{Time: h, Temp: expectedTemp(h)})
	}
	tow, err := baseline.FitTOW(office, baseline.Electricity, loc, trainFrom, trainTo, nil)
	if err != nil || !tow.FitForAlarms {
		t.Fatalf("tow: %v %v", err, tow.Reasons)
	}
	daily, err := baseline.FitDaily(heat, temps, loc, trainFrom, trainTo, baseline.DailyOptions{Fuel: baseline.Electricity, TempUnit: baseline.Celsius})
	if err != nil || !daily.FitForAlarms {
		t.Fatalf("daily: %v %+v", err, daily)
	}
	unfit := *tow
	unfit.FitForAlarms = false
	// A decoded model, as the daemon holds it after a restart.
	decode := func(m *baseline.Model) *baseline.Model {
		data, _ := json.Marshal(m)
		var out baseline.Model
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	tow, daily = decode(tow), decode(daily)
	meters := []*usage.Meter{
		{ID: "main", Device: "meter-1", Counter: "import_energy"},
		{ID: "heat", Device: "meter-2", Counter: "import_energy"},
		{ID: "spare", Device: "meter-3", Counter: "import_energy"},
	}
	bs := &baselineStore{all: map[string]*storedBaseline{
		"main":  {Meter: "main", Model: tow},
		"heat":  {Meter: "heat", Model: daily},
		"spare": {Meter: "spare", Model: &unfit},
	}}

	influx := testenv.StartInfluxd(t)
	icfg := store.Config{URL: influx.URL, Bucket: influx.Bucket, FlushInterval: 100 * time.Millisecond}
	w, err := store.NewWriter(icfg, store.WriterOptions{Tags: func(string) map[string]string { return map[string]string{"site": "tower-a"} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go w.Run(ctx)
	a := &app{log: slog.New(slog.DiscardHandler), writer: w}
	runner := func() *energyRunner {
		return &energyRunner{a: a, cfg: &config.Config{Zone: loc}, usage: usage.NewEngine(nil, &usage.Config{Meters: meters}), store: bs}
	}
	// The check's temperatures: the lookback and the hour before.
	to := now.Truncate(time.Hour)
	var checkTemps []baseline.TempReading
	for _, tr := range temps {
		if !tr.Time.Before(to.Add(-energyLookback-time.Hour)) && tr.Time.Before(to) {
			checkTemps = append(checkTemps, tr)
		}
	}
	q, err := store.NewQuerier(icfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	type row struct {
		expected     float64
		hours        int64
		model, unit  string
		device, site string
	}
	read := func() map[string]map[int64]row {
		out := map[string]map[int64]row{}
		err := q.QueryInfluxQL(ctx, `SELECT import_energy_expected, import_energy_hours, import_energy_model, import_energy_unit FROM energy_expected GROUP BY device, site`, func(s store.InfluxQLSeries) error {
			for _, v := range s.Values {
				ts, _ := influxQLTime(v[0])
				x, _ := influxQLFloat(v[1])
				h, _ := v[2].(json.Number).Int64()
				if out[s.Tags["device"]] == nil {
					out[s.Tags["device"]] = map[int64]row{}
				}
				out[s.Tags["device"]][ts.Unix()] = row{x, h, fmt.Sprint(v[3]), fmt.Sprint(v[4]), s.Tags["device"], s.Tags["site"]}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	waitWritten := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); w.Stats().Written < n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("writer: %+v, want %d written", w.Stats(), n)
			}
		}
	}

	// The first check has no temperature of 29 Nov yet (the weather
	// station's readings are late): heat's day is not written then, and
	// the next check writes it, and nothing else again.
	r := runner()
	late := time.Date(2026, 11, 29, 0, 0, 0, 0, loc)
	var early []baseline.TempReading
	for _, tr := range checkTemps {
		if tr.Time.Before(late) {
			early = append(early, tr)
		}
	}
	r.publishExpected(now, early)
	r.publishExpected(now, checkTemps)
	wantHours := int(energyLookback / time.Hour)
	// The lookback is from 23 Nov 13:00: its whole days are 24 to 29 Nov
	// (30 Nov is not over).
	dayFrom, wantDays := time.Date(2026, 11, 24, 0, 0, 0, 0, loc), 6
	waitWritten(int64(4 * (wantHours + wantDays)))
	if st := w.Stats(); st.Accepted != int64(4*(wantHours+wantDays)) {
		t.Errorf("accepted %d samples, want %d: the second check wrote again what the first had", st.Accepted, 4*(wantHours+wantDays))
	}
	check := func(when string) {
		t.Helper()
		got := read()
		if len(got["meter-3"]) != 0 {
			t.Errorf("%s: the unfit baseline's meter has %d expectations", when, len(got["meter-3"]))
		}
		main, heatRows := got["meter-1"], got["meter-2"]
		if len(main) != wantHours || len(heatRows) != wantDays {
			t.Fatalf("%s: %d hourly and %d daily points, want %d and %d", when, len(main), len(heatRows), wantHours, wantDays)
		}
		for h := to.Add(-energyLookback); h.Before(to); h = h.Add(time.Hour) {
			p, ok := main[h.Unix()]
			if want := tow.Predict(h, math.NaN()); !ok || math.Abs(p.expected-want) > 1e-9 || p.hours != 1 || p.model != baseline.TOWProfile || p.unit != "kWh" || p.site != "tower-a" {
				t.Fatalf("%s: main at %s: %+v (%v), want %v kWh over 1 h by tow at tower-a", when, h, p, ok, want)
			}
		}
		for d := dayFrom; d.Before(dayFrom.AddDate(0, 0, wantDays)); d = d.AddDate(0, 0, 1) {
			var sum float64
			for h := d; h.Before(d.AddDate(0, 0, 1)); h = h.Add(time.Hour) {
				sum += expectedTemp(h)
			}
			p, ok := heatRows[d.Unix()]
			if want := daily.Predict(d, sum/24); !ok || math.Abs(p.expected-want) > 1e-9 || p.hours != 24 || p.model != daily.Model {
				t.Fatalf("%s: heat on %s: %+v (%v), want %v kWh over 24 h by %s", when, d.Format(time.DateOnly), p, ok, want, daily.Model)
			}
		}
	}
	check("first check")
	t.Logf("%d hours of %s and %d days of %s (heating %.3g kWh/°C·day) written and equal to Predict", wantHours, tow.Model, wantDays, daily.Model, daily.BetaHDD)

	// A restart: the new generation writes the lookback again, over the
	// same points.
	runner().publishExpected(now, checkTemps)
	waitWritten(int64(8 * (wantHours + wantDays)))
	check("after a restart")
}
