package rules

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// histSeries is one device's stored samples of one point.
type histSeries struct {
	measurement, device, field string
	points                     []HistorySample
}

// fakeHistory answers from fixed series and records what it was asked.
type fakeHistory struct {
	series []histSeries
	asked  []string
	err    error
}

var _ History = (*fakeHistory)(nil)

func (f *fakeHistory) PointHistory(_ context.Context, measurement, point string, start, stop time.Time) ([]HistorySample, error) {
	f.asked = append(f.asked, measurement+"."+point+" "+stop.Sub(start).String())
	if f.err != nil {
		return nil, f.err
	}
	var out []HistorySample
	for _, s := range f.series {
		if s.measurement == measurement && s.field == point {
			for _, p := range s.points {
				p.Device = s.device
				out = append(out, p)
			}
		}
	}
	return out, nil
}

const overcurrent = `
groups:
  - name: pump
    rules:
      - name: overcurrent
        match: {type: pump}
        expr: avg(motor_current, "5m") > 20 && max(motor_current, "1m") > 0
      - name: short
        match: {type: pump}
        expr: avg(discharge_pressure, "30s") < 1 && age(run_hours) < 60
`

// TestBackfillAfterRestart evaluates avg(motor_current, "5m") > 20 right
// after a restart: with five minutes of history at 25 A the first sample of
// 15 A keeps the average above 20; without it, the window holds 15 A alone.
func TestBackfillAfterRestart(t *testing.T) {
	restart := at(time.Hour)
	var hist []HistorySample
	for s := 300; s > 0; s -= 10 { // from the window's start: it has been seen
		hist = append(hist, HistorySample{Time: restart.Add(-time.Duration(s) * time.Second), Value: 25})
	}
	q := &fakeHistory{series: []histSeries{
		{measurement: "pump", device: "pump-1", field: "motor_current", points: hist},
		{measurement: "pump", device: "gone", field: "motor_current", points: hist},
	}}
	run := func(backfill bool) string {
		e := newTestEngine(t, overcurrent, pump("pump-1", "", nil))
		if backfill {
			needs := e.WindowNeeds()
			if len(needs) != 2 || needs[0].Point != "discharge_pressure" || needs[0].Span != 30*time.Second+time.Minute ||
				needs[1].Point != "motor_current" || needs[1].Span != 6*time.Minute { // a minute's margin: the oldest sample starts the window
				t.Fatalf("needs = %+v", needs)
			}
			samples, err := FetchHistory(context.Background(), q, needs, restart)
			if err != nil {
				t.Fatal(err)
			}
			if n := e.Backfill(samples); n != len(hist) {
				t.Errorf("backfilled %d samples, want %d (the unknown device's ignored)", n, len(hist))
			}
		}
		return summary(e.Observe(poll("pump-1", restart, "motor_current", 15.0, "discharge_pressure", 3.0, "run_hours", 1.0)))
	}
	if got := run(false); got != "" {
		t.Errorf("without history: %q, want nothing", got)
	}
	if got := run(true); got != "overcurrent/pump-1:inactive>firing!" {
		t.Errorf("with history: %q", got)
	}
	if len(q.asked) != 2 || q.asked[1] != `pump.motor_current 6m0s` {
		t.Errorf("queries: %q", q.asked)
	}
}

// TestBackfillKeepsLiveSamples backfills after live samples came in: history
// goes before them, and what overlaps them is dropped.
func TestBackfillKeepsLiveSamples(t *testing.T) {
	e := newTestEngine(t, overcurrent, pump("pump-1", "", nil))
	e.Observe(poll("pump-1", at(0), "motor_current", 10.0, "discharge_pressure", 3.0, "run_hours", 1.0))
	e.Observe(poll("pump-1", at(10*time.Second), "motor_current", 10.0))
	late := poll("pump-1", at(-20*time.Second), "motor_current", 40.0)
	late = append(late, poll("pump-1", at(-10*time.Second), "motor_current", 40.0)...)
	late = append(late, poll("pump-1", at(5*time.Second), "motor_current", 1000.0)...) // not older than the oldest held
	if n := e.Backfill(late); n != 2 {
		t.Errorf("took %d samples, want 2", n)
	}
	sr := e.devices["pump-1"].series["motor_current"]
	// The window (-20s, 10s] is seen: the oldest sample, at -20 s, starts it.
	if got := sr.eval("avg", 30*time.Second, at(10*time.Second), at(0)); got != 20 { // (40+10+10)/3
		t.Errorf("avg = %v, want 20", got)
	}
	// The history starts 20 s back: a 5-minute window is not seen yet.
	if got := sr.eval("avg", 5*time.Minute, at(10*time.Second), at(0)); !math.IsNaN(got) {
		t.Errorf("avg over an unseen window = %v, want NaN", got)
	}
	if _, err := FetchHistory(context.Background(), &fakeHistory{err: errors.New("down")}, e.WindowNeeds(), at(0)); err == nil {
		t.Error("FetchHistory hides the querier's error")
	}
}
