package usage

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// windowAgg is what InfluxDB computes over one base window of one meter.
type windowAgg struct {
	Start time.Time
	Count int
	// Sum is, for a counter, the sum of the differences between consecutive
	// readings whose later reading is in the window, drops included as
	// they are (assemble corrects them); for power, the trapezoids ending in
	// the window, in Unit·h, steps longer than the meter's MaxGap left out.
	Sum float64
}

// step is one step between consecutive readings worth a look: a drop of a
// counter, or a gap.
type step struct {
	Time    time.Time // of the later reading
	Delta   float64   // later − earlier
	After   float64   // the later reading
	Elapsed time.Duration
}

// series is what assemble needs of one meter over a grid.
type series struct {
	Windows []windowAgg
	Drops   []step
	Gaps    []step
	// every is the windows' length when it is not the grid's (the
	// rollup's quarters): what the poll interval is estimated with.
	every time.Duration
}

// EventKind is what happened between two readings.
type EventKind string

// Event kinds.
const (
	// Reset: the counter dropped to near zero and counts from there; the
	// reading after counts in full.
	Reset EventKind = "reset"
	// Rollover: the counter passed its declared rollover; the step counts
	// rollover − before + after.
	Rollover EventKind = "rollover"
	// Swap: a drop that is neither, such as a new meter with a reading of
	// its own; the step counts nothing, the slot holds the old meter's
	// part before it and the new meter's after.
	Swap EventKind = "swap"
	// Gap: more than the meter's max_gap between two readings. A counter's
	// rise across it is counted in the slot of the reading after (it was
	// used, only when is unknown); a power is not integrated across it.
	Gap EventKind = "gap"
)

// Event is one reset, rollover, swap or gap.
type Event struct {
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`
	// Before and After are the readings on either side, in the point's
	// unit.
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// Since is, for a gap, the time of the reading before.
	Since *time.Time `json:"since,omitempty"`
	// Counted is what the step adds to the consumption, in the meter's
	// output unit.
	Counted float64 `json:"counted"`
}

// Slot is the consumption of one interval.
type Slot struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Amount float64   `json:"amount"`
	// Samples is the number of readings in the slot, CoveragePct their
	// share of those the poll interval expects (at most 100).
	Samples     int     `json:"samples"`
	CoveragePct float64 `json:"coverage_pct"`
}

// Usage is the consumption of one meter, slot by slot.
type Usage struct {
	Meter    string   `json:"meter"`
	Device   string   `json:"device"`
	Point    string   `json:"point"`
	Source   string   `json:"source"` // counter or power
	Category Category `json:"category"`
	SubItem  SubItem  `json:"sub_item,omitempty"`
	Building string   `json:"building,omitempty"`
	Site     string   `json:"site,omitempty"`
	Parent   string   `json:"parent,omitempty"`
	Unit     string   `json:"unit"`
	Total    float64  `json:"total"`
	// CoveragePct is the share of expected readings present over the range.
	CoveragePct float64 `json:"coverage_pct"`
	// PollInterval is the one coverage was computed with: the meter's, or
	// estimated from the readings when it has none.
	PollInterval string  `json:"poll_interval"`
	Slots        []Slot  `json:"slots"`
	Events       []Event `json:"events"`
	// Remainder, for a meter with sub-meters, is this meter less their sum.
	Remainder *Remainder `json:"remainder,omitempty"`
}

// classify reads the step from before to after of m's counter: how much was
// used, and what happened if the counter dropped.
func classify(before, after float64, m *Meter) (EventKind, float64) {
	if after >= before {
		return "", after - before
	}
	if r := m.Rollover; r > 0 && before <= r && before-after > r/2 {
		return Rollover, r - before + after
	}
	resetBelow := m.ResetBelow
	if resetBelow == 0 {
		resetBelow = 0.01 * before
	}
	if after <= resetBelow {
		return Reset, after
	}
	return Swap, 0
}

// assemble turns the window aggregates, drops and gaps of m into slots of g
// and the events.
func assemble(m *Meter, g *grid, s series) Usage {
	u := Usage{Meter: m.ID, Device: m.Device, Point: m.Point(), Source: "counter", Category: m.Category,
		SubItem: m.SubItem, Building: m.Building, Site: m.Site, Parent: m.Parent, Unit: m.OutUnit(),
		Slots: make([]Slot, g.slots()), Events: []Event{}}
	if m.Power != "" {
		u.Source = "power"
	}
	for i := range u.Slots {
		u.Slots[i].Start, u.Slots[i].End = g.bounds[i], g.bounds[i+1]
	}
	scale := m.scale()
	hint := 0
	for _, w := range s.Windows {
		if i := g.slotFrom(w.Start, hint); i >= 0 {
			u.Slots[i].Amount += w.Sum * scale
			u.Slots[i].Samples += w.Count
			hint = i
		}
	}
	if m.Power == "" {
		for _, d := range s.Drops {
			i := g.slot(d.Time)
			if i < 0 {
				continue
			}
			before := d.After - d.Delta
			kind, counted := classify(before, d.After, m)
			u.Slots[i].Amount += (counted - d.Delta) * scale
			u.Events = append(u.Events, Event{Time: d.Time, Kind: kind, Before: before, After: d.After, Counted: counted * scale})
		}
	}
	for _, d := range s.Gaps {
		if g.slot(d.Time) < 0 {
			continue
		}
		counted := 0.0
		if m.Power == "" {
			_, counted = classify(d.After-d.Delta, d.After, m)
		}
		since := d.Time.Add(-d.Elapsed)
		u.Events = append(u.Events, Event{Time: d.Time, Kind: Gap, Before: d.After - d.Delta, After: d.After, Since: &since, Counted: counted * scale})
	}
	// A gap and a drop at one reading: the gap came first.
	slices.SortStableFunc(u.Events, func(a, b Event) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(gapFirst(a.Kind), gapFirst(b.Kind)))
	})
	poll := m.PollInterval
	if poll <= 0 {
		poll = estimatePoll(s.Windows, cmp.Or(s.every, g.every))
	}
	u.PollInterval = poll.String()
	var samples, expected float64
	for i := range u.Slots {
		sl := &u.Slots[i]
		u.Total += sl.Amount
		want := float64(sl.End.Sub(sl.Start)) / float64(poll)
		sl.CoveragePct = pct(float64(sl.Samples), want)
		samples += float64(sl.Samples)
		expected += want
	}
	u.CoveragePct = pct(samples, expected)
	return u
}

// gapFirst orders gaps before the other events of the same reading.
func gapFirst(k EventKind) int {
	if k == Gap {
		return 0
	}
	return 1
}

// pct is have/want in percent, at most 100, rounded to 0.1.
func pct(have, want float64) float64 {
	if want <= 0 {
		return 0
	}
	return math.Round(min(1, have/want)*1000) / 10
}

// estimatePoll guesses the poll interval of a meter that declares none: the
// base window over the median count of the windows that have readings.
func estimatePoll(ws []windowAgg, every time.Duration) time.Duration {
	var counts []int
	for _, w := range ws {
		if w.Count > 0 {
			counts = append(counts, w.Count)
		}
	}
	if len(counts) == 0 {
		return every
	}
	slices.Sort(counts)
	return (every / time.Duration(counts[len(counts)/2])).Round(time.Second)
}
