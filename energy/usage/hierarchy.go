package usage

import (
	"fmt"
	"math"
	"slices"
)

// Remainder is the unmetered part of a meter with sub-meters: the meter less
// the sum of its sub-meters, slot by slot. It is never clipped: a negative
// remainder (sub-meters reading more than their parent: a wrong CT ratio, a
// sub-meter on the wrong parent, or missing readings of the parent) is
// reported as it is, and flagged.
type Remainder struct {
	Children []string `json:"children"`
	Total    float64  `json:"total"`
	Slots    []Slot   `json:"slots"`
	// Negative lists the starts of the slots where it is below zero.
	Negative []string `json:"negative,omitempty"`
}

// negligible is how far below zero a remainder may be before it is flagged:
// rounding of the readings.
const negligible = 1e-6

// remainders fills in the Remainder of every usage whose meter has
// sub-meters among us, and returns a warning for each negative one.
func remainders(us []Usage) []string {
	byID := map[string]int{}
	for i, u := range us {
		byID[u.Meter] = i
	}
	children := map[string][]int{}
	for i, u := range us {
		if _, ok := byID[u.Parent]; ok && u.Parent != "" {
			children[u.Parent] = append(children[u.Parent], i)
		}
	}
	var warnings []string
	for i := range us {
		kids := children[us[i].Meter]
		if len(kids) == 0 {
			continue
		}
		p := &us[i]
		r := &Remainder{Slots: slices.Clone(p.Slots)}
		for _, k := range kids {
			c := us[k]
			r.Children = append(r.Children, c.Meter)
			for j := range r.Slots {
				r.Slots[j].Amount -= c.Slots[j].Amount
				r.Slots[j].Samples = min(r.Slots[j].Samples, c.Slots[j].Samples)
				r.Slots[j].CoveragePct = min(r.Slots[j].CoveragePct, c.Slots[j].CoveragePct)
			}
		}
		var worst float64
		for _, s := range r.Slots {
			r.Total += s.Amount
			if s.Amount < -negligible*max(1, math.Abs(p.Total)) {
				r.Negative = append(r.Negative, s.Start.Format("2006-01-02T15:04:05Z07:00"))
				worst = min(worst, s.Amount)
			}
		}
		if len(r.Negative) > 0 {
			warnings = append(warnings, fmt.Sprintf("meter %q: its sub-meters read more than it in %d slots (down to %.3f %s): check their CT ratios, parents and coverage",
				p.Meter, len(r.Negative), worst, p.Unit))
		}
		p.Remainder = r
	}
	return warnings
}

// exclusive is the part of u no sub-meter among us accounts for: its
// remainder when it has sub-meters, else all of it. Summed over a tree it
// gives the root's consumption, so groups count every kWh once.
func exclusive(u *Usage) []Slot {
	if u.Remainder != nil {
		return u.Remainder.Slots
	}
	return u.Slots
}
