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
// far, each meter's consumption against its stored baseline's prediction,
// and yesterday's whole day.
func (a *app) EnergyToday(ctx context.Context) (web.EnergyToday, error) {
	er := a.currentEnergy()
	if er == nil {
		return web.EnergyToday{}, web.ErrNoEnergy
	}
	return er.today(ctx, a.now())
}

// today compares [midnight, the last whole hour) of now's day in the
// site's zone, and the whole day before. An hour counts when it was read
// and, with a model, when the model predicts it (an hourly model needs the
// hour's temperature); both sums run over the same hours, so they compare.
//
// A daily model predicts whole days only: shared out evenly over the
// hours it would mislead (gas at night is well under a 24th of its day),
// so today such a meter has no prediction over the hours so far, only the
// whole day's (DayPredicted, from the mean temperature of its hours so
// far) as context; it compares on yesterday, when every hour of it was
// read. Today's categories thus sum the hourly and time-of-week meters
// only (DailyMeters counts those left out); yesterday's sum every meter
// compared.
func (er *energyRunner) today(ctx context.Context, now time.Time) (web.EnergyToday, error) {
	loc := er.zone()
	l := now.In(loc)
	from := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	to := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
	yFrom := time.Date(l.Year(), l.Month(), l.Day()-1, 0, 0, 0, 0, loc)
	out := web.EnergyToday{From: from, To: to, Zone: loc.String(), Yesterday: web.EnergyTodayYesterday{From: yFrom, To: from}}
	rep, err := er.usage.Consumption(ctx, usage.Query{From: yFrom, To: to, Interval: usage.Hour, Zone: loc})
	if err != nil {
		return out, fmt.Errorf("consumption today: %w", err)
	}
	var temps []baseline.TempReading
	var tempErr error
	if er.energy.Temperature != "" {
		temps, tempErr = er.temperatures(ctx, yFrom, to)
	}
	for _, u := range rep.Meters {
		m := web.EnergyTodayMeter{Meter: u.Meter, Device: u.Device, Category: string(u.Category), Parent: u.Parent, Unit: u.Unit}
		readings := make([]baseline.Reading, len(u.Slots))
		for i, s := range u.Slots {
			readings[i] = baseline.Reading{Start: s.Start, Usage: s.Amount}
			if s.Samples == 0 {
				readings[i].Usage = math.NaN()
			}
		}
		fuel := fuelOf(&usage.Meter{Category: u.Category})
		hours := baseline.HourlyTable(readings, temps, fuel, loc, yFrom, to)
		split := min(len(hours), int(from.Sub(yFrom)/time.Hour)) // yesterday's 23, 24 or 25 hours
		yHours, tHours := hours[:split], hours[split:]
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
		y := &web.EnergyTodayPeriod{Error: m.Error}
		if model != nil && model.Kind == baseline.KindDaily {
			m.Compared = "days"
			m.Measured, _, m.Hours = sumHours(tHours, nil)
			if day := model.Predict(from, meanTemp(tHours)); !math.IsNaN(day) && len(tHours) > 0 {
				m.DayPredicted = &day
			}
			y.Measured, _, y.Hours = sumHours(yHours, nil)
			switch day := model.Predict(yFrom, meanTemp(yHours)); {
			case y.Hours < len(yHours):
				y.Error = fmt.Sprintf("daily model: yesterday was read for %d of its %d hours, not compared", y.Hours, len(yHours))
			case math.IsNaN(day):
				y.Error = "daily model: no temperature yesterday"
			default:
				y.Predicted, y.DiffPct = &day, diffPct(y.Measured, day)
			}
		} else {
			var predict func(baseline.Hour) float64
			if model != nil {
				m.Compared = "hours"
				predict = func(h baseline.Hour) float64 { return model.Predict(h.Start, h.Temp) }
			}
			var p, yp float64
			m.Measured, p, m.Hours = sumHours(tHours, predict)
			y.Measured, yp, y.Hours = sumHours(yHours, predict)
			if model != nil {
				m.Predicted, m.DiffPct = &p, diffPct(m.Measured, p)
				y.Predicted, y.DiffPct = &yp, diffPct(y.Measured, yp)
			}
		}
		m.Yesterday = y
		out.Meters = append(out.Meters, m)
	}
	out.Categories = todayCategories(out.Meters, func(m web.EnergyTodayMeter) (float64, *float64) { return m.Measured, m.Predicted })
	out.Yesterday.Categories = todayCategories(out.Meters, func(m web.EnergyTodayMeter) (float64, *float64) {
		return m.Yesterday.Measured, m.Yesterday.Predicted
	})
	return out, nil
}

// sumHours sums the hours read and, with predict, the prediction of those
// it predicts (only those count then), and counts the hours summed.
func sumHours(hours []baseline.Hour, predict func(baseline.Hour) float64) (measured, predicted float64, n int) {
	for _, h := range hours {
		if math.IsNaN(h.Usage) {
			continue
		}
		if predict != nil {
			p := predict(h)
			if math.IsNaN(p) {
				continue
			}
			predicted += p
		}
		measured += h.Usage
		n++
	}
	return measured, predicted, n
}

// meanTemp is the mean temperature of the hours that have one, NaN when
// none has.
func meanTemp(hours []baseline.Hour) float64 {
	var sum float64
	n := 0
	for _, h := range hours {
		if !math.IsNaN(h.Temp) {
			sum, n = sum+h.Temp, n+1
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// todayCategories sums, per category, the meters that have a prediction
// in the period of get (today's so far or yesterday's), leaving out those
// whose parent meter is among the meters. DailyMeters counts the meters
// with a daily model left out for having none (today's).
func todayCategories(ms []web.EnergyTodayMeter, get func(web.EnergyTodayMeter) (float64, *float64)) []web.EnergyTodayCategory {
	in := map[string]bool{}
	for _, m := range ms {
		in[m.Meter] = true
	}
	var out []web.EnergyTodayCategory
	row := func(cat, unit string) *web.EnergyTodayCategory {
		i := slices.IndexFunc(out, func(c web.EnergyTodayCategory) bool { return c.Category == cat })
		if i < 0 {
			i = len(out)
			out = append(out, web.EnergyTodayCategory{Category: cat, Unit: unit})
		}
		return &out[i]
	}
	for _, m := range ms {
		if m.Parent != "" && in[m.Parent] {
			continue
		}
		measured, predicted := get(m)
		if predicted == nil {
			continue
		}
		c := row(m.Category, m.Unit)
		c.Meters++
		c.Measured += measured
		c.Predicted += *predicted
	}
	for _, m := range ms {
		if m.Parent != "" && in[m.Parent] {
			continue
		}
		if _, predicted := get(m); predicted == nil && m.Compared == "days" {
			if i := slices.IndexFunc(out, func(c web.EnergyTodayCategory) bool { return c.Category == m.Category }); i >= 0 {
				out[i].DailyMeters++
			}
		}
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
