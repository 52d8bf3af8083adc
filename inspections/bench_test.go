package inspections

import (
	"context"
	"fmt"
	"testing"
	"time"
)

const benchPlans = `
inspections:
  - {name: half_monthly, match: {type: elevator}, every: 15d, lead: 2d, counters: [{point: trips, every: 5000, lead_units: 500}]}
  - {name: quarterly, match: {type: elevator}, every: 3mo, lead: 5d, schedule: fixed, anchor: 2026-02-10, includes: [half_monthly]}
  - {name: half_yearly, match: {type: elevator}, every: 6mo, lead: 7d, includes: [quarterly]}
  - {name: yearly, match: {type: elevator}, every: 1y, lead: 1mo, includes: [half_yearly], counters: [{point: run_hours, every: 4000}]}
`

// benchEngine is 2,500 elevators × 4 plans = 10,000 pairs, with states
// started a tick before.
func benchEngine(b *testing.B) (*Engine, Readings, DailyUses, time.Time) {
	loc := zone(b, "Asia/Shanghai")
	var devs []*Device
	live, use := Readings{}, DailyUses{}
	for i := range 2500 {
		id := fmt.Sprintf("elevator-%d", i)
		devs = append(devs, elevator(id))
		live[id] = map[string]float64{"trips": float64(100000 + i), "run_hours": float64(2000 + i)}
		use[id] = map[string]float64{"trips": 250, "run_hours": 12}
	}
	e, err := New(plans(b, benchPlans, loc, devs...), devs, newFakeStore(), use)
	if err != nil {
		b.Fatal(err)
	}
	now := day(loc, "2026-01-01 08:00")
	if _, err := e.Tick(context.Background(), now, live); err != nil {
		b.Fatal(err)
	}
	return e, live, use, now.Add(time.Minute)
}

// BenchmarkEval is the pure step over 10,000 plan × device pairs, as a
// tick runs it (states in memory, nothing due).
func BenchmarkEval(b *testing.B) {
	e, live, use, now := benchEngine(b)
	states, _ := e.store.InspectionStates(context.Background(), "")
	byPair := make([]int, len(e.pairs))
	for i, st := range states {
		byPair[e.index[pairKey{st.Plan, st.Device}]] = i
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var clk clock
		for i, pr := range e.pairs {
			if loc := pr.plan.zone(); clk.loc != loc {
				clk = newClock(now, loc)
			}
			e.steps[i] = pr.plan.eval(states[byPair[i]], live, use, clk, pr.seen)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(e.pairs)), "ns/pair")
}

// BenchmarkTick is a whole tick over 10,000 pairs against the in-memory
// store: read every state, evaluate, plan the visits, nothing to write.
func BenchmarkTick(b *testing.B) {
	e, live, _, now := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Tick(ctx, now, live); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(e.pairs)), "ns/pair")
}
