package rules

import (
	"testing"
	"time"
)

const stuck = `
groups:
  - name: pump
    rules:
      - name: stuck
        match: {type: pump}
        expr: changes(discharge_pressure, "1h") == 0
`

// A reload hands the windows to the new engine: a sensor that kept
// changing for two hours is not "stuck" right after the reload, and the
// window is still seen (without Inherit it would be empty, then NaN).
func TestInheritKeepsWindows(t *testing.T) {
	old := newTestEngine(t, stuck, pump("pump-1", "", nil))
	for s := 0; s <= 7200; s += 10 {
		v := 3.0 + float64(s%20)/10
		if got := summary(old.Observe(poll("pump-1", at(time.Duration(s)*time.Second), "discharge_pressure", v))); got != "" {
			t.Fatalf("at %ds: %s", s, got)
		}
	}
	reloaded := newTestEngine(t, stuck, pump("pump-1", "", nil))
	reloaded.Inherit(old)
	reloaded.Restore(old.Snapshot(), at(7201*time.Second), false)
	sr := reloaded.devices["pump-1"].series["discharge_pressure"]
	if got := sr.eval("changes", time.Hour, at(7205*time.Second), at(0)); got < 300 {
		t.Fatalf("changes over the inherited hour = %v, want the ~360 changes of the old engine", got)
	}
	// The value stays at 3.0 from now on (its last change was at 7200 s):
	// stuck only once that change left the hour.
	for s := 7210; s < 7190+3600; s += 10 {
		if got := summary(reloaded.Observe(poll("pump-1", at(time.Duration(s)*time.Second), "discharge_pressure", 3.0))); got != "" {
			t.Fatalf("at %ds after the reload: %s, want nothing yet", s, got)
		}
	}
	if got := summary(reloaded.Observe(poll("pump-1", at(7190*time.Second+time.Hour), "discharge_pressure", 3.0))); got == "" {
		t.Fatal("an hour without a change after the reload: want stuck")
	}

	// Without the old engine, the new one does not judge the unseen hour.
	fresh := newTestEngine(t, stuck, pump("pump-1", "", nil))
	if got := summary(fresh.Observe(poll("pump-1", at(7210*time.Second), "discharge_pressure", 3.0))); got != "" {
		t.Fatalf("a fresh engine judged an unseen window: %s", got)
	}
}

// A firing alert whose rule the new config drops resolves, for its ticket.
func TestRestoreResolvesRemovedRules(t *testing.T) {
	old := newTestEngine(t, `
groups:
  - name: pump
    rules:
      - {name: low, match: {type: pump}, expr: discharge_pressure < 1}
`, pump("pump-1", "", nil))
	if got := summary(old.Observe(poll("pump-1", at(0), "discharge_pressure", 0.5))); got == "" {
		t.Fatal("low did not fire")
	}
	next := newTestEngine(t, stuck, pump("pump-1", "", nil))
	ts, dropped := next.Restore(old.Snapshot(), at(time.Second), false)
	if dropped != 1 || len(ts) != 1 || !ts[0].Removed || !ts[0].Notify || ts[0].To != Resolved || ts[0].Alert.Device != "pump-1" {
		t.Fatalf("restore: dropped %d, %+v; want the removed alert resolved", dropped, ts)
	}
}
