package inspections

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// yearPlans are the plans of the simulated year: the half-monthly
// maintenance, due every 15 days or 5,000 trips whichever comes first, and
// the quarterly one on a fixed cycle that includes it.
const yearPlans = `
inspections:
  - name: half_monthly
    description: 半月保养 half-monthly maintenance
    match: {type: elevator}
    every: 15d
    counters: [{point: trips, every: 5000, lead_units: 500}]
    lead: 2d
    grace: 3d
    ticket: {priority: P3, category: lifts}
  - name: quarterly
    description: 季度保养 quarterly maintenance
    match: {type: elevator}
    every: 3mo
    schedule: fixed
    anchor: 2026-02-10
    lead: 5d
    includes: [half_monthly]
    ticket: {priority: P3, category: lifts}
`

// simTrips is elevator-1's trip counter on day n of 2026 (Jan 1 = 1): it
// steps at midnight by the day before's trips, 600 a day in July, 250 on
// other days.
func simTrips(n int) float64 {
	trips := 100000.0
	for d := 1; d < n; d++ {
		if d >= 182 && d <= 212 {
			trips += 600
		} else {
			trips += 250
		}
	}
	return trips
}

type simLive struct {
	now func() time.Time
	loc *time.Location
}

func (l simLive) Counter(device, point string) (float64, bool) {
	if device != "elevator-1" || point != "trips" {
		return 0, false
	}
	return simTrips(l.now().In(l.loc).YearDay()), true
}

// runYear plays 2026 on synctest's fake clock: the engine ticks every hour
// and a technician, every day at 10:30, completes each ticket opened on an
// earlier day with the trips read then. With restart set, the engine stops
// then and a new one (nothing in memory) goes on over the same store. It
// returns one line per ticket opened.
func runYear(t *testing.T, restart time.Time) []string {
	var lines []string
	synctest.Test(t, func(t *testing.T) {
		loc := zone(t, "Asia/Shanghai")
		start, end := day(loc, "2026-01-01"), day(loc, "2027-01-01")
		offset := time.Until(start)
		now := func() time.Time { return time.Now().Add(offset).In(loc) }
		live := simLive{now, loc}
		ps := plans(t, yearPlans, loc, elevator("elevator-1"))
		store := newFakeStore()
		var mu sync.Mutex
		report := func(res *Result, err error) {
			if err != nil {
				t.Errorf("tick at %s: %v", now(), err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, o := range res.Opened {
				lines = append(lines, fmt.Sprintf("%s %s: %s; replaces %v", now().Format(time.DateOnly), o.Plan, o.Ticket.Title, o.Replaces))
			}
		}
		startEngine := func() (stop func()) {
			e, err := New(ps, []*Device{elevator("elevator-1")}, store, nil)
			if err != nil {
				t.Fatal(err)
			}
			store.SetInspectionAdvancer(e.Advance)
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { e.Run(ctx, time.Hour, now, live, report) })
			return func() { cancel(); wg.Wait() }
		}
		stop := startEngine()
		for {
			next := day(loc, now().Format(time.DateOnly)).Add(10*time.Hour + 30*time.Minute)
			if !next.After(now()) {
				next = next.AddDate(0, 0, 1)
			}
			if !restart.IsZero() && now().Before(restart) && !next.Before(restart) {
				time.Sleep(restart.Sub(now()))
				synctest.Wait()
				stop()
				stop = startEngine()
				continue
			}
			if !next.Before(end) {
				time.Sleep(end.Sub(now()))
				synctest.Wait()
				break
			}
			time.Sleep(next.Sub(now()))
			synctest.Wait() // the engine is idle between its hourly ticks
			today := day(loc, now().Format(time.DateOnly))
			for _, tk := range store.openTickets() {
				if !tk.CreatedAt.Before(today) {
					continue
				}
				trips, _ := live.Counter("elevator-1", "trips")
				_, err := store.CompleteInspection(t.Context(), technicianDone(tk, now(), trips))
				if err != nil {
					t.Errorf("%s: complete %s: %v", now(), tk.Plan, err)
				}
			}
		}
		stop()
	})
	return lines
}

// TestSimulatedYear compares the tickets of a simulated year with the
// list derived by hand in testdata/year.golden (its comments show the
// reasoning), without and with a restart in the middle.
func TestSimulatedYear(t *testing.T) {
	data, err := os.ReadFile("testdata/year.golden")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	for _, restart := range []string{"", "2026-07-01 12:15", "2026-07-27 05:15"} {
		t.Run("restart="+restart, func(t *testing.T) {
			var at time.Time
			if restart != "" {
				at = day(zone(t, "Asia/Shanghai"), restart)
			}
			got := runYear(t, at)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("tickets differ from testdata/year.golden\n--- got\n%s\n--- want\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
