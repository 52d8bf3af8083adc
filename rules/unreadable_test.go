package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

const firePanelRules = `
groups:
  - name: fire_panel
    rules:
      - name: fire_alarm_active
        match: {type: fire_panel}
        expr: fire_alarm || zone_1_alarm
        value: alarm_zone
        severity: critical
        flapping: {window: 0s}
        labels: {team: fire}
        annotations: {summary: "FIRE ALARM"}
        ticket: {priority: P1, category: fire}
      - name: fire_panel_fault
        match: {type: fire_panel}
        expr: fault
        severity: major
        ticket: {priority: P2, category: fire}
`

var firePoints = map[string]drivers.Kind{
	"fire_alarm": drivers.KindBool, "zone_1_alarm": drivers.KindBool, "fault": drivers.KindBool,
	"alarm_zone": drivers.KindFloat,
}

func firePanel(id string) *Device {
	return &Device{ID: id, Type: "fire_panel", Profile: "fire_panel", Location: "B1", Gateway: "10.0.0.9:502", Points: firePoints}
}

// panelPoll is one poll of the fire panel; the points in bad come with
// Quality Bad, and reason, when set, is the driver's reason for them.
func panelPoll(ts time.Time, reason string, bad ...string) []drivers.Sample {
	var out []drivers.Sample
	for _, name := range []string{"fire_alarm", "zone_1_alarm", "fault", "alarm_zone"} {
		s := drivers.Sample{Time: ts, Device: "fire-panel-1", Measurement: "fire_panel", Point: name, Value: drivers.Bool(false)}
		if name == "alarm_zone" {
			s.Value = drivers.Float(0)
		}
		if slices.Contains(bad, name) {
			s.Quality, s.Value = drivers.Bad, drivers.Value{Kind: s.Value.Kind}
		}
		out = append(out, s)
	}
	if reason != "" {
		r := map[string]string{}
		for _, name := range bad {
			r[name] = reason
		}
		out = append(out, drivers.Sample{Time: ts, Device: "fire-panel-1", Measurement: drivers.HealthMeasurement,
			Point: UnreadablePoint, Value: drivers.String(FormatUnreadable(r))})
	}
	return out
}

// TestUnreadableCriticalPoint: a point a critical rule reads that arrives
// Bad fires the built-in unreadable alert in the same evaluation, critical,
// with the rule's ticket and a summary naming the point, the reason and the
// rule; a good sample resolves it. Points of other rules raise nothing.
func TestUnreadableCriticalPoint(t *testing.T) {
	e := newTestEngine(t, firePanelRules, firePanel("fire-panel-1"))
	expectTransitions(t, "all read", e.Observe(panelPoll(at(0), "")), "")

	ts := e.Observe(panelPoll(at(time.Second), "Modbus exception 2: illegal data address", "fire_alarm"))
	expectTransitions(t, "fire_alarm bad", ts, "fire_alarm_active_unreadable/fire-panel-1:inactive>firing!")
	if len(ts) != 1 {
		t.Fatal("no transitions")
	}
	a := ts[0].Alert
	want := "fire_alarm unreadable (Modbus exception 2: illegal data address) — fire_alarm_active cannot be evaluated"
	if a.Annotations["summary"] != want {
		t.Errorf("summary %q\nwant    %q", a.Annotations["summary"], want)
	}
	if a.Severity != Critical || a.Kind != KindUnreadable || a.Device != "fire-panel-1" || a.Ticket == nil || a.Ticket.Priority != "P1" ||
		a.Labels["critical_rule"] != "fire_alarm_active" || a.Labels["team"] != "fire" || a.Labels["severity"] != "critical" ||
		a.Annotations["points"] != "fire_alarm" || a.Value != 1 {
		t.Errorf("alert %+v", a)
	}

	// Still unreadable: no new transition; then ticks change nothing.
	expectTransitions(t, "still bad", e.Observe(panelPoll(at(2*time.Second), "Modbus exception 2: illegal data address", "fire_alarm")), "")
	expectTransitions(t, "tick", e.Eval(at(3*time.Second)), "")

	// A point of a major rule that does not read raises nothing of its own.
	expectTransitions(t, "fault bad too", e.Observe(panelPoll(at(4*time.Second), "", "fire_alarm", "fault")), "")

	ts = e.Observe(panelPoll(at(5*time.Second), ""))
	expectTransitions(t, "reads again", ts, "fire_alarm_active_unreadable/fire-panel-1:firing>resolved!")

	// Without the driver's reason the summary says the quality was Bad.
	ts = e.Observe(panelPoll(at(6*time.Second), "", "zone_1_alarm"))
	if len(ts) != 1 || !strings.Contains(ts[0].Alert.Annotations["summary"], "zone_1_alarm unreadable (Quality Bad") {
		t.Errorf("without a reason: %s %v", summary(ts), ts)
	}
}

// TestUnreadableHoldsWhileDown: a device that does not answer is the offline
// rules' business: the unreadable alert neither fires nor resolves.
func TestUnreadableHoldsWhileDown(t *testing.T) {
	e := newTestEngine(t, firePanelRules, firePanel("fire-panel-1"))
	e.Observe(panelPoll(at(0), "x", "fire_alarm"))
	expectTransitions(t, "down", e.Observe(health("fire-panel-1", at(time.Second), false)), "")
	if got := states(e); got != "fire_alarm_active_unreadable/fire-panel-1:firing" {
		t.Errorf("states %s", got)
	}
}

func TestCriticalPoints(t *testing.T) {
	set := parseRules(t, firePanelRules+`
      - name: pump_dry_run
        match: {type: pump}
        expr: running && avg(discharge_pressure, "1m") < 0.5
        clear: motor_current < 1
        severity: critical
`)
	got := CriticalPoints(set, []*Device{firePanel("fire-panel-1"), pump("pump-1", "", nil)})
	if s := strings.Join(got["fire-panel-1"], ","); s != "fire_alarm,zone_1_alarm" {
		t.Errorf("fire panel: %s", s)
	}
	if s := strings.Join(got["pump-1"], ","); s != "discharge_pressure,motor_current,running" {
		t.Errorf("pump: %s", s)
	}
}

func TestUnreadableNameTaken(t *testing.T) {
	set := parseRules(t, firePanelRules+`
      - name: fire_alarm_active_unreadable
        match: {type: fire_panel}
        expr: fault
`)
	if _, err := NewEngine(set, []*Device{firePanel("fire-panel-1")}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "taken by the built-in alert") {
		t.Errorf("err = %v", err)
	}
}

func TestUnreadableFormat(t *testing.T) {
	in := map[string]string{"a": "Modbus exception 2: illegal data address", "b": "x; y"}
	s := FormatUnreadable(in)
	if s != "a: Modbus exception 2: illegal data address; b: x, y" {
		t.Errorf("format %q", s)
	}
	if got := ParseUnreadable(s); got["a"] != in["a"] || got["b"] != "x, y" || len(got) != 2 {
		t.Errorf("parse %v", got)
	}
}

// TestUnreadableRestore: a firing unreadable alert survives a restart, and
// resolves at the first poll that reads the point.
func TestUnreadableRestore(t *testing.T) {
	e := newTestEngine(t, firePanelRules, firePanel("fire-panel-1"))
	e.Observe(panelPoll(at(0), "x", "fire_alarm"))
	snap := e.Snapshot()
	e2 := newTestEngine(t, firePanelRules, firePanel("fire-panel-1"))
	ts, dropped := e2.Restore(snap, at(time.Minute), true)
	if dropped != 0 || summary(ts) != "fire_alarm_active_unreadable/fire-panel-1:firing>firing!" ||
		!strings.Contains(ts[0].Alert.Annotations["summary"], "fire_alarm_active cannot be evaluated") {
		t.Fatalf("restored %s (%d dropped) %v", summary(ts), dropped, ts)
	}
	expectTransitions(t, "reads", e2.Observe(panelPoll(at(time.Minute+time.Second), "")), "fire_alarm_active_unreadable/fire-panel-1:firing>resolved!")
}
