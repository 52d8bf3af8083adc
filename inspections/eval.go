package inspections

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// Live gives the current reading of a device's counter, of good quality;
// ok is false when there is none.
type Live interface {
	Counter(device, point string) (value float64, ok bool)
}

// Usage gives a counter's average daily use over the last 30 days (units per
// day), to estimate when it falls due; ok is false when it is not known. The
// app implements it over InfluxDB; it is called on every tick, so it must
// answer from memory.
type Usage interface {
	DailyUse(device, point string) (perDay float64, ok bool)
}

// Readings is a Live over a map of device → point → value.
type Readings map[string]map[string]float64

// Counter returns the reading, if any.
func (r Readings) Counter(device, point string) (float64, bool) {
	v, ok := r[device][point]
	return v, ok
}

// DailyUses is a Usage over a map of device → point → units per day.
type DailyUses map[string]map[string]float64

// DailyUse returns the daily use, if any.
func (u DailyUses) DailyUse(device, point string) (float64, bool) {
	v, ok := u[device][point]
	return v, ok
}

// Step is what one evaluation did to a plan × device state.
type Step struct {
	// State is the state after the step.
	State tickets.InspectionState
	// Changed says State differs from the input: the store must write it.
	Changed bool
	// From is the status before the step.
	From Status
	// Records are the counter rebases of the step.
	Records []tickets.InspectionRecord
	// NeedsTicket says the status asks for an inspection ticket and the
	// state has none open.
	NeedsTicket bool
}

// clock is the time of one evaluation with its day in the plan's zone,
// computed once per tick and zone.
type clock struct {
	now   time.Time
	loc   *time.Location
	today int
}

func newClock(now time.Time, loc *time.Location) clock {
	return clock{now: now, loc: loc, today: dayOf(now, loc)}
}

// Eval is one pure step of the plan for the device st.Device at now: it
// starts a new state's cycle, rebases counters that went backwards, and
// sets the status, the estimate and what is due first. It reads no clock;
// usage may be nil. Check must have run on the plan.
func (p *Plan) Eval(st tickets.InspectionState, live Live, usage Usage, now time.Time) Step {
	return p.eval(st, live, usage, newClock(now, p.zone()), nil)
}

// hasCalendar reports whether the plan falls due by the calendar.
func (p *Plan) hasCalendar() bool { return !p.Every.IsZero() }

// anchor is the fixed schedule's anchor for st, or false when the plan
// has none yet.
func (p *Plan) anchor(st tickets.InspectionState, loc *time.Location) (Date, bool) {
	switch {
	case p.DayOfMonth > 0 && p.Anchor.IsZero():
		return Date{2000, time.January, p.DayOfMonth}, true
	case !p.Anchor.IsZero():
		return p.Anchor, true
	case !st.Anchor.IsZero():
		return dateOf(dayOf(st.Anchor, loc)), true
	}
	return Date{}, false
}

// candidate is a day the plan falls (or fell) due by one of its measures.
type candidate struct {
	day int
	by  string
	due bool
}

func (p *Plan) eval(st tickets.InspectionState, live Live, usage Usage, c clock, seen []float64) Step {
	out := st
	step := Step{From: Status(st.Status)}
	if out.Status == "" {
		out.Status = string(StatusOK)
	}
	mapsChanged := false
	cow := func() {
		if !mapsChanged {
			out.LastCounters, out.NextCounters = maps.Clone(out.LastCounters), maps.Clone(out.NextCounters)
			if out.LastCounters == nil {
				out.LastCounters = map[string]float64{}
			}
			if out.NextCounters == nil {
				out.NextCounters = map[string]float64{}
			}
			mapsChanged = true
		}
	}
	wasDue := step.From == StatusDue || step.From == StatusOverdue
	var best candidate
	found := false
	consider := func(cd candidate) {
		if !found || cd.day < best.day || cd.day == best.day && cd.due && !best.due {
			best, found = cd, true
		}
	}
	due, soon := false, false

	if p.hasCalendar() {
		if p.Schedule == Fixed {
			a, ok := p.anchor(out, c.loc)
			if !ok {
				a = dateOf(c.today)
			}
			if at := midnight(a.day(), c.loc); !at.Equal(out.Anchor) && p.DayOfMonth == 0 {
				out.Anchor = at
			}
			if out.NextDue.IsZero() {
				switch {
				case !out.LastDone.IsZero():
					out.NextDue = midnight(nextCycle(a, p.Every, dayOf(out.LastDone, c.loc), false), c.loc)
				case ok: // a written anchor: its cycles are due dates
					out.NextDue = midnight(nextCycle(a, p.Every, c.today, true), c.loc)
				default:
					out.NextDue = midnight(nextCycle(a, p.Every, c.today, false), c.loc)
				}
			}
		} else if out.NextDue.IsZero() {
			base := c.today
			if !out.LastDone.IsZero() {
				base = dayOf(out.LastDone, c.loc)
			}
			out.NextDue = midnight(p.Every.add(base, 1), c.loc)
		}
		nd := dayOf(out.NextDue, c.loc)
		switch {
		case c.today >= nd:
			due = true
		case c.today >= p.Lead.add(nd, -1):
			soon = true
		}
		consider(candidate{nd, "calendar", c.today >= nd})
	}

	for i, cr := range p.Counters {
		cur, ok := live.Counter(st.Device, cr.Point)
		if ok && (math.IsNaN(cur) || math.IsInf(cur, 0)) {
			ok = false
		}
		if !ok && seen != nil && !math.IsNaN(seen[i]) {
			cur, ok = seen[i], true // unread now: the last reading holds
		}
		if !ok {
			if wasDue && out.DueBy == cr.Point && !out.Estimated.IsZero() {
				due = true // unread after a restart: stays due, never undue by accident
				consider(candidate{dayOf(out.Estimated, c.loc), cr.Point, true})
			}
			continue
		}
		last, hasLast := out.LastCounters[cr.Point]
		next, hasNext := out.NextCounters[cr.Point]
		prev := last
		if seen != nil && !math.IsNaN(seen[i]) && seen[i] > prev {
			prev = seen[i]
		}
		switch {
		case !hasNext:
			cow()
			if !hasLast || cur < last {
				last = cur
				out.LastCounters[cr.Point] = cur
			}
			next = last + cr.Every
			out.NextCounters[cr.Point] = next
		case cur < prev:
			// A meter swap or controller reset: keep the units to go as
			// they were at the last reading seen (a full interval when
			// none was seen since the completion), never less than none.
			cow()
			togo := max(0, next-prev)
			out.LastCounters[cr.Point], out.NextCounters[cr.Point] = cur, cur+togo
			step.Records = append(step.Records, tickets.InspectionRecord{Plan: p.Name, Device: st.Device,
				Kind: tickets.RecordRebased, At: c.now, Actor: "facilityd", Counters: map[string]float64{cr.Point: cur},
				Note: fmt.Sprintf("%s went back from %s to %s (meter swap or reset): rebased with %s to go, due at %s",
					cr.Point, num(prev), num(cur), num(togo), num(cur+togo))})
			next = cur + togo
		}
		if seen != nil {
			seen[i] = cur
		}
		togo := next - cur
		if togo <= 0 {
			due = true
			since := c.today
			if wasDue && out.DueBy == cr.Point && !out.Estimated.IsZero() {
				since = min(since, dayOf(out.Estimated, c.loc))
			}
			consider(candidate{since, cr.Point, true})
			continue
		}
		if cr.LeadUnits > 0 && togo <= cr.LeadUnits {
			soon = true
		}
		if usage == nil {
			continue
		}
		if perDay, ok := usage.DailyUse(st.Device, cr.Point); ok && perDay > 0 && togo/perDay < 36500 {
			est := dayOf(c.now.Add(time.Duration(togo/perDay*float64(24*time.Hour))), c.loc)
			if !wasDue && out.DueBy == cr.Point && !out.Estimated.IsZero() {
				if old := dayOf(out.Estimated, c.loc); old > c.today && est-old <= 1 && old-est <= 1 {
					est = old // a day's wobble of the average does not rewrite the state
				}
			}
			consider(candidate{est, cr.Point, false})
			if cr.LeadUnits == 0 && c.today >= p.Lead.add(est, -1) && !p.Lead.IsZero() {
				soon = true
			}
		}
	}

	status := StatusOK
	switch {
	case due && c.today >= p.Grace.add(best.day+1, 1):
		status = StatusOverdue
	case due:
		status = StatusDue
	case soon:
		status = StatusDueSoon
	case out.TicketID != 0:
		status = StatusDueSoon // opened early, with a deeper plan's visit
	case step.From == StatusSkipped:
		status = StatusSkipped
	}
	out.Status = string(status)
	if found {
		if est := midnight(best.day, c.loc); !est.Equal(out.Estimated) {
			out.Estimated = est
		}
		out.DueBy = best.by
	} else {
		out.Estimated, out.DueBy = time.Time{}, ""
	}
	step.NeedsTicket = status.open() && out.TicketID == 0
	step.Changed = mapsChanged || out.Status != st.Status || !out.NextDue.Equal(st.NextDue) ||
		!out.Anchor.Equal(st.Anchor) || !out.Estimated.Equal(st.Estimated) || out.DueBy != st.DueBy
	if step.Changed {
		out.UpdatedAt = c.now
	}
	step.State = out
	return step
}

// num formats a counter value without noise.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
