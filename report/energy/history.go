package energy

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// span is a part of the history: [from, to).
type span struct{ from, to time.Time }

func (s span) has(t time.Time) bool { return !t.Before(s.from) && t.Before(s.to) }

// sums is actual and predicted use over the days of a span where both are
// known, and the raw actual over all of it.
type sums struct {
	raw, actual, predicted float64
	samples                int
	// read and slots count the span's hours with a reading and all of
	// them: how much of the span the meters were read, whatever their poll
	// interval (older history is often kept at 15 minutes).
	read  int
	slots int
}

// coveragePct is the share of the span's hours with a reading.
func (s sums) coveragePct() float64 {
	if s.slots == 0 {
		return 0
	}
	return 100 * float64(s.read) / float64(s.slots)
}

// minComparePct is the coverage another period needs for a change to be
// computed against it.
const minComparePct = 90

// history compares each billed meter with the period before and the same
// period last year, fits its baseline on the 365 days before the period and
// sets the period against it.
func (r *Report) history(ctx context.Context, src Source, q usage.Query, from time.Time, elapsed time.Duration) error {
	cur := span{r.Period.From, r.End}
	prev := span{r.Previous.From, earliest(r.Previous.From.Add(elapsed), r.Previous.To)}
	ly := span{r.LastYear.From, earliest(r.LastYear.From.Add(elapsed), r.LastYear.To)}
	trainFrom, trainTo := r.Period.From.AddDate(0, 0, -365), r.Period.From
	temps := map[string][]baseline.TempReading{}
	type catSums struct{ cur, prev, ly sums }
	bycat := map[usage.Category]*catSums{}
	modelled := map[usage.Category]bool{}
	// The history is read in chunks (see chunker) and kept as hourly
	// readings of the billed meters only.
	type meterHistory struct {
		u        usage.Usage // without its slots
		readings []baseline.Reading
	}
	var order []string
	byMeter := map[string]*meterHistory{}
	q.Interval = usage.Hour
	c := newChunker()
	for q.From = from; q.From.Before(r.End); q.From = q.To {
		q.To = c.end(r, q.From, earliest(q.From.AddDate(0, 3, 0), r.End))
		hist, err := src.Consumption(ctx, q)
		if err != nil {
			return fmt.Errorf("history before %s: %w", r.Period.Name, err)
		}
		c.saw(hist, q.From, q.To)
		isBilled := billed(hist)
		for _, u := range hist.Meters {
			if !isBilled[u.Meter] {
				continue
			}
			mh := byMeter[u.Meter]
			if mh == nil {
				mh = &meterHistory{u: u}
				mh.u.Slots, mh.u.Events = nil, nil
				byMeter[u.Meter] = mh
				order = append(order, u.Meter)
			}
			cs := bycat[u.Category]
			if cs == nil {
				cs = &catSums{}
				bycat[u.Category] = cs
			}
			for _, s := range u.Slots {
				x := baseline.Reading{Start: s.Start, Usage: s.Amount}
				if s.Samples == 0 {
					x.Usage = math.NaN()
				}
				mh.readings = append(mh.readings, x)
				for _, x := range []struct {
					sp span
					to *sums
				}{{cur, &cs.cur}, {prev, &cs.prev}, {ly, &cs.ly}} {
					if x.sp.has(s.Start) {
						x.to.raw += s.Amount
						x.to.samples += s.Samples
						if s.Samples > 0 {
							x.to.read++
						}
						x.to.slots++
					}
				}
			}
		}
	}
	for _, id := range order {
		u, readings := byMeter[id].u, byMeter[id].readings
		cs := bycat[u.Category]
		ts, ok := temps[u.Building]
		if !ok {
			var err error
			if ts, err = src.Temperatures(ctx, u.Building, trainFrom.AddDate(0, 0, -7), r.End); err != nil {
				return err
			}
			temps[u.Building] = ts
		}
		model, err := r.fit(u.Category, readings, ts, trainFrom, trainTo)
		if err != nil {
			r.Warnings = append(r.Warnings, "no_baseline:"+u.Meter)
			continue
		}
		predictDay := r.predictor(model, ts)
		actualDay := dailyActual(r, readings)
		add := func(sp span, to *sums) {
			for d := r.dayStart(sp.from); d.Before(sp.to); d = d.AddDate(0, 0, 1) {
				a, ok := actualDay[d]
				p := predictDay(d, dayShare(d, sp.to))
				if ok && !math.IsNaN(p) {
					to.actual += a
					to.predicted += p
				}
			}
		}
		// Only a model fit for alarms normalizes: one that fails
		// Guideline 14 or lacks data is shown, not relied on.
		if model.FitForAlarms {
			modelled[u.Category] = true
			add(prev, &cs.prev)
			add(ly, &cs.ly)
			add(cur, &cs.cur)
		}
		r.baseline(u, model, readings, actualDay, predictDay)
	}
	for _, c := range usage.Categories {
		cs := bycat[c]
		if cs == nil {
			continue
		}
		cmp := Comparison{Category: c, Unit: unitOf(r, c), Current: cs.cur.raw, Previous: math.NaN(), LastYear: math.NaN(),
			PreviousPct: math.NaN(), LastYearPct: math.NaN(), NormPreviousPct: math.NaN(), NormLastYearPct: math.NaN()}
		// A period read for less than minComparePct of its span is shown
		// with its coverage, and no change is computed from it.
		cmp.PreviousCoveragePct, cmp.LastYearCoveragePct = cs.prev.coveragePct(), cs.ly.coveragePct()
		if cs.prev.samples > 0 {
			cmp.Previous = cs.prev.raw
			if cmp.PreviousCoveragePct >= minComparePct {
				cmp.PreviousPct = pct(cs.cur.raw, cs.prev.raw)
				if modelled[c] {
					cmp.NormPreviousPct = normPct(cs.cur, cs.prev)
				}
			}
		}
		if cs.ly.samples > 0 {
			cmp.LastYear = cs.ly.raw
			if cmp.LastYearCoveragePct >= minComparePct {
				cmp.LastYearPct = pct(cs.cur.raw, cs.ly.raw)
				if modelled[c] {
					cmp.NormLastYearPct = normPct(cs.cur, cs.ly)
				}
			}
		}
		r.Comparisons = append(r.Comparisons, cmp)
	}
	slices.SortFunc(r.Anomalies, func(a, b AnomalyFigures) int {
		return -cmpFloat(math.Abs(a.Cost)+math.Abs(a.Excess)*1e-9, math.Abs(b.Cost)+math.Abs(b.Excess)*1e-9)
	})
	if len(r.Anomalies) > 10 {
		r.Anomalies = r.Anomalies[:10]
	}
	return nil
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func unitOf(r *Report, c usage.Category) string {
	for _, m := range r.Meters {
		if m.Category == c {
			return m.Unit
		}
	}
	return ""
}

func pct(cur, other float64) float64 {
	if other == 0 {
		return math.NaN()
	}
	return 100 * (cur - other) / other
}

// normPct is the change of actual over predicted from other to cur: what
// the weather (and the calendar the model knows) does not explain.
func normPct(cur, other sums) float64 {
	if cur.predicted <= 0 || other.predicted <= 0 || other.actual <= 0 {
		return math.NaN()
	}
	return 100 * ((cur.actual/cur.predicted)/(other.actual/other.predicted) - 1)
}

// fit fits a daily degree-day model where there are temperatures (not for
// water), a time-of-week profile otherwise.
func (r *Report) fit(c usage.Category, readings []baseline.Reading, temps []baseline.TempReading, from, to time.Time) (*baseline.Model, error) {
	fuel := baseline.Fuel(c)
	var train []baseline.Reading
	for _, x := range readings {
		if !x.Start.Before(from) && x.Start.Before(to) {
			train = append(train, x)
		}
	}
	if len(train) == 0 {
		return nil, baseline.ErrNoData
	}
	if len(temps) > 0 && c != usage.Water {
		return baseline.FitDaily(train, temps, r.Zone, from, to, baseline.DailyOptions{Fuel: fuel, TempUnit: baseline.Celsius})
	}
	return baseline.FitTOW(train, fuel, r.Zone, from, to, r.calendar)
}

// predictor returns the model's prediction for a day (start d), scaled to
// the share of it the report covers.
func (r *Report) predictor(m *baseline.Model, temps []baseline.TempReading) func(d time.Time, share float64) float64 {
	if m.Kind == baseline.KindDaily {
		mean := map[time.Time][2]float64{}
		for _, t := range temps {
			if math.IsNaN(t.Temp) {
				continue
			}
			d := r.dayStart(t.Time)
			v := mean[d]
			mean[d] = [2]float64{v[0] + t.Temp, v[1] + 1}
		}
		return func(d time.Time, share float64) float64 {
			v := mean[d]
			if v[1] == 0 {
				return math.NaN()
			}
			return m.Predict(d, v[0]/v[1]) * share
		}
	}
	return func(d time.Time, share float64) float64 {
		end := d.Add(time.Duration(share * float64(d.AddDate(0, 0, 1).Sub(d))))
		sum := 0.0
		for h := d; h.Before(end); h = h.Add(time.Hour) {
			p := m.Predict(h, math.NaN())
			if math.IsNaN(p) {
				return math.NaN()
			}
			sum += p
		}
		return sum
	}
}

// dailyActual sums hourly readings into days; a day with no reading at all
// is left out.
func dailyActual(r *Report, readings []baseline.Reading) map[time.Time]float64 {
	out := map[time.Time]float64{}
	for _, x := range readings {
		if math.IsNaN(x.Usage) {
			continue
		}
		out[r.dayStart(x.Start)] += x.Usage
	}
	return out
}

// baseline sets the period's days against the model, and finds the
// anomalies of the period.
func (r *Report) baseline(u usage.Usage, m *baseline.Model, readings []baseline.Reading,
	actualDay map[time.Time]float64, predictDay func(time.Time, float64) float64) {
	bf := BaselineFigures{Meter: u.Meter, Category: u.Category, Unit: u.Unit, Model: m.Model, Kind: string(m.Kind),
		CVRMSE: m.CVRMSE, NMBE: m.NMBE, FitForAlarms: m.FitForAlarms, Reasons: m.Reasons}
	sigma := m.RMSE
	if m.Kind != baseline.KindDaily {
		sigma *= math.Sqrt(24) // hourly error, summed over a day as if independent: a floor, residuals are autocorrelated
	}
	var pts []baseline.Point
	cusum := 0.0
	for d := r.dayStart(r.Period.From); d.Before(r.End); d = d.AddDate(0, 0, 1) {
		a, ok := actualDay[d]
		p := predictDay(d, dayShare(d, r.End))
		pt := baseline.Point{Start: d, Actual: math.NaN(), Predicted: p, Sigma: sigma}
		if ok && !math.IsNaN(p) {
			pt.Actual = a
			cusum += a - p
			bf.Actual += a
			bf.Predicted += p
			bf.Days = append(bf.Days, BaselineDay{Start: d, Actual: a, Predicted: p, CUSUM: cusum})
		}
		pts = append(pts, pt)
	}
	bf.Savings = bf.Predicted - bf.Actual
	price := r.meanPrice(u.Meter)
	bf.SavingsCost = bf.Savings * price
	r.Baselines = append(r.Baselines, bf)

	add := func(as []baseline.Anomaly) {
		for _, a := range as {
			r.Anomalies = append(r.Anomalies, AnomalyFigures{Meter: u.Meter, Kind: a.Kind, Start: a.Start, End: a.End,
				Excess: a.Excess, Unit: u.Unit, Cost: a.Excess * price, Open: a.Open})
		}
	}
	if !m.FitForAlarms {
		return // Guideline 14: report a bad fit, never alarm on it
	}
	if sigma > 0 {
		add(baseline.CUSUM(pts, baseline.CUSUMOptions{K: 0.5, H: 5}))
		add(baseline.Residual(pts, 3, 1))
	}
	if u.Category == usage.Water {
		var hp []baseline.Point
		for _, x := range readings {
			if x.Start.Before(r.Period.From) || !x.Start.Before(r.End) {
				continue
			}
			hp = append(hp, baseline.Point{Start: x.Start, Actual: x.Usage, Predicted: m.Predict(x.Start, math.NaN()), Sigma: m.RMSE})
		}
		add(baseline.WaterLeak(hp, baseline.LeakOptions{}))
	}
}

// meanPrice is a meter's energy cost per unit over the period.
func (r *Report) meanPrice(meter string) float64 {
	for _, m := range r.Meters {
		if m.Meter == meter && m.Quantity-m.Unpriced > 0 {
			return m.EnergyCost / (m.Quantity - m.Unpriced)
		}
	}
	return 0
}
