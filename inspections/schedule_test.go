package inspections

import (
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

func TestAddMonthsClamps(t *testing.T) {
	f := func(from string, months int, want string) {
		t.Helper()
		d, _ := time.Parse(time.DateOnly, from)
		if got := dateOf(addMonths(d.Year(), d.Month(), d.Day(), months)).String(); got != want {
			t.Errorf("%s + %dmo = %s, want %s", from, months, got, want)
		}
	}
	f("2026-01-31", 1, "2026-02-28")
	f("2028-01-31", 1, "2028-02-29")
	f("2026-01-31", 2, "2026-03-31") // from the start, not from Feb 28
	f("2026-08-31", 6, "2027-02-28")
	f("2026-03-15", -3, "2025-12-15")
	f("2026-11-30", 3, "2027-02-28")
}

func TestNextCycle(t *testing.T) {
	a := Date{2026, time.January, 31}
	d := func(s string) int {
		x, _ := time.Parse(time.DateOnly, s)
		return daysFromCivil(x.Year(), x.Month(), x.Day())
	}
	for _, c := range []struct {
		every    Span
		ref      string
		onRef    bool
		want     string
		anchorAt Date
	}{
		{Span{1, Months}, "2026-02-10", false, "2026-02-28", a},
		{Span{1, Months}, "2026-02-28", false, "2026-03-31", a},
		{Span{1, Months}, "2026-02-28", true, "2026-02-28", a},
		{Span{3, Months}, "2025-12-01", false, "2026-01-31", a},
		{Span{3, Months}, "2025-10-31", false, "2026-01-31", a}, // before the anchor: its cycles go back too
		{Span{3, Months}, "2025-10-30", false, "2025-10-31", a},
		{Span{15, Days}, "2026-02-14", false, "2026-02-15", Date{2026, time.January, 1}},
		{Span{15, Days}, "2026-02-15", false, "2026-03-02", Date{2026, time.January, 1}},
		{Span{15, Days}, "2026-02-15", true, "2026-02-15", Date{2026, time.January, 1}},
		{Span{15, Days}, "2026-02-16", false, "2026-03-02", Date{2026, time.January, 1}},
	} {
		if got := dateOf(nextCycle(c.anchorAt, c.every, d(c.ref), c.onRef)).String(); got != c.want {
			t.Errorf("anchor %s every %s after %s (on ref %v) = %s, want %s", c.anchorAt, c.every, c.ref, c.onRef, got, c.want)
		}
	}
}

// TestFixedAndFloating: a late completion shifts a floating schedule and
// not a fixed one; an early one advances a fixed schedule by one cycle.
func TestFixedAndFloating(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	ps := plans(t, `
inspections:
  - {name: floating, match: {type: elevator}, every: 1mo}
  - {name: fixed, match: {type: elevator}, every: 1mo, schedule: fixed, anchor: 2026-01-10}
  - {name: monthly, match: {type: elevator}, every: {day: 31}}
`, loc, elevator("e1"))
	e, err := New(ps, []*Device{elevator("e1")}, newFakeStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := func(plan, nextDue, at, want string) {
		t.Helper()
		st := tickets.InspectionState{Plan: plan, Device: "e1", NextDue: day(loc, nextDue)}
		out, recs, err := e.Advance(map[string]tickets.InspectionState{plan: st}, tickets.Completion{Plan: plan, Device: "e1", At: day(loc, at)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].NextDue.In(loc).Format(time.DateOnly); got != want || !out[0].NextDue.Equal(day(loc, want)) {
			t.Errorf("%s due %s done %s: next %s, want %s", plan, nextDue, at, out[0].NextDue, want)
		}
		if recs[0].OnTime != (at[:10] <= nextDue) {
			t.Errorf("%s due %s done %s: on time %v", plan, nextDue, at, recs[0].OnTime)
		}
	}
	done("floating", "2026-03-10", "2026-03-14 09:00", "2026-04-14") // late: shifts
	done("fixed", "2026-03-10", "2026-03-14 09:00", "2026-04-10")    // late: keeps the cycle
	done("fixed", "2026-03-10", "2026-03-07 09:00", "2026-04-10")    // early: the cycle of the 10th is done
	done("fixed", "2026-03-10", "2026-05-02 09:00", "2026-05-10")    // very late: the next cycle after the visit
	done("floating", "2026-03-10", "2026-03-07 09:00", "2026-04-07")
	done("monthly", "2026-01-31", "2026-02-02 09:00", "2026-02-28") // day 31 is a short month's last day
	done("monthly", "2026-02-28", "2026-02-27 09:00", "2026-03-31")
}

// TestDST: due dates stay at midnight of calendar days across daylight
// saving changes, and fall due at local midnight, not an hour off.
func TestDST(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York"} {
		loc := zone(t, name)
		ps := plans(t, `
inspections:
  - {name: weekly, match: {type: elevator}, every: 1w, lead: 1d}
  - {name: monthly, match: {type: elevator}, every: 1mo, schedule: fixed, anchor: 2026-01-31}
`, loc, elevator("e1"))
		weekly, monthly := ps[0], ps[1]
		// Completed on the Friday before the spring change (Berlin Mar 29,
		// New York Mar 8) and the autumn one (Oct 25, Nov 1).
		for _, c := range []struct{ at, want string }{
			{"2026-03-27 23:30", "2026-04-03"}, {"2026-03-06 23:30", "2026-03-13"},
			{"2026-10-23 00:30", "2026-10-30"}, {"2026-10-30 00:30", "2026-11-06"},
		} {
			st, _ := weekly.complete(tickets.InspectionState{Plan: "weekly", Device: "e1"}, tickets.Completion{At: day(loc, c.at)}, "")
			if want := day(loc, c.want); !st.NextDue.Equal(want) || st.NextDue.In(loc).Hour() != 0 {
				t.Errorf("%s: weekly done %s: next %s, want %s", name, c.at, st.NextDue.In(loc), want)
			}
			// Due soon from local midnight a day ahead, due from local midnight.
			before := weekly.Eval(st, noLive{}, nil, day(loc, c.want).Add(-24*time.Hour-time.Minute))
			soon := weekly.Eval(st, noLive{}, nil, day(loc, c.want).AddDate(0, 0, -1))
			due := weekly.Eval(st, noLive{}, nil, day(loc, c.want))
			if Status(before.State.Status) != StatusOK || Status(soon.State.Status) != StatusDueSoon || Status(due.State.Status) != StatusDue {
				t.Errorf("%s: around %s: %s, %s, %s; want ok, due_soon, due", name, c.want, before.State.Status, soon.State.Status, due.State.Status)
			}
		}
		st := monthly.Eval(tickets.InspectionState{Plan: "monthly", Device: "e1"}, noLive{}, nil, day(loc, "2026-02-15 12:00")).State
		for _, want := range []string{"2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"} {
			if !st.NextDue.Equal(day(loc, want)) {
				t.Fatalf("%s: monthly next %s, want %s", name, st.NextDue.In(loc), want)
			}
			st, _ = monthly.complete(st, tickets.Completion{At: st.NextDue.Add(9 * time.Hour)}, "")
		}
	}
}
