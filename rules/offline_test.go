package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const offlineRules = `
groups:
  - name: offline
    rules:
      - name: gateway_offline
        kind: gateway_offline
        match: {all: true}
        for: 20s
        severity: critical
        annotations: {summary: "{{ $value }} devices behind {{ $gateway }} do not answer"}
        ticket: {priority: P1, category: it}
      - name: device_offline
        kind: offline
        match: {all: true}
        after: 1m
        for: 30s
        ticket: {priority: P2, category: it}
      - name: low_pressure
        match: {type: pump}
        expr: discharge_pressure < 1.5
        ticket: {priority: P2, category: plumbing}
      - name: room_power_loss
        match: {tags: {role: power_monitor}}
        expr: fault
        severity: critical
inhibit_rules:
  - source: ['rule="gateway_offline"']
    target: ['rule="device_offline"']
    equal: [gateway]
  - source: ['rule="room_power_loss"']
    target: ['type="pump"', 'rule!="room_power_loss"']
    equal: [room]
`

// notified returns the subjects receivers heard of firing.
func notified(ts []Transition) []string {
	var out []string
	for _, t := range ts {
		if t.Notify && t.To == Firing {
			out = append(out, t.Alert.Rule+"/"+t.Alert.Subject())
		}
	}
	return out
}

func TestGatewayStormGuard(t *testing.T) {
	var devs []*Device
	for i := range 5 {
		devs = append(devs, pump(fmt.Sprintf("pump-%d", i), "10.0.0.5:502", nil))
	}
	devs = append(devs, pump("pump-other", "10.0.0.6:502", nil))
	e := newTestEngine(t, offlineRules, devs...)
	var heard, recorded []string
	run := func(ts []Transition) {
		heard = append(heard, notified(ts)...)
		for _, tr := range ts {
			if tr.To == Firing && tr.From != Firing {
				recorded = append(recorded, tr.Alert.Rule+"/"+tr.Alert.Subject())
			}
		}
	}
	for sec := 0; sec <= 300; sec++ {
		ts := at(time.Duration(sec) * time.Second)
		for _, d := range devs {
			if sec >= 10 && d.Gateway == "10.0.0.5:502" {
				run(e.Observe(health(d.ID, ts, false))) // the gateway dropped
				continue
			}
			run(e.Observe(append(poll(d.ID, ts, "discharge_pressure", 3.0), health(d.ID, ts, true)...)))
		}
		run(e.Eval(ts))
	}
	if got := strings.Join(heard, " "); got != "gateway_offline/gateway 10.0.0.5:502" {
		t.Errorf("receivers heard %q, want one gateway alert", got)
	}
	if len(recorded) != 6 {
		t.Errorf("recorded firing %v, want the gateway and its 5 devices (muted, still recorded)", recorded)
	}
	for _, a := range e.Alerts() {
		if a.Rule == "device_offline" && a.InhibitedBy == "" {
			t.Errorf("%s not inhibited", a.Subject())
		}
		if a.Rule == "gateway_offline" && (a.Value != 5 || a.Annotations["summary"] != "5 devices behind 10.0.0.5:502 do not answer") {
			t.Errorf("gateway alert = %v %q", a.Value, a.Annotations["summary"])
		}
	}

	// One device comes back: the gateway alert resolves, and the devices
	// still down are no longer inhibited: receivers hear of each now.
	heard = nil
	ts := at(301 * time.Second)
	run(e.Observe(append(poll("pump-0", ts, "discharge_pressure", 3.0), health("pump-0", ts, true)...)))
	run(e.Eval(ts))
	if got := strings.Join(heard, " "); got != "device_offline/pump-1 device_offline/pump-2 device_offline/pump-3 device_offline/pump-4" {
		t.Errorf("after the gateway recovered, receivers heard %q", got)
	}
}

func TestOfflineByMissingData(t *testing.T) {
	e := newTestEngine(t, offlineRules, pump("pump-1", "", nil))
	e.Observe(poll("pump-1", at(0), "discharge_pressure", 3.0))
	expectTransitions(t, "59 s", e.Eval(at(59*time.Second)), "")
	expectTransitions(t, "60 s", e.Eval(at(60*time.Second)), "device_offline/pump-1:inactive>pending")
	expectTransitions(t, "90 s", e.Eval(at(90*time.Second)), "device_offline/pump-1:pending>firing!")
	if a := e.Alerts()[0]; a.Value != 90 {
		t.Errorf("offline value = %v, want 90 s without data", a.Value)
	}
	expectTransitions(t, "data", e.Observe(poll("pump-1", at(91*time.Second), "discharge_pressure", 3.0)),
		"device_offline/pump-1:firing>resolved!")
	// A device polled every 5 minutes is not offline between polls.
	slow := pump("pump-1", "", nil)
	slow.Interval = 5 * time.Minute
	e3 := newTestEngine(t, offlineRules, slow)
	e3.Observe(poll("pump-1", at(0), "discharge_pressure", 3.0))
	expectTransitions(t, "slow, 14m59s", e3.Eval(at(15*time.Minute-time.Second)), "")
	expectTransitions(t, "slow, 15m", e3.Eval(at(15*time.Minute)), "device_offline/pump-1:inactive>pending")
	// A device never heard from counts from the first evaluation.
	e2 := newTestEngine(t, offlineRules, pump("pump-1", "", nil))
	e2.Eval(at(0))
	expectTransitions(t, "never seen", e2.Eval(at(60*time.Second)), "device_offline/pump-1:inactive>pending")
}

func TestInhibitByPowerLoss(t *testing.T) {
	room := map[string]string{"room": "pump_room_b1"}
	monitor := map[string]string{"room": "pump_room_b1", "role": "power_monitor"}
	e := newTestEngine(t, offlineRules, pump("pump-1", "", room), pump("pump-9", "", monitor), pump("pump-x", "", map[string]string{"room": "other"}))
	ts := e.Observe(poll("pump-9", at(0), "fault", true, "discharge_pressure", 3.0))
	ts = append(ts, e.Observe(poll("pump-1", at(time.Second), "discharge_pressure", 0.2))...)
	ts = append(ts, e.Observe(poll("pump-x", at(time.Second), "discharge_pressure", 0.2))...)
	if got := strings.Join(notified(ts), " "); got != "room_power_loss/pump-9 low_pressure/pump-x" {
		t.Errorf("heard %q: the pump in the room without power must be muted, the other not", got)
	}
}

func TestSilences(t *testing.T) {
	e := newTestEngine(t, lowPressure, pump("pump-1", "", map[string]string{"building": "A"}), pump("pump-2", "", nil))
	m, _ := ParseMatchers([]string{`building="A"`, `rule=~"low_.*"`})
	e.SetSilences([]Silence{{ID: "s1", Kind: KindMaintenance, Matchers: m, StartsAt: at(0), EndsAt: at(time.Hour)}})
	var ts []Transition
	for sec := 0; sec <= 20; sec++ {
		for _, id := range []string{"pump-1", "pump-2"} {
			ts = append(ts, e.Observe(poll(id, at(time.Duration(sec)*time.Second), "running", true, "discharge_pressure", 1.0))...)
		}
	}
	if got := strings.Join(notified(ts), " "); got != "low_pressure/pump-2" {
		t.Errorf("heard %q during maintenance of building A", got)
	}
	if s := states(e); s != "low_pressure/pump-1:firing low_pressure/pump-2:firing" {
		t.Errorf("silenced alerts must still be recorded: %s", s)
	}
	if a := e.Alerts()[0]; len(a.SilencedBy) != 1 || a.SilencedBy[0] != "s1" {
		t.Errorf("silenced by %v", a.SilencedBy)
	}
	// The window ends with the fault still there: receivers hear of it now.
	expectTransitions(t, "window ends", e.Eval(at(time.Hour)), "low_pressure/pump-1:firing>firing!")
	expectTransitions(t, "once", e.Eval(at(time.Hour+time.Second)), "")
	// A silenced alert that resolves tells receivers nothing they did not hear.
	e.SetSilences([]Silence{{ID: "s2", Kind: KindSilence, Matchers: m, StartsAt: at(0), EndsAt: at(3 * time.Hour)}})
	e.Observe(poll("pump-1", at(time.Hour+2*time.Second), "running", true, "discharge_pressure", 3.0))
	e.Observe(poll("pump-1", at(time.Hour+3*time.Second), "running", true, "discharge_pressure", 1.0))
	e.Observe(poll("pump-1", at(time.Hour+23*time.Second), "running", true, "discharge_pressure", 1.0))
	expectTransitions(t, "silenced resolution", e.Observe(poll("pump-1", at(time.Hour+24*time.Second), "running", true, "discharge_pressure", 3.0)),
		"low_pressure/pump-1:firing>resolved")
}

func TestMatchers(t *testing.T) {
	labels := map[string]string{"device": "pump-1", "severity": "major"}
	for s, want := range map[string]bool{
		`device="pump-1"`:         true,
		`device=pump-1`:           true,
		`device!="pump-1"`:        false,
		`device=~"pump-.*"`:       true,
		`device=~"pump"`:          false, // anchored
		`severity!~"info|minor"`:  true,
		`building=""`:             true, // unset is ""
		` device = "pump-1" `:     true,
		`device="with \"quote\""`: false,
	} {
		m, err := ParseMatcher(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got := m.Matches(labels); got != want {
			t.Errorf("%s matches = %v, want %v", s, got, want)
		}
		if back, err := ParseMatcher(m.String()); err != nil || back.String() != m.String() {
			t.Errorf("%s does not round-trip: %q %v", s, m.String(), err)
		}
	}
	for _, s := range []string{`device`, `="x"`, `1a="x"`, `device=~"("`, `device=two words`, `device="unterminated`} {
		if _, err := ParseMatcher(s); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}
