package app

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/rules"
)

// TestDetectGate: a baseline that fails the Guideline 14 gate raises no
// alarm however far the meter is above it — except the water leak check,
// which needs no fit model.
func TestDetectGate(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	from := time.Date(2025, 11, 1, 0, 0, 0, 0, loc)
	split := from.AddDate(0, 0, 365)
	end := split.AddDate(0, 0, 7)
	var meter []baseline.Reading
	for h := range int(end.Sub(from).Hours()) {
		u := 10 + math.Sin(float64(h)*0.7)
		if l := from.Add(time.Duration(h) * time.Hour); l.Hour() < 6 {
			u = 0 // still nights
		}
		meter = append(meter, baseline.Reading{Start: from.Add(time.Duration(h) * time.Hour), Usage: u})
	}
	m, err := baseline.FitTOW(meter, baseline.Water, loc, from, split, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last week: a leak of 5 an hour, night and day, and 3× the use.
	for i := range meter {
		if !meter[i].Start.Before(split) {
			meter[i].Usage = meter[i].Usage*3 + 5
		}
	}
	in := &energyInputs{fuel: baseline.Water, loc: loc, to: end, hours: baseline.HourlyTable(meter, nil, baseline.Water, loc, split, end)}
	residual := &rules.Rule{Name: "water_overuse", Kind: rules.KindEnergy, Energy: &rules.EnergySpec{Detector: rules.DetectResidual}}
	leak := &rules.Rule{Name: "water_leak", Kind: rules.KindEnergy, Energy: &rules.EnergySpec{Detector: rules.DetectLeak}}
	fit := &storedBaseline{Meter: "w", Model: m}
	if !m.FitForAlarms {
		t.Fatalf("the fit model fails the gate: %v", m.Reasons)
	}
	if st, as := detect(residual, fit, in); st != rules.EnergyAnomaly || len(as) == 0 || !(as[0].Excess > 0) {
		t.Errorf("fit model: %s %+v, want an anomaly with an excess", st, as)
	}
	unfit := *m
	unfit.FitForAlarms, unfit.Reasons = false, []string{"CV(RMSE) 45 % > 30 %"}
	if st, as := detect(residual, &storedBaseline{Meter: "w", Model: &unfit}, in); st != rules.EnergyUnfit || len(as) != 0 {
		t.Errorf("unfit model: %s %+v, want unfit and no anomaly", st, as)
	}
	if st, as := detect(residual, nil, in); st != rules.EnergyUnfit || len(as) != 0 {
		t.Errorf("no model: %s %+v, want unfit", st, as)
	}
	// The leak check needs no fit model, nor any model.
	for name, b := range map[string]*storedBaseline{"unfit": {Model: &unfit}, "none": nil} {
		st, as := detect(leak, b, in)
		if st != rules.EnergyAnomaly || len(as) == 0 || !(as[len(as)-1].Excess > 0) || math.IsNaN(as[len(as)-1].Excess) {
			t.Errorf("leak on %s model: %s %+v, want an anomaly with an excess", name, st, as)
		}
	}
}

// TestDetectDailyFallback: an office's water, whose hours people decide at
// random, fails the hourly gate, so fitOn replaces the hourly model with
// the daily fallback, fit under the monthly gate: the residual and CUSUM
// rules then watch the meter by the day and find a week of overuse, which
// the hourly model alone would have left unwatched (unfit); the leak check
// still runs on the hourly model kept as the interval model.
func TestDetectDailyFallback(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	from := time.Date(2025, 11, 3, 0, 0, 0, 0, loc) // a Monday
	split := from.AddDate(0, 0, 365)
	end := split.AddDate(0, 0, 7)
	rng := rand.New(rand.NewPCG(3, 5))
	var meter []baseline.Reading
	var temps []baseline.TempReading
	for h := range int(end.Sub(from).Hours()) {
		at := from.Add(time.Duration(h) * time.Hour)
		u := 0.0
		if wd := at.Weekday(); wd != time.Saturday && wd != time.Sunday && at.Hour() >= 8 && at.Hour() < 18 {
			u = 2 * rng.ExpFloat64()
		}
		if !at.Before(split) {
			u = 3*u + 1 // the last week: three times the use, and a leak
		}
		meter = append(meter, baseline.Reading{Start: at, Usage: u})
		temps = append(temps, baseline.TempReading{Time: at, Temp: 15 + 12*math.Sin(2*math.Pi*float64(h)/(365*24))})
	}
	b := &storedBaseline{Meter: "w", Kind: baseline.KindHourly, From: from, To: split}
	if err := b.fitOn(meter, temps, baseline.Water, loc); err != nil {
		t.Fatal(err)
	}
	m, im := b.Model, b.Interval
	if im == nil || im.Kind != baseline.KindHourly || im.FitForAlarms {
		t.Fatalf("interval model %+v: the hourly model was meant to fail its gate and be kept", im)
	}
	t.Logf("hourly %s CV(RMSE) %.1f %% %v → %s %s: daily CV(RMSE) %.1f %%, monthly CV(RMSE) %.1f %% NMBE %.2f %% under %q",
		im.Model, 100*im.CVRMSE, im.Reasons, m.Kind, m.Model, 100*m.CVRMSE, 100*m.Monthly.CVRMSE, 100*m.Monthly.NMBE, m.Gate.Name)
	if m.Kind != baseline.KindDaily || !m.FitForAlarms || m.Gate != baseline.GateMonthly || m.Fallback == nil || m.Fallback.Kind != baseline.KindHourly {
		t.Fatalf("model %s %s fit %v gate %q fallback %+v, want a daily fallback fit for alarms", m.Kind, m.Model, m.FitForAlarms, m.Gate.Name, m.Fallback)
	}
	in := &energyInputs{fuel: baseline.Water, loc: loc, to: end,
		hours: baseline.HourlyTable(meter, temps, baseline.Water, loc, split, end),
		days:  baseline.DailyTable(meter, temps, baseline.Water, loc, split, end)}
	for _, d := range []rules.Detector{rules.DetectResidual, rules.DetectCUSUM} {
		rl := &rules.Rule{Name: "water_" + string(d), Kind: rules.KindEnergy, Energy: &rules.EnergySpec{Detector: d}}
		if st, as := detect(rl, b, in); st != rules.EnergyAnomaly || len(as) == 0 || !(as[len(as)-1].Excess > 0) {
			t.Errorf("%s on the daily fallback: %s %+v, want an anomaly with an excess", d, st, as)
		}
		if st, _ := detect(rl, &storedBaseline{Meter: "w", Model: im}, in); st != rules.EnergyUnfit {
			t.Errorf("%s on the hourly model alone: %s, want unfit", d, st)
		}
	}
	leak := &rules.Rule{Name: "water_leak", Kind: rules.KindEnergy, Energy: &rules.EnergySpec{Detector: rules.DetectLeak}}
	if st, as := detect(leak, b, in); st != rules.EnergyAnomaly || len(as) == 0 {
		t.Errorf("leak on the fallback's interval model: %s %+v, want an anomaly", st, as)
	}
}

// TestStaleOnCalendar: a stored baseline fitted under another calendar
// (or none) is stale, and is fitted again; under the same one, it is kept
// until its schedule — also after a round trip through the baselines file.
func TestStaleOnCalendar(t *testing.T) {
	days, _ := baseline.ParseDays([]string{"2026-10-01..2026-10-07"})
	cal, err := baseline.NewCalendar(days, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := baseline.NewCalendar(days[:3], nil)
	sched, err := cron.ParseStandard("0 3 * * *")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	m := &usage.Meter{ID: "m", Device: "d", Counter: "import_energy", Category: usage.Electricity}
	e := &config.Energy{Baseline: config.EnergyBaseline{Model: baseline.KindHourly, Window: config.DefaultEnergyWindow, Schedule: sched}, Calendar: cal}
	r := &energyRunner{energy: e}
	fitted := func(c *baseline.Calendar) *storedBaseline {
		b := &storedBaseline{Format: baselineFormat, Meter: "m", Device: "d", Point: m.Point(), Kind: baseline.KindHourly,
			Window: e.Baseline.Window.String(), FittedAt: now.Add(-time.Hour), Calendar: c}
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var back storedBaseline
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		return &back
	}
	if r.stale(m, fitted(cal), now) {
		t.Error("fitted under the same calendar: stale")
	}
	for name, c := range map[string]*baseline.Calendar{"none": nil, "another": other} {
		if !r.stale(m, fitted(c), now) {
			t.Errorf("fitted under %s calendar: not stale", name)
		}
	}
	e.Calendar = nil
	if r.stale(m, fitted(nil), now) || !r.stale(m, fitted(cal), now) {
		t.Error("a calendar removed from the config: want a refit of what was fitted under it, and only that")
	}
}
