package app

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/web"
)

// EnergyToday implements web.EnergyService: the whole hours of today so
// far, each meter's consumption against its stored baseline's prediction.
func (a *app) EnergyToday(ctx context.Context) (web.EnergyToday, error) {
	er := a.currentEnergy()
	if er == nil {
		return web.EnergyToday{}, web.ErrNoEnergy
	}
	return er.today(ctx, a.now())
}

// today compares [midnight, the last whole hour) of now's day in the
// site's zone. An hour counts when it was read and, with a model, when the
// model predicts it (an hourly model needs the hour's temperature); both
// sums run over the same hours, so they compare. A daily model predicts the
// day from the mean temperature of its hours so far, shared out evenly over
// the day's hours, as the energy report shares a partial day.
func (er *energyRunner) today(ctx context.Context, now time.Time) (web.EnergyToday, error) {
	loc := er.zone()
	l := now.In(loc)
	from := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	to := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
	out := web.EnergyToday{From: from, To: to, Zone: loc.String()}
	if !to.After(from) {
		return out, nil // the day's first hour is not over
	}
	rep, err := er.usage.Consumption(ctx, usage.Query{From: from, To: to, Interval: usage.Hour, Zone: loc})
	if err != nil {
		return out, fmt.Errorf("consumption today: %w", err)
	}
	var temps []baseline.TempReading
	var tempErr error
	if er.energy.Temperature != "" {
		temps, tempErr = er.temperatures(ctx, from, to)
	}
	dayHours := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc).Sub(from).Hours()
	for _, u := range rep.Meters {
		m := web.EnergyTodayMeter{Meter: u.Meter, Device: u.Device, Category: string(u.Category), Parent: u.Parent, Unit: u.Unit}
		readings := make([]baseline.Reading, len(u.Slots))
		for i, s := range u.Slots {
			readings[i] = baseline.Reading{Start: s.Start, Usage: s.Amount}
			if s.Samples == 0 {
				readings[i].Usage = math.NaN()
			}
		}
		hours := baseline.HourlyTable(readings, temps, fuelOf(&usage.Meter{Category: u.Category}), loc, from, to)
		b := er.store.get(u.Meter)
		var model *baseline.Model
		switch {
		case b == nil:
			m.Error = "not fitted yet"
		case b.Model == nil:
			m.Error = b.Error
		case b.Model.Kind != baseline.KindTOW && tempErr != nil:
			m.Error = tempErr.Error()
		default:
			model = b.Model
			m.Kind, m.FitForAlarms = string(model.Kind), model.FitForAlarms
		}
		predict := func(h baseline.Hour) float64 { return model.Predict(h.Start, h.Temp) }
		if model != nil && model.Kind == baseline.KindDaily {
			var sum float64
			n := 0
			for _, h := range hours {
				if !math.IsNaN(h.Temp) {
					sum, n = sum+h.Temp, n+1
				}
			}
			day := math.NaN()
			if n > 0 {
				day = model.Predict(from, sum/float64(n))
			}
			predict = func(baseline.Hour) float64 { return day / dayHours }
		}
		var predicted float64
		for _, h := range hours {
			if math.IsNaN(h.Usage) {
				continue
			}
			p := 0.0
			if model != nil {
				if p = predict(h); math.IsNaN(p) {
					continue
				}
			}
			m.Measured += h.Usage
			predicted += p
			m.Hours++
		}
		if model != nil {
			m.Predicted, m.DiffPct = &predicted, diffPct(m.Measured, predicted)
		}
		out.Meters = append(out.Meters, m)
	}
	out.Categories = todayCategories(out.Meters)
	return out, nil
}

// todayCategories sums the meters with a prediction per category, leaving
// out those whose parent meter is among the meters.
func todayCategories(ms []web.EnergyTodayMeter) []web.EnergyTodayCategory {
	in := map[string]bool{}
	for _, m := range ms {
		in[m.Meter] = true
	}
	var out []web.EnergyTodayCategory
	for _, m := range ms {
		if m.Predicted == nil || m.Parent != "" && in[m.Parent] {
			continue
		}
		i := slices.IndexFunc(out, func(c web.EnergyTodayCategory) bool { return c.Category == m.Category })
		if i < 0 {
			i = len(out)
			out = append(out, web.EnergyTodayCategory{Category: m.Category, Unit: m.Unit})
		}
		c := &out[i]
		c.Meters++
		c.Measured += m.Measured
		c.Predicted += *m.Predicted
	}
	for i := range out {
		out[i].DiffPct = diffPct(out[i].Measured, out[i].Predicted)
	}
	slices.SortFunc(out, func(x, y web.EnergyTodayCategory) int { return strings.Compare(x.Category, y.Category) })
	return out
}

// diffPct is how far measured is above predicted, in percent; nil when
// nothing is predicted (a water meter's night: a percentage of zero, or of
// the rounding error of a mean of zeros, says nothing).
func diffPct(measured, predicted float64) *float64 {
	if !(predicted > 1e-9) {
		return nil
	}
	d := 100 * (measured - predicted) / predicted
	return &d
}
