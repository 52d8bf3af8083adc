package usage

import "time"

// Reading is one value of a meter's point.
type Reading struct {
	Time  time.Time
	Value float64
}

// FromPoints computes m's consumption over [from, to) in slots of iv in loc
// from its readings held in memory, oldest first (a CSV file, a test): the
// same window sums, drops and gaps InfluxDB computes, then the same
// assembly. Readings before from count only for the step into the range.
func FromPoints(m *Meter, readings []Reading, from, to time.Time, iv Interval, loc *time.Location) (Usage, error) {
	g, err := newGrid(from, to, iv, loc)
	if err != nil {
		return Usage{}, err
	}
	return assemble(m, g, seriesOf(m, g, readings)), nil
}

// seriesOf is what the Flux of flux.go returns, computed in memory.
func seriesOf(m *Meter, g *grid, rs []Reading) series {
	var s series
	index := map[time.Time]int{}
	win := func(t time.Time) *windowAgg {
		start := g.baseStart(t)
		i, ok := index[start]
		if !ok {
			i = len(s.Windows)
			index[start] = i
			s.Windows = append(s.Windows, windowAgg{Start: start})
		}
		return &s.Windows[i]
	}
	begin, maxGap := g.start().Add(-g.lookback()), m.maxGap()
	var prev *Reading
	for i := range rs {
		r := &rs[i]
		if r.Time.Before(begin) || !r.Time.Before(g.stop()) {
			continue
		}
		w := win(r.Time)
		w.Count++
		if prev != nil {
			st := step{Time: r.Time, Delta: r.Value - prev.Value, After: r.Value, Elapsed: r.Time.Sub(prev.Time)}
			gap := st.Elapsed > maxGap
			switch {
			case m.Power == "":
				w.Sum += st.Delta
				if st.Delta < 0 {
					s.Drops = append(s.Drops, st)
				}
			case !gap:
				w.Sum += (r.Value + prev.Value) / 2 * st.Elapsed.Hours()
			}
			if gap {
				s.Gaps = append(s.Gaps, st)
			}
		}
		prev = r
	}
	return s
}
