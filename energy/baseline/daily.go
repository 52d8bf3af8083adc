package baseline

import (
	"errors"
	"math"
	"time"
)

// DailyOptions tune the daily model; the zero value is CalTRACK 2.0.
type DailyOptions struct {
	Fuel     Fuel     // electricity (default) or gas (no cooling terms)
	TempUnit TempUnit // unit of the temperatures and balance points; default F
	// HeatingBalancePoints and CoolingBalancePoints are the grids
	// searched. Default for both: 30–90 °F in 1 °F steps, or −1–32 °C in
	// 1 °C steps (the same range).
	HeatingBalancePoints []float64
	CoolingBalancePoints []float64
	// A degree-day term is tried only when at least MinNonZeroDays days
	// have degree days and they total MinDegreeDays. Defaults 10 and 20 °F
	// days (11.1 °C days).
	MinNonZeroDays int
	MinDegreeDays  float64
	// Calendar, for a day-of-week profile (a daily fallback), maps
	// holidays and make-up working days to the day they are kept as; the
	// CalTRACK daily model has no day of the week and ignores it.
	Calendar *Calendar
}

func (o DailyOptions) withDefaults() DailyOptions {
	if o.Fuel == "" {
		o.Fuel = Electricity
	}
	if o.TempUnit == "" {
		o.TempUnit = Fahrenheit
	}
	lo, hi := 30.0, 90.0
	if o.TempUnit == Celsius {
		lo, hi = -1, 32
	}
	var grid []float64
	for bp := lo; bp <= hi; bp++ {
		grid = append(grid, bp)
	}
	if o.HeatingBalancePoints == nil {
		o.HeatingBalancePoints = grid
	}
	if o.CoolingBalancePoints == nil {
		o.CoolingBalancePoints = grid
	}
	if o.MinNonZeroDays == 0 {
		o.MinNonZeroDays = 10
	}
	if o.MinDegreeDays == 0 {
		o.MinDegreeDays = 20
		if o.TempUnit == Celsius {
			o.MinDegreeDays = 20.0 * 5 / 9
		}
	}
	return o
}

// Candidate is one fitted daily candidate, as the selection saw it.
type Candidate struct {
	Model       string
	HeatingBP   float64 // NaN when not in the model
	CoolingBP   float64
	Intercept   float64
	BetaHDD     float64
	BetaCDD     float64
	RSquaredAdj float64
	Qualified   bool // no negative coefficient
}

// degreeDays holds one balance point's degree days over the valid days
// and the sums the normal equations need.
type degreeDays struct {
	bp        float64
	dd        []float64
	nonZero   int
	sum, sum2 float64
	sumY      float64 // Σ dd·y
	enough    bool
}

func newDegreeDays(bp float64, temps, y []float64, heating bool, o DailyOptions) *degreeDays {
	d := &degreeDays{bp: bp, dd: make([]float64, len(temps))}
	for i, t := range temps {
		v := t - bp
		if heating {
			v = bp - t
		}
		if v > 0 {
			d.dd[i] = v
			d.nonZero++
			d.sum += v
			d.sum2 += v * v
			d.sumY += v * y[i]
		}
	}
	d.enough = d.nonZero >= o.MinNonZeroDays && d.sum >= o.MinDegreeDays
	return d
}

// DailyCandidates fits every CalTRACK candidate over the valid days: the
// intercept-only model, HDD-only and CDD-only at every balance point of the
// grid, and HDD+CDD at every pair with heating ≤ cooling, each degree-day
// term only where it has enough degree days. They come in CalTRACK's
// order, which breaks ties.
func DailyCandidates(days []Day, opts DailyOptions) []Candidate {
	o := opts.withDefaults()
	var y, temps []float64
	for _, d := range days {
		if d.Valid() {
			y = append(y, d.Usage)
			temps = append(temps, d.Temp)
		}
	}
	n := float64(len(y))
	if n == 0 {
		return nil
	}
	var sy, syy float64
	for _, v := range y {
		sy += v
		syy += v * v
	}
	ssTot := syy - sy*sy/n
	nan := math.NaN()
	out := []Candidate{{Model: InterceptOnly, HeatingBP: nan, CoolingBP: nan, Intercept: sy / n, Qualified: sy >= 0}}

	var hdd, cdd []*degreeDays
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
	adj := func(ssRes float64, c int) float64 {
		return 1 - (ssRes/(n-float64(c)-1))/(ssTot/(n-1))
	}
	// One term: centred simple regression.
	one := func(d *degreeDays) (a, b, r2 float64) {
		sxx := d.sum2 - d.sum*d.sum/n
		sxy := d.sumY - d.sum*sy/n
		if sxx <= 0 {
			return sy / n, 0, nan
		}
		b = sxy / sxx
		a = (sy - b*d.sum) / n
		return a, b, adj(ssTot-b*sxy, 1)
	}
	for _, h := range hdd {
		a, b, r2 := one(h)
		out = append(out, Candidate{Model: HDDOnly, HeatingBP: h.bp, CoolingBP: nan, Intercept: a, BetaHDD: b, RSquaredAdj: r2, Qualified: a >= 0 && b >= 0 && !math.IsNaN(r2)})
	}
	for _, c := range cdd {
		a, b, r2 := one(c)
		out = append(out, Candidate{Model: CDDOnly, HeatingBP: nan, CoolingBP: c.bp, Intercept: a, BetaCDD: b, RSquaredAdj: r2, Qualified: a >= 0 && b >= 0 && !math.IsNaN(r2)})
	}
	for _, c := range cdd {
		for _, h := range hdd {
			if h.bp > c.bp {
				continue
			}
			var shc float64 // HDD and CDD overlap only when heating > cooling
			for i, hv := range h.dd {
				if hv != 0 && c.dd[i] != 0 {
					shc += hv * c.dd[i]
				}
			}
			// Centred 2×2 system.
			shh := h.sum2 - h.sum*h.sum/n
			scc := c.sum2 - c.sum*c.sum/n
			shcC := shc - h.sum*c.sum/n
			shy := h.sumY - h.sum*sy/n
			scy := c.sumY - c.sum*sy/n
			det := shh*scc - shcC*shcC
			if det <= 0 {
				continue
			}
			bh := (scc*shy - shcC*scy) / det
			bc := (shh*scy - shcC*shy) / det
			a := (sy - bh*h.sum - bc*c.sum) / n
			r2 := adj(ssTot-bh*shy-bc*scy, 2)
			out = append(out, Candidate{Model: HDDCDD, HeatingBP: h.bp, CoolingBP: c.bp, Intercept: a, BetaHDD: bh, BetaCDD: bc, RSquaredAdj: r2, Qualified: a >= 0 && bh >= 0 && bc >= 0})
		}
	}
	return out
}

// SelectCandidate returns the qualified candidate of highest adjusted R²,
// the first of equals, and how many qualified.
func SelectCandidate(cands []Candidate) (best Candidate, qualified int, ok bool) {
	bestR2 := math.Inf(-1)
	for _, c := range cands {
		if !c.Qualified {
			continue
		}
		qualified++
		if c.RSquaredAdj > bestR2 {
			best, bestR2, ok = c, c.RSquaredAdj, true
		}
	}
	return best, qualified, ok
}

// ErrNoData is returned when a window has no usable observation.
var ErrNoData = errors.New("no usable data in the baseline window (usage and temperature both present)")

// FitDaily fits the CalTRACK daily model on the days of [from, to) in loc,
// checks CalTRACK's data sufficiency and the Guideline 14 monthly gate on
// the model's calendar-month totals.
func FitDaily(meter []Reading, temps []TempReading, loc *time.Location, from, to time.Time, opts DailyOptions) (*Model, error) {
	o := opts.withDefaults()
	days := DailyTable(meter, temps, o.Fuel, loc, from, to)
	return FitDailyTable(days, loc, from, to, o)
}

// FitDailyTable is FitDaily over a daily table already built.
func FitDailyTable(days []Day, loc *time.Location, from, to time.Time, opts DailyOptions) (*Model, error) {
	o := opts.withDefaults()
	suff := CheckSufficiency(days)
	cands := DailyCandidates(days, o)
	if len(cands) == 0 {
		return nil, ErrNoData
	}
	best, qualified, ok := SelectCandidate(cands)
	if !ok {
		return nil, errors.New("no candidate model qualified: every fit has a negative coefficient (negative mean usage?)")
	}
	m := &Model{
		Kind: KindDaily, Model: best.Model, Fuel: o.Fuel, TempUnit: o.TempUnit,
		TimeZone: loc.String(), TrainingFrom: midnight(from, loc), TrainingTo: to,
		Intercept: best.Intercept, BetaHDD: best.BetaHDD, BetaCDD: best.BetaCDD,
		Sufficiency: &suff, Warnings: suff.Warnings, loc: loc,
	}
	if !math.IsNaN(best.HeatingBP) {
		m.HeatingBalancePoint = &best.HeatingBP
	}
	if !math.IsNaN(best.CoolingBP) {
		m.CoolingBalancePoint = &best.CoolingBP
	}
	var y, yhat []float64
	var valid []Day
	for _, d := range days {
		if d.Valid() {
			y = append(y, d.Usage)
			yhat = append(yhat, m.predictDaily(d.Temp))
			valid = append(valid, d)
		}
	}
	p := 1
	if m.HeatingBalancePoint != nil {
		p++
	}
	if m.CoolingBalancePoint != nil {
		p++
	}
	m.Stats = fitStats(y, yhat, p)
	if best.Model != InterceptOnly {
		m.RSquaredAdj = best.RSquaredAdj
	}
	hg, cg := o.HeatingBalancePoints, o.CoolingBalancePoints
	m.Selection = sprintf("highest adjusted R² of %d qualified among %d candidates (intercept-only, HDD-only, CDD-only, HDD+CDD with heating ≤ cooling; heating balance points %g–%g, cooling %g–%g °%s in 1° steps; a term needs ≥ %d days and ≥ %.3g degree days; no negative coefficient)",
		qualified, len(cands), hg[0], hg[len(hg)-1], cg[0], cg[len(cg)-1], o.TempUnit, o.MinNonZeroDays, o.MinDegreeDays)
	if o.Fuel == Gas {
		m.Selection += "; no cooling terms for gas"
	}
	monthly := monthlyStats(valid, yhat, p, loc)
	m.Monthly = &monthly
	m.gate(GateMonthly, monthly)
	return m, nil
}

// monthlyStats are the fit statistics of calendar-month totals: for each
// month of loc with at least half of its days valid, the actual and the
// predicted usage of its valid days, both scaled to the whole month (the
// same factor, so a partial month weighs as a whole one), p the model's
// parameters.
func monthlyStats(valid []Day, yhat []float64, p int, loc *time.Location) Stats {
	type month struct {
		days              int
		actual, predicted float64
	}
	var order []time.Time
	months := map[time.Time]*month{}
	for i, d := range valid {
		l := d.Date.In(loc)
		k := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
		mo := months[k]
		if mo == nil {
			mo = &month{}
			months[k] = mo
			order = append(order, k)
		}
		mo.days++
		mo.actual += d.Usage
		mo.predicted += yhat[i]
	}
	var y, yh []float64
	for _, k := range order {
		mo := months[k]
		length := k.AddDate(0, 1, 0).Sub(k).Hours() / 24
		if float64(mo.days) < length/2 {
			continue
		}
		scale := math.Round(length) / float64(mo.days)
		y = append(y, mo.actual*scale)
		yh = append(yh, mo.predicted*scale)
	}
	return fitStats(y, yh, p)
}
