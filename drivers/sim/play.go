package sim

import (
	"fmt"
	"strings"
	"time"
)

// Series is what a model gave at each step of Play.
type Series struct {
	Times []time.Time
	// Values holds, for each point asked for, its value at each time.
	Values map[string][]float64
}

// Play steps the model of one device of equipment type typ, as device id of
// a building with the given seed, from `from` to `to` (both included) every
// step, with faults whose delays count from `from`, and returns the points
// asked for: the models themselves, without registers or a database, for
// tests that need a year of a meter in a second. A device played here plays
// as it does live and in a backfill stepped alike.
func Play(typ, id string, seed int64, faults []Fault, from, to time.Time, step time.Duration, points ...string) (Series, error) {
	m := deviceModel(typ, seed, id)
	if m == nil {
		return Series{}, fmt.Errorf("device %q: no model for equipment type %q: use one of %s", id, typ, strings.Join(Models(), ", "))
	}
	if step <= 0 || to.Before(from) {
		return Series{}, fmt.Errorf("device %q: play from %s to %s every %s: want from ≤ to and a positive step", id, from, to, step)
	}
	for _, f := range faults {
		if err := checkFault(f, typ, true); err != nil {
			return Series{}, fmt.Errorf("device %q: %w", id, err)
		}
	}
	for _, p := range points {
		if _, ok := m.value(p); !ok {
			return Series{}, fmt.Errorf("device %q: the %s model has no point %q", id, typ, p)
		}
	}
	startFaults(m, id, faults, from, nil)
	n := int(to.Sub(from)/step) + 1
	s := Series{Times: make([]time.Time, 0, n), Values: map[string][]float64{}}
	for _, p := range points {
		s.Values[p] = make([]float64, 0, n)
	}
	active := map[string]bool{}
	for i := range n {
		now := from.Add(time.Duration(i) * step)
		dt := step
		if i == 0 {
			dt = 0
		}
		for _, f := range faults {
			if !IsEnergyFault(f.Kind) && now.Sub(from) >= f.After {
				active[f.Kind] = true
			}
		}
		m.step(now, dt, active)
		s.Times = append(s.Times, now)
		for _, p := range points {
			v, _ := m.value(p)
			s.Values[p] = append(s.Values[p], v)
		}
	}
	return s, nil
}
