package inspections

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

const pumpPlan = `
inspections:
  - name: pump_service
    description: 水泵保养 pump service
    match: {type: pump}
    every: 6mo
    counters: [{point: run_hours, every: 2000}]
    lead: 14d
    grace: 7d
`

// TestWhicheverFirst: the calendar or the counter, whichever falls due
// first, and the counter's date estimated from its daily use.
func TestWhicheverFirst(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	p := plans(t, pumpPlan, loc, pump("p1"))[0]
	done, _ := p.complete(tickets.InspectionState{Plan: p.Name, Device: "p1"},
		tickets.Completion{At: day(loc, "2026-01-10 10:00"), Counters: map[string]float64{"run_hours": 1000}}, "")
	if !done.NextDue.Equal(day(loc, "2026-07-10")) || done.NextCounters["run_hours"] != 3000 {
		t.Fatalf("after completion: %+v", done)
	}
	f := func(now string, hours, perDay float64, status Status, dueBy, estimated string) {
		t.Helper()
		use := DailyUses{"p1": {"run_hours": perDay}}
		s := p.Eval(done, Readings{"p1": {"run_hours": hours}}, use, day(loc, now))
		st := s.State
		if Status(st.Status) != status || st.DueBy != dueBy || st.Estimated.In(loc).Format(time.DateOnly) != estimated {
			t.Errorf("%s at %g h (%g h/day): %s by %s, estimated %s; want %s by %s, %s", now, hours, perDay,
				st.Status, st.DueBy, st.Estimated.In(loc).Format(time.DateOnly), status, dueBy, estimated)
		}
	}
	// 8 h a day: 2000 h take 250 days, the calendar (181 days) comes first.
	f("2026-03-01 12:00", 1400, 8, StatusOK, "calendar", "2026-07-10")
	f("2026-06-26 00:00", 2350, 8, StatusDueSoon, "calendar", "2026-07-10")
	// 24 h a day: run_hours fall due after 83 days, first.
	f("2026-03-01 12:00", 2000, 24, StatusOK, "run_hours", "2026-04-12")
	f("2026-04-01 00:00", 2800, 24, StatusDueSoon, "run_hours", "2026-04-09") // within lead of the estimate
	f("2026-04-09 03:00", 3000, 24, StatusDue, "run_hours", "2026-04-09")
	// Unknown use: no estimate, the calendar stands until the counter is due.
	f("2026-04-01 00:00", 2800, 0, StatusOK, "calendar", "2026-07-10")
	f("2026-07-11 00:00", 2800, 0, StatusDue, "calendar", "2026-07-10")
	f("2026-07-18 00:00", 2800, 0, StatusOverdue, "calendar", "2026-07-10") // due day + 7d grace ended
	f("2026-07-17 23:59", 2800, 0, StatusDue, "calendar", "2026-07-10")

	// Due by the counter since a day: overdue once the grace after that day ends.
	s := p.Eval(done, Readings{"p1": {"run_hours": 3001}}, nil, day(loc, "2026-04-09 03:00"))
	for _, c := range []struct {
		at   string
		want Status
	}{{"2026-04-16 23:00", StatusDue}, {"2026-04-17 00:00", StatusOverdue}} {
		if got := p.Eval(s.State, Readings{"p1": {"run_hours": 3100}}, nil, day(loc, c.at)).State; Status(got.Status) != c.want || !got.Estimated.Equal(day(loc, "2026-04-09")) {
			t.Errorf("%s: %s since %s, want %s since 2026-04-09", c.at, got.Status, got.Estimated, c.want)
		}
	}
	// Unread after a restart (no last reading in memory): stays due.
	if got := p.Eval(s.State, noLive{}, nil, day(loc, "2026-04-10")).State; Status(got.Status) != StatusDue {
		t.Errorf("unread counter: %s, want due", got.Status)
	}
}

// TestCounterReset: a counter that goes backwards rebases with the units
// to go it had, records it, and neither falls due nor stops falling due.
func TestCounterReset(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	p := plans(t, pumpPlan, loc, pump("p1"))[0]
	st, _ := p.complete(tickets.InspectionState{Plan: p.Name, Device: "p1"},
		tickets.Completion{At: day(loc, "2026-01-10 10:00"), Counters: map[string]float64{"run_hours": 1000}}, "")
	seen := []float64{2500} // the last reading seen before the reset
	s := p.eval(st, Readings{"p1": {"run_hours": 3}}, nil, newClock(day(loc, "2026-02-01"), loc), seen)
	if got := s.State; Status(got.Status) != StatusOK || got.NextCounters["run_hours"] != 503 || got.LastCounters["run_hours"] != 3 || !s.Changed {
		t.Errorf("after reset: %s, next %v, last %v", got.Status, got.NextCounters, got.LastCounters)
	}
	if len(s.Records) != 1 || s.Records[0].Kind != tickets.RecordRebased || !strings.Contains(s.Records[0].Note, "went back from 2500 to 3") {
		t.Errorf("records: %+v", s.Records)
	}
	// Without a reading in memory (after a restart): a full interval.
	s = p.eval(st, Readings{"p1": {"run_hours": 3}}, nil, newClock(day(loc, "2026-02-01"), loc), nil)
	if got := s.State.NextCounters["run_hours"]; got != 2003 {
		t.Errorf("after reset, nothing seen: due at %v, want 2003", got)
	}
	// Already due: stays due.
	seen = []float64{3200}
	s = p.eval(st, Readings{"p1": {"run_hours": 0}}, nil, newClock(day(loc, "2026-02-01"), loc), seen)
	if Status(s.State.Status) != StatusDue || s.State.NextCounters["run_hours"] != 0 {
		t.Errorf("reset while due: %s, next %v", s.State.Status, s.State.NextCounters)
	}
	// The engine: the record is written, the ticket opens on the next tick.
	store := newFakeStore()
	e, err := New([]*Plan{p}, []*Device{pump("p1")}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, hours := range []float64{1000, 2990, 5} {
		if _, err := e.Tick(ctx, day(loc, "2026-02-01").Add(time.Duration(i)*time.Hour), Readings{"p1": {"run_hours": hours}}); err != nil {
			t.Fatal(err)
		}
	}
	got := store.state(p.Name, "p1")
	if got.NextCounters["run_hours"] != 15 || len(store.records) != 1 || store.records[0].Kind != tickets.RecordRebased {
		t.Errorf("engine after reset: next %v, records %+v", got.NextCounters, store.records)
	}
}

// TestNesting: a completion of the yearly service completes the plans it
// includes, through the others; an opening replaces the open tickets of
// the included plans; a shallower plan never opens while a deeper one is.
func TestNesting(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	ps := plans(t, `
inspections:
  - {name: half_monthly, match: {type: elevator}, every: 15d, lead: 3d, checklist: [{text: brake}]}
  - {name: quarterly, match: {type: elevator}, every: 3mo, lead: 3d, includes: [half_monthly], checklist: [{text: rope}, {text: brake}]}
  - {name: yearly, match: {type: elevator}, every: 1y, lead: 3d, includes: [quarterly], checklist: [{text: load test}]}
  - {name: other, match: {devices: [e2]}, every: 1mo}
`, loc, elevator("e1"), elevator("e2"))
	if got := ps[2].FullChecklist(); len(got) != 3 || got[0].Text != "brake" || got[1].Text != "rope" || got[2].Text != "load test" || got[2].Index != 3 {
		t.Errorf("yearly checklist: %+v", got)
	}
	store := newFakeStore()
	e, err := New(ps, []*Device{elevator("e1"), elevator("e2")}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	store.SetInspectionAdvancer(e.Advance)
	ctx := context.Background()
	tick := func(at string) *Result { // what happened on e1
		t.Helper()
		res, err := e.Tick(ctx, day(loc, at), noLive{})
		if err != nil {
			t.Fatal(err)
		}
		var mine []Opened
		for _, o := range res.Opened {
			if o.Device == "e1" {
				mine = append(mine, o)
			}
		}
		res.Opened = mine
		return res
	}
	tick("2026-01-01") // HM due Jan 16, Q Apr 1, Y Jan 1 2027
	res := tick("2026-01-13")
	if len(res.Opened) != 1 || res.Opened[0].Plan != "half_monthly" {
		t.Fatalf("Jan 13: opened %+v", res.Opened)
	}
	// The quarterly visit comes while the half-monthly ticket is still open.
	res = tick("2026-03-29")
	if len(res.Opened) != 1 || res.Opened[0].Plan != "quarterly" || strings.Join(res.Opened[0].Replaces, ",") != "half_monthly" {
		t.Fatalf("Mar 29: opened %+v", res.Opened)
	}
	for _, tk := range store.openTickets() {
		if tk.Device == "e1" && tk.Plan != "quarterly" {
			t.Errorf("open on e1 beside the quarterly ticket: %s", tk.Key)
		}
	}
	if res := tick("2026-03-30"); len(res.Opened) != 0 {
		t.Errorf("Mar 30: opened %+v while the quarterly ticket is open", res.Opened)
	}
	recs, err := store.CompleteInspection(ctx, tickets.Completion{Plan: "yearly", Device: "e1", At: day(loc, "2026-03-31 10:00"), Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Plan+" via "+r.Via)
	}
	if strings.Join(kinds, "; ") != "yearly via ; quarterly via yearly; half_monthly via yearly" {
		t.Errorf("records: %v", kinds)
	}
	if q := store.state("quarterly", "e1"); !q.NextDue.Equal(day(loc, "2026-06-30")) || q.TicketID != 0 {
		t.Errorf("quarterly after the yearly: %+v", q)
	}
	// A skip skips only the plan.
	recs, _ = store.CompleteInspection(ctx, tickets.Completion{Plan: "quarterly", Device: "e1", At: day(loc, "2026-04-01"), Skip: true, Note: "out of service"})
	if len(recs) != 1 || recs[0].Kind != tickets.RecordSkipped || store.state("quarterly", "e1").Status != string(StatusSkipped) {
		t.Errorf("skip: %+v", recs)
	}
	if _, err := store.CompleteInspection(ctx, tickets.Completion{Plan: "other", Device: "e1", At: day(loc, "2026-04-01")}); err == nil {
		t.Error("a completion of a plan that does not apply to the device was accepted")
	}
}

// TestTwoProcesses: an engine whose states another process wrote
// meanwhile opens nothing on that tick and catches up on the next.
func TestTwoProcesses(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	ps := plans(t, `
inspections:
  - {name: monthly, match: {type: elevator}, every: 1mo, lead: 3d}
`, loc, elevator("e1"))
	store := newFakeStore()
	a, _ := New(ps, []*Device{elevator("e1")}, store, nil)
	b, _ := New(ps, []*Device{elevator("e1")}, store, nil)
	ctx := context.Background()
	if _, err := a.Tick(ctx, day(loc, "2026-01-01"), noLive{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*Engine{a, b, a} {
		if _, err := e.Tick(ctx, day(loc, "2026-01-29"), noLive{}); err != nil {
			t.Fatal(err)
		}
	}
	if open := store.openTickets(); len(open) != 1 {
		t.Errorf("open tickets: %+v", open)
	}
}
