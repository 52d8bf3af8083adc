package rules

import (
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

func inspectionSample(ts time.Time, device, plan, status string) []drivers.Sample {
	return []drivers.Sample{{Time: ts, Device: device, Measurement: InspectionMeasurement, Point: plan, Value: drivers.String(status)}}
}

// TestInspectionAlerts follows a plan's status as the inspections engine
// reports it: due fires inspection_due, overdue fires inspection_overdue as
// well, done clears both; a silence mutes them; a device that does not
// answer is still due; a plan that does not match the device has none.
func TestInspectionAlerts(t *testing.T) {
	lift := &Device{ID: "elevator-1", Type: "elevator", Gateway: "10.0.0.5:502", Points: map[string]drivers.Kind{"trips": drivers.KindFloat}}
	pump := &Device{ID: "pump-1", Type: "pump", Points: map[string]drivers.Kind{"run_hours": drivers.KindFloat}}
	set := &Set{Inspections: []InspectionPlan{
		{Name: "elevator_half_monthly", Title: "电梯半月保养 half-monthly maintenance", Match: Match{Type: "elevator"}},
		{Name: "pump_service", Match: Match{Type: "pump"}},
	}}
	e, err := NewEngine(set, []*Device{lift, pump}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, n := e.Devices(); n != 4 {
		t.Fatalf("%d instances, want 2 per plan on its one device", n)
	}
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	firing := func() map[string]Alert {
		out := map[string]Alert{}
		for _, a := range e.Alerts() {
			if a.State == Firing {
				out[a.Rule+"/"+a.Labels[InspectionPlanLabel]+"/"+a.Device] = a
			}
		}
		return out
	}
	if ts := e.Observe(inspectionSample(t0, "elevator-1", "elevator_half_monthly", "due_soon")); len(ts) != 0 {
		t.Fatalf("due_soon fired: %+v", ts)
	}
	ts := e.Observe(inspectionSample(t0.Add(time.Minute), "elevator-1", "elevator_half_monthly", "due"))
	if len(ts) != 1 || ts[0].To != Firing || ts[0].Alert.Rule != InspectionDueRule || !ts[0].Notify ||
		ts[0].Alert.Kind != KindInspection || ts[0].Alert.Severity != Minor || ts[0].Alert.Ticket != nil {
		t.Fatalf("due: %+v", ts)
	}
	if got := ts[0].Alert.Annotations["summary"]; got != "电梯半月保养 half-monthly maintenance is due / 已到期" {
		t.Errorf("summary = %q", got)
	}
	// The lift stops answering: the plan stays due, and goes overdue.
	e.Observe([]drivers.Sample{{Time: t0.Add(2 * time.Minute), Device: "elevator-1", Measurement: drivers.HealthMeasurement,
		Point: drivers.HealthUp, Value: drivers.Bool(false)}})
	e.Eval(t0.Add(3 * time.Minute))
	ts = e.Observe(inspectionSample(t0.Add(4*time.Minute), "elevator-1", "elevator_half_monthly", "overdue"))
	if len(ts) != 1 || ts[0].Alert.Rule != InspectionOverdueRule || ts[0].Alert.Severity != Major {
		t.Fatalf("overdue: %+v", ts)
	}
	if f := firing(); len(f) != 2 {
		t.Fatalf("firing = %v, want due and overdue", f)
	}
	// Ticks do not clear them (they are decided by status samples).
	if ts := e.Eval(t0.Add(time.Hour)); len(ts) != 0 {
		t.Fatalf("a tick changed inspection alerts: %+v", ts)
	}
	ts = e.Observe(inspectionSample(t0.Add(2*time.Hour), "elevator-1", "elevator_half_monthly", "ok"))
	if len(ts) != 2 || ts[0].To != Resolved || ts[1].To != Resolved {
		t.Fatalf("done: %+v", ts)
	}
	// Silenced: fires, recorded, not notified.
	m, err := ParseMatchers([]string{`plan="pump_service"`})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSilences([]Silence{{ID: "s1", Kind: KindSilence, Matchers: m, StartsAt: t0, EndsAt: t0.Add(48 * time.Hour)}})
	ts = e.Observe(inspectionSample(t0.Add(3*time.Hour), "pump-1", "pump_service", "due"))
	if len(ts) != 1 || ts[0].To != Firing || ts[0].Notify {
		t.Fatalf("silenced due: %+v", ts)
	}
	// A status for a plan that does not match the device raises nothing.
	if ts := e.Observe(inspectionSample(t0.Add(4*time.Hour), "pump-1", "elevator_half_monthly", "overdue")); len(ts) != 0 {
		t.Fatalf("unmatched plan: %+v", ts)
	}
}
