package baseline

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// officeWater is a year of an office's hourly water use from from: flow on
// working hours of weekdays only, each hour drawn at random around its
// mean (people, not the weather, decide it), so that no hourly model meets
// the hourly gate while the days, which sum many hours, are steady.
func officeWater(from time.Time, days int) ([]Reading, []TempReading) {
	rng := rand.New(rand.NewPCG(7, 13))
	var meter []Reading
	var temps []TempReading
	for h := range days * 24 {
		t := from.Add(time.Duration(h) * time.Hour)
		l := t.In(from.Location())
		u := 0.0
		if wd := l.Weekday(); wd != time.Saturday && wd != time.Sunday && l.Hour() >= 8 && l.Hour() < 18 {
			u = 2 * rng.ExpFloat64() // CV 100 % an hour
		}
		meter = append(meter, Reading{Start: t, Usage: u})
		temps = append(temps, TempReading{Time: t, Temp: 15 + 12*math.Sin(2*math.Pi*float64(h)/(365*24))})
	}
	return meter, temps
}

// TestFitDailyFallback: an hourly and a time-of-week model of the office's
// water fail the hourly gate; the daily fallback is a day-of-week profile
// (it explains the days better than any CalTRACK daily model, which sees
// no weather in them), fit for alarms under the monthly gate on
// calendar-month totals, and it records the model it replaces.
func TestFitDailyFallback(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 365)
	meter, temps := officeWater(from, 365)
	hourly, err := FitHourly(meter, temps, loc, from, to, HourlyOptions{Fuel: Water, TempUnit: Celsius})
	if err != nil {
		t.Fatal(err)
	}
	tow, err := FitTOW(meter, Water, loc, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		rejected *Model
		temps    []TempReading
	}{"hourly": {hourly, temps}, "tow": {tow, nil}} {
		r := c.rejected
		if r.FitForAlarms || r.Gate != GateHourly {
			t.Fatalf("%s: fit %v under %s (CV(RMSE) %.3f): the data were meant to fail the hourly gate", name, r.FitForAlarms, r.Gate.Name, r.CVRMSE)
		}
		m, err := FitDailyFallback(r, meter, c.temps, loc, from, to, DailyOptions{TempUnit: Celsius})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s (CV(RMSE) %.1f %%) → %s: daily CV(RMSE) %.1f %%, monthly CV(RMSE) %.1f %% NMBE %.2f %%; %s",
			name, 100*r.CVRMSE, m.Model, 100*m.CVRMSE, 100*m.Monthly.CVRMSE, 100*m.Monthly.NMBE, m.Selection)
		if m.Kind != KindDaily || m.Model != DayOfWeek || !m.FitForAlarms || m.Gate != GateMonthly || m.Monthly == nil || m.Monthly.N != 12 {
			t.Errorf("%s: %s %s fit %v under %q, monthly %+v, reasons %v", name, m.Kind, m.Model, m.FitForAlarms, m.Gate.Name, m.Monthly, m.Reasons)
		}
		if f := m.Fallback; f == nil || f.Kind != r.Kind || f.Gate != GateHourly || len(f.Reasons) == 0 || !strings.Contains(m.Selection, "fallback") {
			t.Errorf("%s: fallback record %+v, selection %q", name, f, m.Selection)
		}
		sat := time.Date(2026, 1, 3, 12, 0, 0, 0, loc) // a Saturday
		if p := m.Predict(sat, math.NaN()); p != 0 {
			t.Errorf("%s: a Saturday predicts %v, want 0", name, p)
		}
		if p, want := m.Predict(sat.AddDate(0, 0, 2), math.NaN()), 20.0; math.Abs(p-want) > 0.1*want {
			t.Errorf("%s: a Monday predicts %v, want about %v (10 hours of 2)", name, p, want)
		}
	}
	fit := *hourly
	fit.FitForAlarms = true
	if _, err := FitDailyFallback(&fit, meter, temps, loc, from, to, DailyOptions{}); err == nil {
		t.Error("a fallback for a model fit for alarms")
	}
}
