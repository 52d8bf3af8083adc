package inspections

import (
	"fmt"
	"maps"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// complete is the plan's part of a completion (or skip) on st: the record
// of the cycle it closes and the state of the next cycle. Pure.
func (p *Plan) complete(st tickets.InspectionState, c tickets.Completion, via string) (tickets.InspectionState, tickets.InspectionRecord) {
	loc := p.zone()
	atDay := dayOf(c.At, loc)
	rec := tickets.InspectionRecord{Plan: p.Name, Device: st.Device, Kind: tickets.RecordDone, At: c.At,
		Actor: c.Actor, Note: c.Note, Counters: maps.Clone(c.Counters), TicketID: st.TicketID, Via: via, OnTime: true}
	if c.Skip {
		rec.Kind = tickets.RecordSkipped
	}
	if via == "" && c.TicketID != 0 {
		rec.TicketID = c.TicketID
	}
	rec.DueAt = st.Estimated
	if rec.DueAt.IsZero() {
		rec.DueAt = st.NextDue
	}
	if !rec.DueAt.IsZero() {
		rec.OnTime = c.At.Before(midnight(p.Grace.add(dayOf(rec.DueAt, loc)+1, 1), loc))
	}
	if !c.Skip && !st.LastDone.IsZero() && c.At.Before(st.LastDone) {
		// Work recorded after a later completion: history, not a reason
		// to move the schedule back.
		return st, rec
	}
	out := st
	out.Status, out.TicketID, out.UpdatedAt = string(StatusOK), 0, c.At
	if c.Skip {
		out.Status = string(StatusSkipped)
	} else {
		out.LastDone = c.At
	}
	if p.hasCalendar() {
		ref := atDay
		if !st.NextDue.IsZero() && (c.Skip || p.Schedule == Fixed) {
			ref = max(ref, dayOf(st.NextDue, loc))
		}
		var next int
		if p.Schedule == Fixed {
			a, ok := p.anchor(st, loc)
			if !ok {
				a = dateOf(atDay)
			}
			out.Anchor = midnight(a.day(), loc)
			next = nextCycle(a, p.Every, ref, false)
		} else {
			next = p.Every.add(ref, 1)
		}
		out.NextDue = midnight(next, loc)
		out.Estimated, out.DueBy = out.NextDue, "calendar"
	} else {
		out.Estimated, out.DueBy = time.Time{}, ""
	}
	if len(p.Counters) > 0 {
		out.LastCounters, out.NextCounters = maps.Clone(st.LastCounters), map[string]float64{}
		if out.LastCounters == nil {
			out.LastCounters = map[string]float64{}
		}
		for _, cr := range p.Counters {
			v, ok := c.Counters[cr.Point]
			switch {
			case !ok:
				// Not read at completion: the next reading starts the count.
				delete(out.LastCounters, cr.Point)
			case !c.Skip:
				out.LastCounters[cr.Point] = v
				out.NextCounters[cr.Point] = v + cr.Every
			default:
				out.NextCounters[cr.Point] = v + cr.Every
				if last, ok := out.LastCounters[cr.Point]; ok && last > v {
					out.LastCounters[cr.Point] = v
				}
			}
		}
	}
	return out, rec
}

// Advance is the plans' part of a completion, a tickets.InspectionAdvancer:
// the store calls it inside the transaction of tickets.Store.
// CompleteInspection with the device's current states by plan. A completion
// completes the plan and every plan it includes that applies to the device
// (their records name it in Via); a skip skips only the plan. A completion
// dated before the recorded last one is history only: the schedule does not
// move back. It reads no clock.
func (e *Engine) Advance(states map[string]tickets.InspectionState, c tickets.Completion) ([]tickets.InspectionState, []tickets.InspectionRecord, error) {
	p := e.plans[c.Plan]
	if p == nil {
		return nil, nil, fmt.Errorf("%w: no inspection plan %q", tickets.ErrInvalid, c.Plan)
	}
	d := e.devices[c.Device]
	if d == nil || !p.Matches(d) {
		return nil, nil, fmt.Errorf("%w: plan %q does not apply to device %q", tickets.ErrInvalid, c.Plan, c.Device)
	}
	if c.At.IsZero() {
		return nil, nil, fmt.Errorf("%w: completion of %s on %q: the time is required", tickets.ErrInvalid, p, c.Device)
	}
	get := func(q *Plan) tickets.InspectionState {
		st, ok := states[q.Name]
		if !ok {
			st = tickets.InspectionState{Plan: q.Name, Device: c.Device}
		}
		return st
	}
	st, rec := p.complete(get(p), c, "")
	outS, outR := []tickets.InspectionState{st}, []tickets.InspectionRecord{rec}
	if c.Skip {
		return outS, outR, nil
	}
	for _, q := range p.closure {
		if !q.Matches(d) {
			continue
		}
		qc := c
		qc.TicketID = 0
		st, rec := q.complete(get(q), qc, p.Name)
		outS, outR = append(outS, st), append(outR, rec)
	}
	return outS, outR, nil
}
