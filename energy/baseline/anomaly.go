package baseline

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Point is one interval of a monitored meter: what it used, what its
// baseline expected and the standard deviation of the baseline's error at
// this interval's aggregation (hourly residuals are autocorrelated: take σ
// at the interval monitored). NaN Actual or Predicted is a gap.
type Point struct {
	Start     time.Time
	Actual    float64
	Predicted float64
	Sigma     float64
}

// The anomaly kinds.
const (
	KindResidualHigh = "residual_high" // above k·σ for N intervals
	KindResidualLow  = "residual_low"
	KindCUSUMHigh    = "cusum_high" // slow upward drift
	KindCUSUMLow     = "cusum_low"
	KindBaseLoad     = "base_load"      // night/weekend minimum above the baseline's
	KindLeak         = "water_leak"     // no zero-flow hour in 24 h
	KindBurst        = "water_burst"    // constant high flow
	KindGasNoHeating = "gas_off_season" // gas above baseline when no heating is expected
)

// Anomaly is one departure from the baseline over [Start, End).
type Anomaly struct {
	Kind      string    `json:"kind"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Intervals int       `json:"intervals"`
	// Excess is Σ(actual − predicted) over the anomaly, in the meter's
	// unit; a missing prediction counts as zero.
	Excess float64 `json:"excess"`
	// Open is true when the anomaly lasts to the end of the series.
	Open bool `json:"open"`
	// Detected is when a detector stepping through the series would have
	// raised it: the end of the interval that met its condition. Start is
	// the estimated onset, which can be earlier (CUSUM, leaks).
	Detected time.Time `json:"detected"`
}

// step is the length of the interval at i: up to the next point, or as
// long as the one before for the last.
func step(pts []Point, i int) time.Duration {
	switch {
	case i+1 < len(pts):
		return pts[i+1].Start.Sub(pts[i].Start)
	case i > 0:
		return pts[i].Start.Sub(pts[i-1].Start)
	}
	return time.Hour
}

func excess(pts []Point, from, to int) float64 {
	var e float64
	for _, p := range pts[from:to] {
		if !math.IsNaN(p.Actual) {
			pred := p.Predicted
			if math.IsNaN(pred) {
				pred = 0
			}
			e += p.Actual - pred
		}
	}
	return e
}

// anomaly is the anomaly over [from, to), detected at the end of interval
// alarm.
func anomaly(kind string, pts []Point, from, to, alarm int) Anomaly {
	return Anomaly{
		Kind: kind, Start: pts[from].Start, End: pts[to-1].Start.Add(step(pts, to-1)),
		Intervals: to - from, Excess: excess(pts, from, to), Open: to == len(pts),
		Detected: pts[alarm].Start.Add(step(pts, alarm)),
	}
}

// runs returns the maximal runs [from, to) of consecutive intervals where
// in(i) holds and that last at least n intervals.
func runs(pts []Point, n int, kind string, in func(i int) bool) []Anomaly {
	var out []Anomaly
	start := -1
	for i := 0; i <= len(pts); i++ {
		if i < len(pts) && in(i) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= max(n, 1) {
			out = append(out, anomaly(kind, pts, start, i, start+max(n, 1)-1))
		}
		start = -1
	}
	return out
}

// Residual finds runs of at least n intervals whose residual is beyond
// k·σ, above (residual_high) or below (residual_low). A gap ends a run.
func Residual(pts []Point, k float64, n int) []Anomaly {
	z := func(i int) float64 {
		p := pts[i]
		if p.Sigma <= 0 {
			return math.NaN()
		}
		return (p.Actual - p.Predicted) / p.Sigma
	}
	high := runs(pts, n, KindResidualHigh, func(i int) bool { return z(i) > k })
	low := runs(pts, n, KindResidualLow, func(i int) bool { return z(i) < -k })
	return sortAnomalies(append(high, low...))
}

// CUSUMState is the state of Page's two-sided tabular CUSUM.
type CUSUMState struct {
	High, Low float64 // S⁺ and S⁻, in σ
}

// Step advances the CUSUM by one standardized residual z with allowance k;
// a NaN z (a gap) leaves it as it is.
func (s CUSUMState) Step(z, k float64) CUSUMState {
	if math.IsNaN(z) {
		return s
	}
	return CUSUMState{High: math.Max(0, s.High+z-k), Low: math.Max(0, s.Low-z-k)}
}

// CUSUMOptions are Page's allowance and decision interval, in σ.
type CUSUMOptions struct {
	K float64 // default 0.5
	H float64 // default 5
	// Recover, when above zero, also ends an alarm once the meter is
	// shown back on its baseline: a second CUSUM of (k − z), run while
	// the alarm lasts, passes Recover (in σ). The alarm ends where that
	// sum last stood at zero and S restarts from zero. Without it an alarm
	// lasts until S has come back to zero, which after a large fault can
	// take far longer than the fault (S falls only k a step) and hides
	// the next one.
	Recover float64
}

// CUSUM runs Page's tabular CUSUM over the standardized residuals
// (actual − predicted)/σ. When S⁺ (S⁻) passes h, an anomaly is reported
// from the interval after the sum last stood at zero — the estimated onset —
// until it returns to zero, the meter back on its baseline.
func CUSUM(pts []Point, o CUSUMOptions) []Anomaly {
	if o.K == 0 {
		o.K = 0.5
	}
	if o.H == 0 {
		o.H = 5
	}
	var out []Anomaly
	var s CUSUMState
	hiStart, loStart := 0, 0 // where the current excursion began
	hiAlarm, loAlarm := false, false
	hiAt, loAt := 0, 0         // where it passed h
	var hiBack, loBack float64 // the recovery sums
	hiBackAt, loBackAt := 0, 0 // where they last stood at zero
	for i, p := range pts {
		z := math.NaN()
		if p.Sigma > 0 {
			z = (p.Actual - p.Predicted) / p.Sigma
		}
		if o.Recover > 0 && !math.IsNaN(z) {
			if hiAlarm {
				if hiBack = math.Max(0, hiBack+o.K-z); hiBack == 0 {
					hiBackAt = i + 1
				}
				if hiBack > o.Recover {
					out = append(out, anomaly(KindCUSUMHigh, pts, hiStart, max(hiBackAt, hiAt+1), hiAt))
					hiAlarm, s.High = false, 0
				}
			}
			if loAlarm {
				if loBack = math.Max(0, loBack+o.K+z); loBack == 0 {
					loBackAt = i + 1
				}
				if loBack > o.Recover {
					out = append(out, anomaly(KindCUSUMLow, pts, loStart, max(loBackAt, loAt+1), loAt))
					loAlarm, s.Low = false, 0
				}
			}
		}
		prev := s
		s = s.Step(z, o.K)
		if prev.High == 0 && s.High > 0 {
			hiStart = i
		}
		if prev.Low == 0 && s.Low > 0 {
			loStart = i
		}
		if s.High > o.H && !hiAlarm {
			hiAlarm, hiAt, hiBack, hiBackAt = true, i, 0, i+1
		}
		if s.Low > o.H && !loAlarm {
			loAlarm, loAt, loBack, loBackAt = true, i, 0, i+1
		}
		if hiAlarm && s.High == 0 {
			out = append(out, anomaly(KindCUSUMHigh, pts, hiStart, i, hiAt))
			hiAlarm = false
		}
		if loAlarm && s.Low == 0 {
			out = append(out, anomaly(KindCUSUMLow, pts, loStart, i, loAt))
			loAlarm = false
		}
	}
	if hiAlarm {
		out = append(out, anomaly(KindCUSUMHigh, pts, hiStart, len(pts), hiAt))
	}
	if loAlarm {
		out = append(out, anomaly(KindCUSUMLow, pts, loStart, len(pts), loAt))
	}
	return sortAnomalies(out)
}

// BaseLoadOptions say which hours make the base load and how far above
// the baseline's it may go.
type BaseLoadOptions struct {
	Location *time.Location // whose nights and weekends; default UTC
	// NightFrom and NightTo bound the night hours [from, to); default 1–5.
	NightFrom, NightTo int
	// Weekends counts all of Saturday and Sunday as base-load hours.
	Weekends bool
	// Tolerance is the allowed excess of the actual minimum over the
	// predicted one, as a fraction of the predicted; default 0.1. A day is
	// also flagged only when the excess passes K·σ (default K 2).
	Tolerance float64
	K         float64
	Days      int // consecutive days needed; default 1
}

// BaseLoad compares, day by day, the minimum actual usage over the
// base-load hours (nights, and weekends if asked) with the minimum the
// baseline predicts for the same hours. Days where it is above by more
// than the tolerance and K·σ make anomalies; the excess is summed over the
// base-load hours of those days.
func BaseLoad(pts []Point, o BaseLoadOptions) []Anomaly {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.NightFrom == 0 && o.NightTo == 0 {
		o.NightFrom, o.NightTo = 1, 5
	}
	if o.Tolerance == 0 {
		o.Tolerance = 0.1
	}
	if o.K == 0 {
		o.K = 2
	}
	base := func(t time.Time) bool {
		l := t.In(o.Location)
		if o.Weekends && (l.Weekday() == time.Saturday || l.Weekday() == time.Sunday) {
			return true
		}
		return l.Hour() >= o.NightFrom && l.Hour() < o.NightTo
	}
	type day struct {
		date               time.Time
		idx                []int
		minActual, minPred float64
		sigma              float64
	}
	var days []*day
	for i, p := range pts {
		if !base(p.Start) || math.IsNaN(p.Actual) || math.IsNaN(p.Predicted) {
			continue
		}
		d := midnight(p.Start, o.Location)
		if len(days) == 0 || !days[len(days)-1].date.Equal(d) {
			days = append(days, &day{date: d, minActual: math.Inf(1), minPred: math.Inf(1)})
		}
		cur := days[len(days)-1]
		cur.idx = append(cur.idx, i)
		cur.minActual = math.Min(cur.minActual, p.Actual)
		cur.minPred = math.Min(cur.minPred, p.Predicted)
		cur.sigma = math.Max(cur.sigma, p.Sigma)
	}
	var out []Anomaly
	flush := func(run []*day) {
		if len(run) < max(o.Days, 1) {
			return
		}
		lastDay := run[len(run)-1]
		last := lastDay.idx[len(lastDay.idx)-1]
		alarmDay := run[max(o.Days, 1)-1]
		alarm := alarmDay.idx[len(alarmDay.idx)-1]
		a := Anomaly{Kind: KindBaseLoad, Start: run[0].date, End: run[len(run)-1].date.AddDate(0, 0, 1), Open: last == len(pts)-1,
			Detected: pts[alarm].Start.Add(step(pts, alarm))}
		for _, d := range run {
			a.Intervals += len(d.idx)
			for _, i := range d.idx {
				a.Excess += pts[i].Actual - pts[i].Predicted
			}
		}
		out = append(out, a)
	}
	var run []*day
	for _, d := range days {
		over := d.minActual - d.minPred
		if over > o.Tolerance*math.Abs(d.minPred) && over > o.K*d.sigma {
			if len(run) > 0 && !run[len(run)-1].date.AddDate(0, 0, 1).Equal(d.date) {
				flush(run)
				run = nil
			}
			run = append(run, d)
			continue
		}
		flush(run)
		run = nil
	}
	flush(run)
	return out
}

// LeakOptions tune the water checks.
type LeakOptions struct {
	// ZeroFlow is the flow per interval at or below which the meter counts
	// as still (default 0).
	ZeroFlow float64
	// Window is how long without a still interval makes a leak; default 24 h.
	Window time.Duration
	// BurstFlow, when above zero, flags BurstIntervals consecutive
	// intervals at or above it as a burst.
	BurstFlow      float64
	BurstIntervals int
}

// WaterLeak finds leaks — no still interval for a whole window (Kamstrup's
// rule: no zero-flow hour in 24 h) — and bursts, constantly high flow. A
// leak runs from the first interval after the last still one until the
// next still one. The excess is Σ(actual − predicted), the whole flow when
// there is no prediction.
func WaterLeak(pts []Point, o LeakOptions) []Anomaly {
	if o.Window == 0 {
		o.Window = 24 * time.Hour
	}
	var out []Anomaly
	start := -1 // first interval of the current flowing stretch
	flush := func(end int) {
		if start >= 0 && pts[end-1].Start.Add(step(pts, end-1)).Sub(pts[start].Start) >= o.Window {
			alarm := start
			for pts[alarm].Start.Add(step(pts, alarm)).Sub(pts[start].Start) < o.Window {
				alarm++
			}
			out = append(out, anomaly(KindLeak, pts, start, end, alarm))
		}
		start = -1
	}
	for i, p := range pts {
		switch {
		case math.IsNaN(p.Actual):
			flush(i) // a gap: we cannot say the flow never stopped
		case p.Actual <= o.ZeroFlow:
			flush(i)
		case start < 0:
			start = i
		}
	}
	flush(len(pts))
	if o.BurstFlow > 0 {
		out = append(out, runs(pts, max(o.BurstIntervals, 1), KindBurst, func(i int) bool {
			return pts[i].Actual >= o.BurstFlow
		})...)
	}
	return sortAnomalies(out)
}

// GasOffSeason flags runs of at least n intervals in which gas is used
// above the baseline by more than k·σ while the heating model expects no
// heating (heating[i] false: the interval's temperature at or above the
// heating balance point) — a stuck valve, a boiler left firing.
func GasOffSeason(pts []Point, heating []bool, k float64, n int) []Anomaly {
	return runs(pts, n, KindGasNoHeating, func(i int) bool {
		p := pts[i]
		return i < len(heating) && !heating[i] && p.Sigma > 0 && (p.Actual-p.Predicted)/p.Sigma > k
	})
}

// sortAnomalies orders by start, then kind.
func sortAnomalies(a []Anomaly) []Anomaly {
	slices.SortStableFunc(a, func(x, y Anomaly) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.Kind, y.Kind)
	})
	return a
}
