package usage

import (
	"fmt"
	"slices"
	"time"
)

// Interval is the length of the slots consumption is reported in.
type Interval string

// Intervals: quarter hours, hours, calendar days and calendar months in the
// query's time zone.
const (
	Quarter Interval = "15m"
	Hour    Interval = "1h"
	Day     Interval = "1d"
	Month   Interval = "1mo"
)

// Intervals are the known intervals.
var Intervals = []Interval{Quarter, Hour, Day, Month}

// ParseInterval parses 15m, 1h, 1d or 1mo.
func ParseInterval(s string) (Interval, error) {
	if i := Interval(s); slices.Contains(Intervals, i) {
		return i, nil
	}
	return "", fmt.Errorf("unknown interval %q: use 15m, 1h, 1d or 1mo", s)
}

// grid is the slots of a query and the windows InfluxDB aggregates over:
// base windows of a fixed length (every, at offset from the epoch) that nest
// in the slots, so that slots are sums of base windows.
type grid struct {
	bounds []time.Time // slot i is [bounds[i], bounds[i+1])
	every  time.Duration
	offset time.Duration
	iv     Interval
	loc    *time.Location
	// back, when longer than the usual look-back, is how far before the
	// grid the query reads (the rollup's, see rollLookback).
	back time.Duration
}

// maxSlots bounds one query: a year of quarter hours.
const maxSlots = 366 * 96

// newGrid returns the slots of interval in loc that cover [from, to): from
// is moved back to the start of its slot and to forward to the end of its
// slot.
func newGrid(from, to time.Time, iv Interval, loc *time.Location) (*grid, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("from %v is not before to %v", from, to)
	}
	g := &grid{iv: iv, loc: loc}
	t := floor(from.In(loc), iv)
	for {
		g.bounds = append(g.bounds, t)
		if !t.Before(to) {
			break
		}
		if len(g.bounds) > maxSlots {
			return nil, fmt.Errorf("more than %d slots of %s: ask for a shorter range or a longer interval", maxSlots, iv)
		}
		t = next(t, iv)
	}
	g.every, g.offset = baseWindow(g.bounds, iv)
	return g, nil
}

// floor returns the start of the slot of interval iv that holds t, in t's
// location.
func floor(t time.Time, iv Interval) time.Time {
	y, mo, d := t.Date()
	switch iv {
	case Month:
		return time.Date(y, mo, 1, 0, 0, 0, 0, t.Location())
	case Day:
		return time.Date(y, mo, d, 0, 0, 0, 0, t.Location())
	}
	step := 15 * time.Minute
	if iv == Hour {
		step = time.Hour
	}
	// Local clock arithmetic: zones are whole quarter hours off UTC, so
	// truncating the local time of day is truncating the instant.
	_, off := t.Zone()
	shift := time.Duration(off) * time.Second
	return t.Add(shift).Truncate(step).Add(-shift)
}

// next returns the start of the slot after the one starting at t.
func next(t time.Time, iv Interval) time.Time {
	switch iv {
	case Month:
		return t.AddDate(0, 1, 0)
	case Day:
		return t.AddDate(0, 0, 1)
	case Hour:
		return t.Add(time.Hour)
	}
	return t.Add(15 * time.Minute)
}

// baseWindow chooses the windows InfluxDB aggregates over: the slot length
// when every slot is the same length and starts on the same grid, days for
// days and months in a zone whose offset holds over the range, and hours or
// quarter hours otherwise (across a daylight-saving change). Flux 0.65
// (influxd 1.8) has neither calendar months nor time zones in window(); its
// offset aligns fixed windows to the zone.
func baseWindow(bounds []time.Time, iv Interval) (every, offset time.Duration) {
	for _, every := range []time.Duration{24 * time.Hour, time.Hour, 15 * time.Minute} {
		if (iv == Hour && every > time.Hour) || (iv == Quarter && every > 15*time.Minute) {
			continue
		}
		off := bounds[0].UnixNano() % int64(every)
		if off < 0 {
			off += int64(every)
		}
		fits := true
		for _, b := range bounds {
			if (b.UnixNano()-off)%int64(every) != 0 {
				fits = false
				break
			}
		}
		if fits {
			return every, time.Duration(off)
		}
	}
	return time.Minute, 0 // not reached: zones are whole quarter hours off UTC
}

// slot returns the index of the slot holding t, or -1 outside the grid.
func (g *grid) slot(t time.Time) int {
	if t.Before(g.bounds[0]) || !t.Before(g.bounds[len(g.bounds)-1]) {
		return -1
	}
	i, found := slices.BinarySearchFunc(g.bounds, t, func(b, t time.Time) int { return b.Compare(t) })
	if !found {
		i--
	}
	return i
}

// slotFrom is slot for times in order: it looks from the slot found
// before (hint) onward, and searches only when t is behind it.
func (g *grid) slotFrom(t time.Time, hint int) int {
	if hint >= 0 && hint < len(g.bounds)-1 && !t.Before(g.bounds[hint]) {
		for i := hint; i < len(g.bounds)-1 && i < hint+8; i++ {
			if t.Before(g.bounds[i+1]) {
				return i
			}
		}
	}
	return g.slot(t)
}

// slots is the number of slots.
func (g *grid) slots() int { return len(g.bounds) - 1 }

// start and stop bound the grid.
func (g *grid) start() time.Time { return g.bounds[0] }
func (g *grid) stop() time.Time  { return g.bounds[len(g.bounds)-1] }

// baseStart returns the start of the base window holding t.
func (g *grid) baseStart(t time.Time) time.Time {
	ns := t.UnixNano() - int64(g.offset)
	r := ns % int64(g.every)
	if r < 0 {
		r += int64(g.every)
	}
	return time.Unix(0, t.UnixNano()-r)
}

// lookback is how far before the grid the query reads, so that the step
// from the last reading before the range to the first in it is counted.
func (g *grid) lookback() time.Duration {
	back := max(g.every, time.Hour)
	if g.back > back { // whole base windows, as InfluxDB groups them
		back = (g.back + g.every - 1) / g.every * g.every
	}
	return back
}
