package baseline

import (
	"math"
	"time"
)

// FitTOW fits a time-of-week profile — the mean usage of each of the 168
// hours of the week over [from, to) in loc — for a meter without
// temperature. It is held to the Guideline 14 hourly gate. An hour of the
// week never seen takes the mean of all hours, with a warning. Holidays and
// make-up working days of cal (nil: none) count as the day they are kept as.
func FitTOW(meter []Reading, fuel Fuel, loc *time.Location, from, to time.Time, cal *Calendar) (*Model, error) {
	if fuel == "" {
		fuel = Electricity
	}
	hours := HourlyTable(meter, nil, fuel, loc, from, to)
	var sum [hoursPerWeek]float64
	var n [hoursPerWeek]int
	var all float64
	total := 0
	for _, h := range hours {
		if math.IsNaN(h.Usage) {
			continue
		}
		t := cal.hourOfWeek(h.Start)
		sum[t] += h.Usage
		n[t]++
		all += h.Usage
		total++
	}
	if total == 0 {
		return nil, ErrNoData
	}
	suff := hourlySufficiency(hours, false)
	m := &Model{
		Kind: KindTOW, Model: TOWProfile, Fuel: fuel, TimeZone: loc.String(),
		TrainingFrom: hourStart(from, loc), TrainingTo: to,
		Sufficiency: &suff, Warnings: suff.Warnings, loc: loc,
		Profile: make([]float64, hoursPerWeek), Calendar: cal,
	}
	missing := 0
	for t := range m.Profile {
		if n[t] == 0 {
			m.Profile[t] = all / float64(total)
			missing++
			continue
		}
		m.Profile[t] = sum[t] / float64(n[t])
	}
	if missing > 0 {
		m.Warnings = append(m.Warnings, sprintf("%d hours of the week have no data and predict the overall mean", missing))
	}
	var y, yhat []float64
	for _, h := range hours {
		if !math.IsNaN(h.Usage) {
			y = append(y, h.Usage)
			yhat = append(yhat, m.Profile[cal.hourOfWeek(h.Start)])
		}
	}
	m.Stats = fitStats(y, yhat, hoursPerWeek)
	m.Selection = "time-of-week profile: mean usage of each of the 168 hours of the week (no temperature)"
	m.gate(GateHourly, m.Stats)
	return m, nil
}
