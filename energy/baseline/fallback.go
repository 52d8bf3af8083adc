package baseline

import (
	"errors"
	"math"
	"slices"
	"time"
)

// DayOfWeek is the daily model type of a day-of-week profile: an
// intercept per day of the week, for a meter whose days follow the week
// (an office's water) more than the weather; "_hdd", "_cdd" or "_hdd_cdd"
// follow it when degree-day terms are in the model.
const DayOfWeek = "day_of_week"

// Rejected is the interval model a daily fallback stands in for: what it
// was, its statistics, and the gate it failed.
type Rejected struct {
	Kind    Kind     `json:"kind"`
	Model   string   `json:"model"`
	Stats   Stats    `json:"stats"`
	Gate    Gate     `json:"gate"`
	Reasons []string `json:"reasons"`
}

// FitDailyFallback fits the daily model that stands in for an hourly or
// time-of-week model (rejected) that failed the Guideline 14 hourly gate,
// so that the detectors that work on days (residual, CUSUM) can still
// watch the meter. The candidates are the CalTRACK daily model (when
// there are temperatures) and the day-of-week profile (fitDayOfWeek),
// fitted on the same days and each held to the Guideline 14 monthly gate
// on its calendar-month totals (Model.Monthly), as every daily model is;
// one that passes wins over one that does not, then the higher adjusted
// R² on the days (CalTRACK's criterion among its own). The gate is on
// monthly totals, not on the days: Guideline 14 states its monthly limits
// for monthly data (holding days to them would be a stricter rule of our
// own, and an office's water, 25–30 % from day to day, would never pass
// it), and the detectors take σ at the resolution they watch (the daily
// RMSE), so day-to-day scatter raises their thresholds rather than their
// false alarms. The daily statistics are in Stats all the same.
//
// The model's Fallback records the rejected one. It is an error to call it
// with a model that is fit for alarms or not an interval model, or one
// whose data were insufficient (no daily model does better there).
func FitDailyFallback(rejected *Model, meter []Reading, temps []TempReading, loc *time.Location, from, to time.Time, opts DailyOptions) (*Model, error) {
	if rejected == nil || rejected.Kind == KindDaily || rejected.FitForAlarms {
		return nil, errors.New("a daily fallback replaces an hourly or time-of-week model that failed its gate")
	}
	if rejected.Sufficiency != nil && !rejected.Sufficiency.Sufficient {
		return nil, errors.New("the data are insufficient for any model: " + rejected.Reasons[0])
	}
	o := opts.withDefaults()
	o.Fuel = rejected.Fuel
	if o.Calendar == nil {
		o.Calendar = rejected.Calendar // the days the rejected model kept
	}
	days := DailyTable(meter, temps, o.Fuel, loc, from, to)
	withTemp := len(temps) > 0
	var best *Model
	if withTemp {
		m, err := FitDailyTable(days, loc, from, to, o)
		if err != nil && !errors.Is(err, ErrNoData) {
			return nil, err
		}
		best = m
	}
	dow, err := fitDayOfWeek(days, withTemp, loc, from, to, o)
	if err != nil && best == nil {
		return nil, err
	}
	// Those fit for alarms first, then the highest adjusted R².
	better := func(a, b *Model) bool {
		if a.FitForAlarms != b.FitForAlarms {
			return a.FitForAlarms
		}
		return a.RSquaredAdj > b.RSquaredAdj
	}
	if dow != nil && (best == nil || better(dow, best)) {
		if best != nil {
			dow.Selection += sprintf("; chosen over the CalTRACK daily model (%s, adjusted R² %.3f, fit for alarms %v)", best.Model, best.RSquaredAdj, best.FitForAlarms)
		}
		best = dow
	} else if dow != nil {
		best.Selection += sprintf("; chosen over a day-of-week profile (%s, adjusted R² %.3f, fit for alarms %v)", dow.Model, dow.RSquaredAdj, dow.FitForAlarms)
	}
	best.Fallback = &Rejected{Kind: rejected.Kind, Model: rejected.Model, Stats: rejected.Stats, Gate: rejected.Gate, Reasons: rejected.Reasons}
	best.Selection = sprintf("daily fallback for the %s model, which failed the %s gate; %s", rejected.Model, rejected.Gate.Name, best.Selection)
	return best, nil
}

// fitDayOfWeek fits the day-of-week models on the days with usage (and
// temperature, when the other candidates need it, so that all are fitted
// on the same days): an intercept per day of the week, alone or with the
// CalTRACK degree-day terms over the same balance-point grid and with the
// same rules (enough degree days, heating ≤ cooling, no negative
// coefficient), the highest adjusted R² winning; with CalTRACK's
// sufficiency and the monthly gate.
func fitDayOfWeek(days []Day, withTemp bool, loc *time.Location, from, to time.Time, o DailyOptions) (*Model, error) {
	var valid []Day
	var y, temps []float64
	for _, d := range days {
		if !math.IsNaN(d.Usage) && (!withTemp || !math.IsNaN(d.Temp)) {
			valid = append(valid, d)
			y = append(y, d.Usage)
			temps = append(temps, d.Temp)
		}
	}
	n := len(y)
	var hdd, cdd []*degreeDays
	if withTemp {
		for _, bp := range o.HeatingBalancePoints {
			if h := newDegreeDays(bp, temps, y, true, o); h.enough {
				hdd = append(hdd, h)
			}
		}
		for _, bp := range o.CoolingBalancePoints {
			if c := newDegreeDays(bp, temps, y, false, o); c.enough && o.Fuel != Gas {
				cdd = append(cdd, c)
			}
		}
	}
	var sy, syy float64
	for _, v := range y {
		sy += v
		syy += v * v
	}
	ssTot := syy - sy*sy/float64(n)
	type fit struct {
		h, c    *degreeDays
		beta    []float64 // 7 days, then HDD, then CDD
		r2, res float64
	}
	var best *fit
	tried, qualified := 0, 0
	try := func(h, c *degreeDays) {
		tried++
		p := 7
		if h != nil {
			p++
		}
		if c != nil {
			p++
		}
		if n <= p {
			return
		}
		ne := newNormal(p)
		idx, vals := make([]int, 0, 3), make([]float64, 0, 3)
		row := func(i int) {
			idx, vals = append(idx[:0], o.Calendar.dayOfWeek(valid[i].Date)), append(vals[:0], 1)
			if h != nil {
				idx, vals = append(idx, 7), append(vals, h.dd[i])
			}
			if c != nil {
				idx, vals = append(idx, p-1), append(vals, c.dd[i])
			}
		}
		for i := range y {
			row(i)
			ne.addSparse(idx, vals, y[i], 1)
		}
		beta, dropped := ne.solve()
		if slices.Contains(dropped, true) || slices.ContainsFunc(beta, func(b float64) bool { return b < 0 }) {
			return
		}
		qualified++
		var res float64
		for i := range y {
			row(i)
			r := y[i]
			for k, j := range idx {
				r -= beta[j] * vals[k]
			}
			res += r * r
		}
		r2 := 1 - (res/float64(n-p))/(ssTot/float64(n-1))
		if best == nil || r2 > best.r2 {
			best = &fit{h: h, c: c, beta: beta, r2: r2, res: res}
		}
	}
	try(nil, nil)
	for _, h := range hdd {
		try(h, nil)
	}
	for _, c := range cdd {
		try(nil, c)
		for _, h := range hdd {
			if h.bp <= c.bp {
				try(h, c)
			}
		}
	}
	if best == nil {
		return nil, errors.New("day-of-week profile: no candidate qualified (a day of the week without usage, or a negative coefficient)")
	}
	m := &Model{
		Kind: KindDaily, Model: DayOfWeek, Fuel: o.Fuel, TimeZone: loc.String(),
		TrainingFrom: midnight(from, loc), TrainingTo: to, loc: loc, DayProfile: best.beta[:7],
	}
	if !o.Calendar.Empty() {
		m.Calendar = o.Calendar
	}
	if withTemp {
		m.TempUnit = o.TempUnit
	}
	p := 7
	if best.h != nil {
		m.Model += "_hdd"
		m.HeatingBalancePoint, m.BetaHDD = &best.h.bp, best.beta[7]
		p++
	}
	if best.c != nil {
		m.Model += "_cdd"
		m.CoolingBalancePoint, m.BetaCDD = &best.c.bp, best.beta[p]
		p++
	}
	suffDays := days
	if !withTemp { // CalTRACK's sufficiency counts days with a temperature
		suffDays = make([]Day, len(days))
		for i, d := range days {
			d.Temp = 0
			suffDays[i] = d
		}
	}
	suff := CheckSufficiency(suffDays)
	m.Sufficiency, m.Warnings = &suff, suff.Warnings
	yhat := make([]float64, n)
	for i, d := range valid {
		yhat[i] = m.Predict(d.Date, d.Temp)
	}
	m.Stats = fitStats(y, yhat, p)
	m.Selection = sprintf("day-of-week profile: an intercept per day of the week; highest adjusted R² of %d qualified among %d candidates (alone, with HDD, CDD or both over the CalTRACK grid and rules)", qualified, tried)
	if !withTemp {
		m.Selection = "day-of-week profile: the mean usage of each day of the week (no temperature)"
	}
	monthly := monthlyStats(valid, yhat, p, loc)
	m.Monthly = &monthly
	m.gate(GateMonthly, monthly)
	return m, nil
}
