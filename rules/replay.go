package rules

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Reads returns, per equipment type, the points the rules of its devices
// read (window functions included), sorted: what a replay has to fetch.
func (e *Engine) Reads() map[string][]string {
	sets := map[string]map[string]bool{}
	for _, ds := range e.order {
		set := sets[ds.dev.Type]
		if set == nil {
			set = map[string]bool{}
			sets[ds.dev.Type] = set
		}
		for _, in := range ds.instances {
			for _, p := range []*program{in.expr, in.clear, in.value} {
				if p == nil {
					continue
				}
				for _, name := range p.reads {
					if !strings.Contains(name, "(") {
						set[name] = true
					}
				}
				for _, ref := range p.refs {
					set[ref.point] = true
				}
			}
		}
	}
	out := make(map[string][]string, len(sets))
	for typ, set := range sets {
		if len(set) > 0 {
			out[typ] = slices.Sorted(maps.Keys(set))
		}
	}
	return out
}

// Replay evaluates recorded samples as the daemon would have seen them
// live: in time order, the samples of one device at one instant as one
// poll, with the timers evaluated every step, from from up to (not
// including) to. Samples may come in any order; those outside [from, to)
// are ignored. Call it chunk after chunk of history, in order, on one
// engine; it returns the transitions in the order they happened.
func (e *Engine) Replay(samples []drivers.Sample, from, to time.Time, step time.Duration) []Transition {
	slices.SortStableFunc(samples, func(a, b drivers.Sample) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Device, b.Device))
	})
	var out []Transition
	tick := from
	if e.replayNext.After(from) {
		tick = e.replayNext // resume on the grid of the previous chunk
	}
	defer func() { e.replayNext = tick }()
	i := 0
	for i < len(samples) && samples[i].Time.Before(from) {
		i++
	}
	for {
		// The polls up to this tick, then the tick.
		for i < len(samples) && !samples[i].Time.After(tick) && samples[i].Time.Before(to) {
			j := i + 1
			for j < len(samples) && samples[j].Time.Equal(samples[i].Time) && samples[j].Device == samples[i].Device {
				j++
			}
			out = append(out, e.Observe(samples[i:j])...)
			i = j
		}
		if !tick.Before(to) {
			return out
		}
		out = append(out, e.Eval(tick)...)
		tick = tick.Add(step)
	}
}
