package rules

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// History reads history back (from InfluxDB, through the app's adapter of
// store.Querier): what FetchHistory needs, defined here so that the rules
// depend on no storage package.
type History interface {
	// PointHistory returns the samples of one point (field) of every
	// device of an equipment type (measurement) in [start, stop).
	PointHistory(ctx context.Context, measurement, point string, start, stop time.Time) ([]HistorySample, error)
}

// HistorySample is one stored sample of one device's point.
type HistorySample struct {
	Device string
	Time   time.Time
	Value  float64
}

// WindowNeed is the history window functions need of one point of one
// equipment type: Span back from now, the longest window over the point.
type WindowNeed struct {
	Type  string
	Point string
	Kind  drivers.Kind
	Span  time.Duration
}

// WindowNeeds lists, per equipment type and point read inside a window
// function (avg, min, max, delta, rate, changes), the longest window over
// it: the history Backfill can use after a restart. It is fixed when the
// engine is built.
func (e *Engine) WindowNeeds() []WindowNeed {
	type key struct{ typ, point string }
	needs := map[key]WindowNeed{}
	for _, ds := range e.order {
		for name, s := range ds.series {
			if s.keep <= 0 || ds.dev.Points[name] == drivers.KindString {
				continue // age needs no history, and text has no window
			}
			k := key{ds.dev.Type, name}
			n := needs[k]
			// A poll interval more than the window, so that the oldest
			// sample read starts the window, not one interval into it.
			span := s.keep + max(ds.dev.Interval, time.Minute)
			needs[k] = WindowNeed{Type: k.typ, Point: name, Kind: ds.dev.Points[name], Span: max(n.Span, span)}
		}
	}
	return slices.SortedFunc(maps.Values(needs), func(a, b WindowNeed) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Point, b.Point))
	})
}

// FetchHistory reads from q the samples needs ask for, in [now-Span, now),
// of every device. It touches no engine, so it can run on its own goroutine
// while the engine's owner goes on; hand the samples to Backfill there.
// On an error it returns what it read so far with the error.
func FetchHistory(ctx context.Context, q History, needs []WindowNeed, now time.Time) ([]drivers.Sample, error) {
	var out []drivers.Sample
	for _, n := range needs {
		hist, err := q.PointHistory(ctx, n.Type, n.Point, now.Add(-n.Span), now)
		if err != nil {
			return out, fmt.Errorf("window history of %s.%s: %w", n.Type, n.Point, err)
		}
		for _, p := range hist {
			v := drivers.Float(p.Value)
			if n.Kind == drivers.KindBool {
				v = drivers.Bool(p.Value != 0)
			}
			out = append(out, drivers.Sample{Time: p.Time, Device: p.Device, Measurement: n.Type, Point: n.Point, Value: v})
		}
	}
	return out, nil
}

// Backfill puts history into the windows of the engine's rules, before the
// samples they hold already: after a restart, avg(p, "5m") then averages
// over five minutes at once instead of over what came since the start.
// Samples of unknown devices, points no window reads, and samples not older
// than a window's oldest are ignored. It evaluates nothing (the next
// evaluation uses the windows) and returns how many samples it took.
func (e *Engine) Backfill(samples []drivers.Sample) int {
	type key struct{ dev, point string }
	byKey := map[key][]point{}
	for _, s := range samples {
		ds := e.devices[s.Device]
		if ds == nil || s.Measurement != ds.dev.Type || s.Quality == drivers.Bad {
			continue
		}
		if sr := ds.series[s.Point]; sr != nil && sr.keep > 0 {
			k := key{s.Device, s.Point}
			byKey[k] = append(byKey[k], point{t: s.Time.UnixNano(), v: s.Value.Float64()})
		}
	}
	n := 0
	for k, pts := range byKey {
		slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.t, b.t) })
		n += e.devices[k.dev].series[k.point].backfill(pts)
	}
	return n
}

// backfill puts pts (in time order) before the samples the series holds,
// keeping those older than its oldest, and returns how many it kept.
func (s *series) backfill(pts []point) int {
	var old []point
	for _, p := range pts {
		if s.n > 0 && p.t >= s.at(0).t || len(old) > 0 && p.t <= old[len(old)-1].t {
			continue
		}
		old = append(old, p)
	}
	if len(old) == 0 {
		return 0
	}
	merged := make([]point, max(8, 2*(len(old)+s.n)))
	copy(merged, old)
	for i := range s.n {
		merged[len(old)+i] = s.at(i)
	}
	if s.n == 0 {
		last := old[len(old)-1]
		s.last, s.lastV = last.t, last.v
	}
	if s.from == 0 || old[0].t < s.from {
		s.from = old[0].t
	}
	s.ring, s.head, s.n = merged, 0, len(old)+s.n
	return len(old)
}
