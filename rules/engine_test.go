package rules

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

const lowPressure = `
groups:
  - name: pump
    rules:
      - name: low_pressure
        match: {type: pump}
        expr: discharge_pressure < 1.5 && running
        for: 10s
        severity: major
        annotations:
          summary: "{{ $device }} at {{ fmt $value 1 }} bar ({{ $location }})"
        ticket: {priority: P2, category: plumbing}
`

func TestLifecycle(t *testing.T) {
	d := pump("pump-1", "gw", nil)
	d.Location = "B1"
	e := newTestEngine(t, lowPressure, d)
	step := func(sec int, p float64) []Transition {
		return e.Observe(poll("pump-1", at(time.Duration(sec)*time.Second), "running", true, "discharge_pressure", p))
	}
	expectTransitions(t, "healthy", step(0, 3.2), "")
	expectTransitions(t, "drop", step(1, 1.0), "low_pressure/pump-1:inactive>pending")
	expectTransitions(t, "still pending", step(10, 1.0), "")
	// The tick fires it even without a sample, once for has passed.
	expectTransitions(t, "tick", e.Eval(at(11*time.Second)), "low_pressure/pump-1:pending>firing!")
	a := e.Alerts()[0]
	if a.FiredAt != at(11*time.Second) || a.ActiveAt != at(time.Second) || a.Annotations["summary"] != "pump-1 at 1.0 bar (B1)" {
		t.Errorf("firing alert = %+v", a)
	}
	fp := a.Fingerprint
	expectTransitions(t, "other value", step(12, 0.7), "")
	if got := e.Alerts()[0]; got.Fingerprint != fp {
		t.Errorf("fingerprint changed with the value: %s → %s", fp, got.Fingerprint)
	}
	expectTransitions(t, "recovers", step(13, 3.1), "low_pressure/pump-1:firing>resolved!")
	if s := states(e); s != "low_pressure/pump-1:resolved" {
		t.Errorf("after resolution: %s", s)
	}
	// Resolved alerts are forgotten after ResolvedFor, quietly.
	expectTransitions(t, "expire", e.Eval(at(13*time.Second+15*time.Minute)), "")
	if s := states(e); s != "" {
		t.Errorf("after ResolvedFor: %s", s)
	}
	// A blip shorter than for never fires.
	expectTransitions(t, "blip", step(2000, 1.0), "low_pressure/pump-1:inactive>pending")
	expectTransitions(t, "blip ends", step(2005, 3.0), "low_pressure/pump-1:pending>inactive")
}

func TestKeepFiringForAndClear(t *testing.T) {
	e := newTestEngine(t, `
groups:
  - name: g
    rules:
      - name: high_current
        match: {type: pump}
        expr: motor_current > 18
        clear: motor_current < 15
        keep_firing_for: 30s
        flapping: {window: 0s}
`, pump("pump-1", "", nil))
	cur := func(sec int, a float64) []Transition {
		return e.Observe(poll("pump-1", at(time.Duration(sec)*time.Second), "motor_current", a))
	}
	expectTransitions(t, "over", cur(0, 19), "high_current/pump-1:inactive>firing!")
	expectTransitions(t, "between: not clear", cur(100, 16), "")
	expectTransitions(t, "over again", cur(105, 19), "")
	expectTransitions(t, "clear but kept", cur(110, 14), "")
	expectTransitions(t, "between again", cur(140, 16), "")
	expectTransitions(t, "clear 36 s after last true", cur(141, 14), "high_current/pump-1:firing>resolved!")
}

func TestFlapSuppression(t *testing.T) {
	e := newTestEngine(t, `
groups:
  - name: g
    rules:
      - name: fault
        match: {type: pump}
        expr: fault
        flapping: {window: 10m, fires: 3}
`, pump("pump-1", "", nil))
	set := func(sec int, f bool) []Transition {
		return e.Observe(poll("pump-1", at(time.Duration(sec)*time.Second), "fault", f))
	}
	fired, resolved := 0, 0
	for i := range 10 { // a fault bit toggling every 10 s for 200 s
		for _, tr := range set(i*20, true) {
			if tr.To == Firing {
				fired++
			}
		}
		for _, tr := range set(i*20+10, false) {
			if tr.To == Resolved {
				resolved++
			}
		}
	}
	if fired != 3 || resolved != 2 {
		t.Errorf("flapping fault: fired %d, resolved %d times; want 3 and 2, then held", fired, resolved)
	}
	if a := e.Alerts()[0]; a.State != Firing || !a.Flapping {
		t.Errorf("alert = %v flapping %v, want firing and flapping", a.State, a.Flapping)
	}
	// Quiet for the whole window: it resolves.
	expectTransitions(t, "quiet 9 min", set(180+9*60, false), "")
	expectTransitions(t, "quiet 10 min", set(180+10*60, false), "fault/pump-1:firing>resolved!")
}

func TestRestartDuringPending(t *testing.T) {
	rules := `
groups:
  - name: g
    rules:
      - name: low_pressure
        match: {type: pump}
        expr: discharge_pressure < 1.5
        for: 10m
`
	e := newTestEngine(t, rules, pump("pump-1", "", nil))
	e.Observe(poll("pump-1", at(0), "discharge_pressure", 1.0))
	e.Eval(at(4 * time.Minute)) // pending 4 minutes
	snap := e.Snapshot()
	if snap.SavedAt != at(4*time.Minute) || len(snap.Alerts) != 1 || snap.Alerts[0].State != "pending" {
		t.Fatalf("snapshot = %+v", snap)
	}
	// An hour of downtime, then a new engine.
	e2 := newTestEngine(t, rules, pump("pump-1", "", nil))
	ts, dropped := e2.Restore(snap, at(64*time.Minute), true)
	if len(ts) != 0 || dropped != 0 {
		t.Fatalf("restore of a pending alert: %s, dropped %d", summary(ts), dropped)
	}
	if a := e2.Alerts()[0]; a.State != Pending || a.ActiveAt != at(0) {
		t.Errorf("restored = %v since %v", a.State, a.ActiveAt)
	}
	restart := 64 * time.Minute
	expectTransitions(t, "5m after restart", e2.Observe(poll("pump-1", at(restart+5*time.Minute), "discharge_pressure", 1.0)), "")
	expectTransitions(t, "6m after restart", e2.Observe(poll("pump-1", at(restart+6*time.Minute), "discharge_pressure", 1.0)),
		"low_pressure/pump-1:pending>firing!")
}

func TestRestartDuringFiring(t *testing.T) {
	e := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	e.Observe(poll("pump-1", at(0), "running", true, "discharge_pressure", 1.0))
	expectTransitions(t, "fires", e.Eval(at(10*time.Second)), "low_pressure/pump-1:pending>firing!")
	snap := e.Snapshot()

	// Reload: the alert carries over firing, and receivers hear nothing new.
	e2 := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	ts, _ := e2.Restore(snap, at(11*time.Second), false)
	expectTransitions(t, "reload", ts, "low_pressure/pump-1:firing>firing")
	expectTransitions(t, "after reload", e2.Observe(poll("pump-1", at(12*time.Second), "running", true, "discharge_pressure", 1.0)), "")
	if a := e2.Alerts()[0]; a.State != Firing || a.FiredAt != at(10*time.Second) {
		t.Errorf("after reload: %v fired %v", a.State, a.FiredAt)
	}

	// Restart: announced again (one ticket gains an occurrence), never a
	// new firing that would start a new episode.
	e3 := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	ts, _ = e3.Restore(e2.Snapshot(), at(time.Hour), true)
	expectTransitions(t, "restart", ts, "low_pressure/pump-1:firing>firing!")
	if !ts[0].Restored || ts[0].Alert.FiredAt != at(10*time.Second) {
		t.Errorf("restart transition = %+v", ts[0])
	}
	// The fault cleared while we were down: the alert resolves at once.
	expectTransitions(t, "cleared", e3.Observe(poll("pump-1", at(time.Hour+time.Second), "running", true, "discharge_pressure", 3.0)),
		"low_pressure/pump-1:firing>resolved!")

	// A crash after firing but before receivers heard: told at restart, even
	// without reannounce.
	snap = e2.Snapshot()
	snap.Alerts[0].Notified = false
	e4 := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	ts, _ = e4.Restore(snap, at(time.Hour), false)
	expectTransitions(t, "lost announcement", ts, "low_pressure/pump-1:firing>firing!")
}

func TestRestoreDropsUnknown(t *testing.T) {
	e := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	snap := Snapshot{Version: SnapshotVersion, SavedAt: at(0), Alerts: []SavedAlert{{Fingerprint: "gone", State: "firing"}}}
	if _, dropped := e.Restore(snap, at(time.Minute), true); dropped != 1 {
		t.Errorf("dropped = %d, want 1", dropped)
	}
}

func TestStaleDataHolds(t *testing.T) {
	e := newTestEngine(t, lowPressure, pump("pump-1", "gw", nil))
	e.Observe(poll("pump-1", at(0), "running", true, "discharge_pressure", 1.0))
	// The device goes down while pending: the alert neither fires nor
	// clears on the old values.
	e.Observe(health("pump-1", at(5*time.Second), false))
	expectTransitions(t, "down", e.Eval(at(20*time.Second)), "")
	if s := states(e); s != "low_pressure/pump-1:pending" {
		t.Errorf("while down: %s", s)
	}
	back := append(poll("pump-1", at(21*time.Second), "running", true, "discharge_pressure", 1.0), health("pump-1", at(21*time.Second), true)...)
	expectTransitions(t, "back", e.Observe(back), "low_pressure/pump-1:pending>firing!")
	// Without health samples (MQTT), data older than Stale holds too.
	expectTransitions(t, "stale", e.Eval(at(time.Hour)), "")
	if s := states(e); s != "low_pressure/pump-1:firing" {
		t.Errorf("stale: %s", s)
	}
}

func TestNoDecisionWithoutData(t *testing.T) {
	e := newTestEngine(t, `
groups:
  - name: g
    rules:
      - name: not_running
        match: {type: pump}
        expr: running == false && discharge_pressure < 1
`, pump("pump-1", "", nil))
	// discharge_pressure never arrived: == false on a missing value must not fire.
	expectTransitions(t, "partial", e.Observe(poll("pump-1", at(0), "running", false)), "")
	expectTransitions(t, "complete", e.Observe(poll("pump-1", at(time.Second), "discharge_pressure", 0.5)),
		"not_running/pump-1:inactive>firing!")
}

func TestWindowFunctions(t *testing.T) {
	e := newTestEngine(t, `
groups:
  - name: g
    rules:
      - name: w
        match: {type: pump}
        expr: >-
          avg(discharge_pressure, "10s") >= 0 && min(discharge_pressure, "10s") >= 0 &&
          max(discharge_pressure, "10s") >= 0 && delta(run_hours, "10s") >= 0 &&
          rate(run_hours, "10s") >= 0 && changes(fault, "10s") >= 0 && age(motor_current) >= 0 &&
          max(discharge_pressure, motor_current) > 0
`, pump("pump-1", "", nil))
	for i := range 20 {
		e.Observe(poll("pump-1", at(time.Duration(i)*time.Second), "discharge_pressure", float64(i),
			"run_hours", float64(i%12), "fault", i%3 == 0, "motor_current", 1.0))
	}
	env := e.devices["pump-1"].env
	want := map[string]float64{
		`avg(discharge_pressure,10s)`: 14.5, // 10..19
		`min(discharge_pressure,10s)`: 10,
		`max(discharge_pressure,10s)`: 19,
		`delta(run_hours,10s)`:        7 - 10,            // 10 11 0 1 ... 7: last minus first
		`rate(run_hours,10s)`:         (1 + 0 + 7) / 9.0, // 10→11, reset to 0, 0→7, over 9 s
		`changes(fault,10s)`:          6,                 // true at 12, 15 and 18
		`age(motor_current,0s)`:       0,
	}
	for name, w := range want {
		got, _ := env[name].(float64)
		if math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, env[name], w)
		}
	}
	e.Eval(at(25 * time.Second))
	if got := env[`age(motor_current,0s)`].(float64); got != 6 {
		t.Errorf("age after 6 s without samples = %v", got)
	}
	if got := env[`avg(discharge_pressure,10s)`].(float64); got != 17.5 { // 16..19
		t.Errorf("avg 6 s later = %v, want 17.5", got)
	}
	e.Eval(at(time.Minute))
	if got := env[`avg(discharge_pressure,10s)`].(float64); !math.IsNaN(got) {
		t.Errorf("avg of an empty window = %v, want NaN", got)
	}
	if len(e.devices["pump-1"].series["discharge_pressure"].ring) > 16 {
		t.Errorf("window ring grew to %d for 10 samples", len(e.devices["pump-1"].series["discharge_pressure"].ring))
	}
}

func TestReplayInChunks(t *testing.T) {
	// Ten minutes of a pump's history, out of order, replayed in two
	// chunks: the same transitions as live, at the same times.
	var samples []drivers.Sample
	for s := 0; s < 600; s += 5 {
		p := 3.2
		if s >= 100 && s < 300 {
			p = 1.0
		}
		samples = append(samples, poll("pump-1", at(time.Duration(s)*time.Second), "running", true, "discharge_pressure", p)...)
	}
	slices.Reverse(samples)
	e := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	if r := e.Reads(); !slices.Equal(r["pump"], []string{"discharge_pressure", "running"}) {
		t.Errorf("reads = %v", r)
	}
	got := e.Replay(slices.Clone(samples), at(0), at(200*time.Second), time.Second)
	got = append(got, e.Replay(slices.Clone(samples), at(200*time.Second), at(600*time.Second), time.Second)...)
	var fired, resolved time.Time
	for _, tr := range got {
		switch tr.To {
		case Firing:
			fired = tr.At
		case Resolved:
			resolved = tr.At
		}
	}
	expectTransitions(t, "replay", got, "low_pressure/pump-1:inactive>pending low_pressure/pump-1:pending>firing! low_pressure/pump-1:firing>resolved!")
	if fired != at(110*time.Second) || resolved != at(300*time.Second) {
		t.Errorf("fired at %v, resolved at %v", fired.Sub(t0), resolved.Sub(t0))
	}
}
