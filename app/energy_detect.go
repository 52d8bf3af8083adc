package app

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/quality"
	"github.com/facilityd/facilityd/rules"
)

// detect runs an energy rule's detector over a meter's recent inputs
// against its stored baseline, and returns the rule's status and the
// anomalies found. It is pure: the time is in the inputs.
//
// A baseline that is missing or not fit for alarms (CalTRACK sufficiency,
// the Guideline 14 gate) gives the status unfit and no anomaly, with one
// exception: the water leak check. A leak is flow where the meter is still
// (the still quarters of the baseline year, or no still hour in 24 h), which
// needs no model fit to be true, so it runs on any water baseline — on the
// hourly model a daily fallback replaced, too — and without one on the
// flow alone. A daily model, configured or a fallback, is watched by the
// day (residual, CUSUM, gas off season).
func detect(rl *rules.Rule, b *storedBaseline, in *energyInputs) (string, []baseline.Anomaly) {
	spec := rl.Energy
	if spec.Detector == rules.DetectLeak {
		if in.fuel != baseline.Water {
			return rules.EnergyUnfit, nil
		}
		if im := b.intervalModel(); im != nil && im.Kind == baseline.KindHourly {
			mon := b.monitor(quality.DefaultDetectOptions)
			return status(pick(mon.Detect(in.hours, in.quarters), baseline.KindLeak, baseline.KindBurst), in.to)
		}
		pts := points(nil, in.hours, nil)
		return status(pick(baseline.WaterLeak(pts, baseline.LeakOptions{}), baseline.KindLeak, baseline.KindBurst), in.to)
	}
	if b == nil || b.Model == nil || !b.Model.FitForAlarms {
		return rules.EnergyUnfit, nil
	}
	m := b.Model
	k, n, h := spec.K, spec.N, spec.H
	if n == 0 {
		n = quality.DefaultDetectOptions.ResidualN
	}
	switch m.Kind {
	case baseline.KindHourly:
		o := quality.DefaultDetectOptions
		if spec.Detector == rules.DetectCUSUM {
			o.CUSUM.K = or(k, o.CUSUM.K)
			o.CUSUM.H = or(h, o.CUSUM.H)
		} else {
			o.ResidualK = or(k, o.ResidualK)
			o.ResidualN = n
		}
		mon := b.monitor(o)
		switch spec.Detector {
		case rules.DetectResidual:
			return status(pick(mon.Detect(in.hours, nil), baseline.KindResidualHigh), in.to)
		case rules.DetectCUSUM:
			return status(pick(mon.Detect(in.hours, nil), baseline.KindCUSUMHigh), in.to)
		case rules.DetectBaseLoad:
			pts := points(m, in.hours, mon.SigmaHour[:])
			return status(baseline.BaseLoad(pts, baseline.BaseLoadOptions{Location: m.Location(), Weekends: true, K: or(k, 2)}), in.to)
		}
	case baseline.KindTOW:
		pts := points(m, in.hours, nil)
		switch spec.Detector {
		case rules.DetectResidual:
			return status(pick(baseline.Residual(pts, or(k, 3), n), baseline.KindResidualHigh), in.to)
		case rules.DetectCUSUM:
			return status(pick(baseline.CUSUM(pts, baseline.CUSUMOptions{K: or(k, 0.5), H: or(h, 5), Recover: 5}), baseline.KindCUSUMHigh), in.to)
		case rules.DetectBaseLoad:
			return status(baseline.BaseLoad(pts, baseline.BaseLoadOptions{Location: m.Location(), Weekends: true, K: or(k, 2)}), in.to)
		}
	case baseline.KindDaily:
		pts := make([]baseline.Point, len(in.days))
		heating := make([]bool, len(in.days))
		for i, d := range in.days {
			pts[i] = baseline.Point{Start: d.Date, Actual: d.Usage, Predicted: m.Predict(d.Date, d.Temp), Sigma: m.RMSE}
			heating[i] = !math.IsNaN(d.Temp) && m.HeatingExpected(d.Temp)
		}
		// A daily check ends at the last midnight: an anomaly is active when
		// it lasts to that day.
		day := in.to
		if len(in.days) > 0 {
			day = in.days[len(in.days)-1].Date.AddDate(0, 0, 1)
		}
		switch spec.Detector {
		case rules.DetectResidual:
			return status(pick(baseline.Residual(pts, or(k, 3), or(spec.N, 2)), baseline.KindResidualHigh), day)
		case rules.DetectCUSUM:
			return status(pick(baseline.CUSUM(pts, baseline.CUSUMOptions{K: or(k, 0.5), H: or(h, 5), Recover: 5}), baseline.KindCUSUMHigh), day)
		case rules.DetectGasOffSeason:
			if in.fuel != baseline.Gas {
				return rules.EnergyUnfit, nil
			}
			return status(baseline.GasOffSeason(pts, heating, or(k, 3), or(spec.N, 2)), day)
		}
	}
	// The detector does not apply to this model (base load on days, gas
	// off season without a daily model's heating term).
	return rules.EnergyUnfit, nil
}

// or is v, or def when v is 0 (not written).
func or[T float64 | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// points are the hours with the model's prediction and σ: per hour of day
// when sigma has 24 values, the model's RMSE otherwise; no model predicts
// NaN.
func points(m *baseline.Model, hours []baseline.Hour, sigma []float64) []baseline.Point {
	out := make([]baseline.Point, len(hours))
	for i, h := range hours {
		p := baseline.Point{Start: h.Start, Actual: h.Usage, Predicted: math.NaN(), Sigma: 1}
		if m != nil {
			p.Predicted = m.Predict(h.Start, h.Temp)
			p.Sigma = m.RMSE
			if len(sigma) == 24 {
				p.Sigma = sigma[h.Start.In(m.Location()).Hour()]
			}
		}
		out[i] = p
	}
	return out
}

// pick keeps the anomalies of the given kinds.
func pick(as []baseline.Anomaly, kinds ...string) []baseline.Anomaly {
	return slices.DeleteFunc(as, func(a baseline.Anomaly) bool { return !slices.Contains(kinds, a.Kind) })
}

// status is anomaly when one of as lasts to the end of the span checked;
// those are marked Open.
func status(as []baseline.Anomaly, to time.Time) (string, []baseline.Anomaly) {
	st := rules.EnergyNormal
	for i := range as {
		if as[i].Open || !as[i].End.Before(to) {
			as[i].Open = true
			st = rules.EnergyAnomaly
			if as[i].End.After(to) { // a run over sparse intervals (still quarters) guesses its last one's length
				as[i].End = to.In(as[i].Start.Location())
			}
		}
	}
	return st, as
}

// influxQLTime reads an InfluxQL time column (integer nanoseconds).
func influxQLTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	ns, err := n.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// influxQLFloat reads an InfluxQL number.
func influxQLFloat(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && !math.IsNaN(f)
}
