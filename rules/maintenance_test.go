package rules

import (
	"slices"
	"testing"
	"time"
)

const windowRules = `
groups:
  - name: pump
    rules:
      - name: low_pressure
        match: {type: pump}
        expr: discharge_pressure < 1.5
        ticket: {priority: P2}
maintenance_windows:
  - name: pumps_a_sunday
    matchers: ['type="pump"', 'building="A"']
    schedule: "0 2 * * SUN"
    duration: 4h
    timezone: Europe/Berlin
    comment: weekly pump service
`

func parseWindows(t *testing.T, text string) []*MaintenanceWindow {
	t.Helper()
	f, err := ParseFile("w.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f.Windows
}

func TestMaintenanceWindowAt(t *testing.T) {
	ws := parseWindows(t, windowRules)
	if len(ws) != 1 {
		t.Fatalf("windows: %d", len(ws))
	}
	w := ws[0]
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sun := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, berlin) } // a Sunday
	f := func(t0 time.Time, want bool, wantStart time.Time) {
		t.Helper()
		start, end, ok := w.At(t0)
		if ok != want || ok && (!start.Equal(wantStart) || !end.Equal(wantStart.Add(4*time.Hour))) {
			t.Errorf("At(%v) = %v %v %v, want %v from %v", t0, start, end, ok, want, wantStart)
		}
	}
	f(sun(1, 59), false, time.Time{})
	f(sun(2, 0), true, sun(2, 0))
	f(sun(5, 59), true, sun(2, 0))
	f(sun(6, 0), false, time.Time{})
	f(sun(2, 0).AddDate(0, 0, 7).Add(time.Hour), true, sun(2, 0).AddDate(0, 0, 7))
	f(sun(3, 0).AddDate(0, 0, 1), false, time.Time{}) // Monday
	// The zone is the window's, not the caller's: 01:30 UTC is 02:30 in Berlin.
	f(time.Date(2026, 3, 1, 1, 30, 0, 0, time.UTC), true, sun(2, 0))

	st := w.Status(sun(7, 0))
	if st.Active || !st.StartsAt.Equal(sun(2, 0).AddDate(0, 0, 7)) || st.ID != "window:pumps_a_sunday" ||
		st.Timezone != "Europe/Berlin" || st.Duration != "4h0m0s" || st.Kind != "maintenance" {
		t.Errorf("status after the window: %+v", st)
	}
	if st := w.Status(sun(3, 0)); !st.Active || !st.EndsAt.Equal(sun(6, 0)) {
		t.Errorf("status in the window: %+v", st)
	}
}

// TestMaintenanceWindowMutes runs the engine on an injected clock through a
// Sunday window: building A's pump fires muted (no notification, so no
// ticket), building B's is heard at once, and A's is announced when the
// window ends while it still fires.
func TestMaintenanceWindowMutes(t *testing.T) {
	set := parseRules(t, windowRules)
	f, _ := ParseFile("w.yaml", []byte(windowRules))
	set.Windows = f.Windows
	a, b := pump("pump-a", "", map[string]string{"building": "A"}), pump("pump-b", "", map[string]string{"building": "B"})
	e, err := NewEngine(set, []*Device{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ts := time.Date(2026, 3, 1, 3, 0, 0, 0, berlin)
	obs := func(at time.Time, p float64) []Transition {
		return append(e.Observe(poll("pump-a", at, "discharge_pressure", p)), e.Observe(poll("pump-b", at, "discharge_pressure", p))...)
	}
	expectTransitions(t, "in the window", obs(ts, 1.0),
		"low_pressure/pump-a:inactive>firing low_pressure/pump-b:inactive>firing!")
	for _, al := range e.Alerts() {
		muted := slices.Equal(al.SilencedBy, []string{"window:pumps_a_sunday"})
		if muted != (al.Device == "pump-a") {
			t.Errorf("%s: silenced by %v", al.Device, al.SilencedBy)
		}
	}
	end := time.Date(2026, 3, 1, 6, 0, 0, 0, berlin)
	expectTransitions(t, "just before the end", append(obs(end.Add(-time.Second), 1.0), e.Eval(end.Add(-time.Second))...), "")
	expectTransitions(t, "window ends", e.Eval(end), "low_pressure/pump-a:firing>firing!")
	for _, al := range e.Alerts() {
		if len(al.SilencedBy) != 0 {
			t.Errorf("%s still silenced by %v after the window", al.Device, al.SilencedBy)
		}
	}
}
