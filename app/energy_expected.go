package app

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// ExpectedMeasurement is the InfluxDB measurement of the baselines'
// predictions: after each energy check, every meter whose baseline is fit
// for alarms has the consumption its model expected of each whole past hour
// (of each whole past day, for a daily model) written there, so that a
// reader without this daemon's state dir (the portfolio) can compare the
// meters with their baselines.
//
// A point is stamped at its slot's start and carries the daemon's tags of
// the meter's device (site, device, …) and, named after the meter's point
// as its readings are, four fields:
//
//	energy_expected,device=meter-1,site=tower-a import_energy_expected=12.5,import_energy_hours=1i,import_energy_model="towt",import_energy_unit="kWh" 1764720000000000000
//
// _expected is the slot's predicted consumption in _unit, _hours the hours
// the slot covers (1, or 24 for a day; 23 or 25 on a day that changes the
// clock), _model the model that predicted it. The model is a field, not a
// tag, so that a refit to another model overwrites an hour already written
// rather than adding a second series for it; a point written again for the
// same slot (a restart writes the lookback again) overwrites the first. A
// day written where hours were (a refit to a daily fallback) overlaps them:
// readers count a slot only when no earlier slot covers its start.
const ExpectedMeasurement = "energy_expected"

// Field suffixes of ExpectedMeasurement, after the meter's point.
const (
	ExpectedSuffix      = "_expected"
	ExpectedHoursSuffix = "_hours"
	ExpectedModelSuffix = "_model"
	ExpectedUnitSuffix  = "_unit"
)

// publishExpected writes the expectations of the slots that ended since
// the last check (all of the lookback after a start) up to to, the check's
// end, from temps (those of the check; a weather model predicts nothing
// without them, and those slots are not written). They go through the
// daemon's writer: spooled while InfluxDB is away.
func (r *energyRunner) publishExpected(now time.Time, temps []baseline.TempReading) {
	if r.a.writer == nil {
		return
	}
	to := now.Truncate(time.Hour)
	x := &r.expected
	x.mu.Lock() // a refit on demand checks too
	defer x.mu.Unlock()
	if x.upTo == nil {
		x.upTo = map[string]time.Time{}
	}
	var samples []drivers.Sample
	for _, m := range r.usage.Meters() {
		from := to.Add(-energyLookback)
		if t := x.upTo[m.ID]; t.After(from) {
			from = t
		}
		s, end := expectedSamples(m, r.store.get(m.ID), temps, r.zone(), from, to)
		samples = append(samples, s...)
		if !end.IsZero() {
			x.upTo[m.ID] = end
		}
	}
	if len(samples) > 0 {
		r.a.writer.Put(context.Background(), samples)
	}
}

// expectedState is where each meter's expectations were written up to,
// in this generation: a start writes the lookback again.
type expectedState struct {
	mu   sync.Mutex
	upTo map[string]time.Time // by meter id
}

// expectedSamples are the samples of ExpectedMeasurement for meter m's
// baseline b over [from, to): each whole hour in it, or for a daily model
// each whole day, whose prediction is a number. end is where the next
// check starts: the end of the slots considered, or the first one without
// a prediction (its temperature may come late; the lookback bounds how
// long it is tried again); zero when b has no model fit for alarms.
func expectedSamples(m *usage.Meter, b *storedBaseline, temps []baseline.TempReading, loc *time.Location, from, to time.Time) (out []drivers.Sample, end time.Time) {
	if b == nil || b.Model == nil || !b.Model.FitForAlarms || !to.After(from) {
		return nil, time.Time{}
	}
	md := b.Model
	point := m.Point()
	var missing time.Time // the first slot the model could not predict (no temperature yet)
	add := func(start time.Time, hours int, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if missing.IsZero() {
				missing = start
			}
			return
		}
		out = append(out,
			drivers.Sample{Time: start, Device: m.Device, Measurement: ExpectedMeasurement, Point: point + ExpectedSuffix, Value: drivers.Float(v)},
			drivers.Sample{Time: start, Device: m.Device, Measurement: ExpectedMeasurement, Point: point + ExpectedHoursSuffix, Value: drivers.Int(int64(hours))},
			drivers.Sample{Time: start, Device: m.Device, Measurement: ExpectedMeasurement, Point: point + ExpectedModelSuffix, Value: drivers.String(md.Model)},
			drivers.Sample{Time: start, Device: m.Device, Measurement: ExpectedMeasurement, Point: point + ExpectedUnitSuffix, Value: drivers.String(m.OutUnit())})
	}
	if md.Kind == baseline.KindDaily {
		l := from.In(loc)
		dayFrom := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		if dayFrom.Before(from) {
			dayFrom = dayFrom.AddDate(0, 0, 1)
		}
		l = to.In(loc)
		dayTo := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		if !dayTo.After(dayFrom) {
			return nil, time.Time{} // no whole day yet: the next check tries again
		}
		for _, d := range baseline.DailyTable(nil, temps, fuelOf(m), loc, dayFrom, dayTo) {
			add(d.Date, int(d.Date.AddDate(0, 0, 1).Sub(d.Date).Round(time.Hour)/time.Hour), md.Predict(d.Date, d.Temp))
		}
		return out, orTime(missing, dayTo)
	}
	for _, h := range baseline.HourlyTable(nil, temps, fuelOf(m), loc, from, to) {
		add(h.Start, 1, md.Predict(h.Start, h.Temp))
	}
	return out, orTime(missing, to)
}

// orTime is t, or def when t is zero.
func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
