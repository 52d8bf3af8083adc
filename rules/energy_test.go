package rules

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

func energySample(ts time.Time, device, rule, status string, excess float64) []drivers.Sample {
	return []drivers.Sample{
		{Time: ts, Device: device, Measurement: EnergyMeasurement, Point: rule, Value: drivers.String(status)},
		{Time: ts, Device: device, Measurement: EnergyMeasurement, Point: rule + EnergyExcessSuffix, Value: drivers.Float(excess)},
	}
}

// TestEnergyAlerts follows an energy rule's outcome as the daemon reports
// it: anomaly fires with the excess as value, a larger excess announces it
// again, unfit and normal resolve it.
func TestEnergyAlerts(t *testing.T) {
	set := parseRules(t, `
groups:
  - name: energy
    rules:
      - name: water_leak
        kind: energy
        match: {type: water_meter}
        detector: leak
        severity: major
        annotations: {summary: 'leak, {{ .Value }} m³ so far'}
        ticket: {priority: P2, category: plumbing}
`)
	if d := set.Rules[0].Energy; d == nil || d.Detector != DetectLeak {
		t.Fatalf("energy spec %+v", d)
	}
	wm := &Device{ID: "water-meter-1", Type: "water_meter", Points: map[string]drivers.Kind{"total_volume": drivers.KindFloat}}
	pm := &Device{ID: "pump-1", Type: "pump"}
	e, err := NewEngine(set, []*Device{wm, pm}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, n := e.Devices(); n != 1 {
		t.Fatalf("%d instances, want 1", n)
	}
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	if ts := e.Observe(energySample(t0, "water-meter-1", "water_leak", EnergyNormal, 0)); len(ts) != 0 {
		t.Fatalf("normal: %+v", ts)
	}
	ts := e.Observe(energySample(t0.Add(time.Hour), "water-meter-1", "water_leak", EnergyAnomaly, 0.6))
	if len(ts) != 1 || ts[0].To != Firing || !ts[0].Notify || ts[0].Alert.Value != 0.6 || ts[0].Alert.Ticket == nil || ts[0].Alert.Kind != KindEnergy {
		t.Fatalf("anomaly: %+v", ts)
	}
	if got := ts[0].Alert.Annotations["summary"]; !strings.Contains(got, "0.6") {
		t.Errorf("summary %q", got)
	}
	ts = e.Observe(energySample(t0.Add(2*time.Hour), "water-meter-1", "water_leak", EnergyAnomaly, 1.2))
	if len(ts) != 1 || ts[0].From != Firing || ts[0].To != Firing || !ts[0].Notify || ts[0].Alert.Value != 1.2 {
		t.Fatalf("growing: %+v", ts)
	}
	if ts := e.Observe(energySample(t0.Add(3*time.Hour), "water-meter-1", "water_leak", EnergyAnomaly, 1.2)); len(ts) != 0 {
		t.Fatalf("same excess announced again: %+v", ts)
	}
	ts = e.Observe(energySample(t0.Add(4*time.Hour), "water-meter-1", "water_leak", EnergyUnfit, math.NaN()))
	if len(ts) != 1 || ts[0].To != Resolved {
		t.Fatalf("unfit: %+v", ts)
	}
}

func TestEnergyRuleErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`{name: x, kind: energy, match: {all: true}}`, "detector is required"},
		{`{name: x, kind: energy, match: {all: true}, detector: leek}`, "did you mean"},
		{`{name: x, kind: energy, match: {all: true}, detector: residual, expr: "a > 1"}`, "energy rules take no expr"},
		{`{name: x, match: {all: true}, expr: "a > 1", detector: residual}`, "detector is for energy rules"},
		{`{name: x, kind: energy, match: {all: true}, detector: residual, k: -1}`, "a number above 0"},
	} {
		_, err := ParseFile("r.yaml", []byte("groups:\n  - name: g\n    rules:\n      - "+c.text+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.text, err, c.want)
		}
	}
}
