package sim

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"gopkg.in/yaml.v3"
)

// stepModel runs a model from t0 for d in steps of dt, with the given faults.
func stepModel(t *testing.T, typ string, d, dt time.Duration, faults ...string) model {
	t.Helper()
	m := newModel(typ, rand.New(rand.NewPCG(1, 2)))
	if m == nil {
		t.Fatalf("no model for %q", typ)
	}
	active := map[string]bool{}
	for _, f := range faults {
		active[f] = true
	}
	m.step(t0, 0, active)
	for at := dt; at <= d; at += dt {
		m.step(t0.Add(at), dt, active)
	}
	return m
}

func TestModelFaults(t *testing.T) {
	night := -11 * time.Hour // t0 is 14:00, so this lands at 03:00
	type faultCase struct {
		typ, fault, point string
		lo, hi            float64
	}
	cases := []faultCase{
		{"pump", "", "discharge_pressure", 3.0, 3.4},
		{"pump", "low_pressure", "discharge_pressure", 0.7, 0.9},
		{"pump", "high_pressure", "discharge_pressure", 6, 7},
		{"pump", "overcurrent", "motor_current", 18, 21},
		{"pump", "dry_run", "motor_current", 3, 6},
		{"pump", "trip", "running", 0, 0},
		{"energy_meter", "", "total_power", 25000, 45000},
		{"energy_meter", "reverse_energy", "total_power", -45000, -25000},
		{"energy_meter", "low_pf", "power_factor", 0.6, 0.7},
		{"elevator", "entrapment", "entrapment", 1, 1},
		{"elevator", "entrapment", "fault_code", faultCodeEntrapment, faultCodeEntrapment},
		{"elevator", "door_fault", "door_open", 1, 1},
		{"elevator", "out_of_service", "service_mode", serviceOutOfService, serviceOutOfService},
		{"fire_panel", "", "status_word", statusNormal | statusAuto, statusNormal | statusAuto},
		{"fire_panel", "fire_alarm", "status_word", statusFireAlarm | statusStarted | statusAuto, statusFireAlarm | statusStarted | statusAuto},
		{"fire_panel", "fire_alarm", "alarm_zone", 1, firePanelZones},
		{"fire_panel", "zone_disabled", "status_word", statusNormal | statusDisabled | statusAuto, statusNormal | statusDisabled | statusAuto},
		{"fire_panel", "trouble", "normal", 0, 0},
		{"fire_panel", "main_power_fault", "mains_voltage", 0, 0},
		{"fire_panel", "backup_power_fault", "battery_voltage", 20, 21},
		{"water_meter", "", "flow_rate", 0, 0},
		{"water_meter", "leak", "flow_rate", 0.25, 0.25},
		{"gas_meter", "leak", "flow_rate", 1.0, 1.8},
	}
	for _, tc := range cases {
		start := time.Duration(0)
		if tc.typ == "water_meter" || tc.typ == "gas_meter" {
			start = night
		}
		m := newModel(tc.typ, rand.New(rand.NewPCG(1, 2)))
		active := map[string]bool{tc.fault: tc.fault != ""}
		m.step(t0.Add(start), 0, active)
		m.step(t0.Add(start+time.Second), time.Second, active)
		v, ok := m.value(tc.point)
		if !ok || v < tc.lo || v > tc.hi {
			t.Errorf("%s with %q: %s = %v (known %v), want %v to %v", tc.typ, tc.fault, tc.point, v, ok, tc.lo, tc.hi)
		}
	}
	for _, typ := range Models() {
		for _, k := range modelFaults(typ) {
			if IsEnergyFault(k) {
				continue // TestEnergyFaults
			}
			if !slices.ContainsFunc(cases, func(c faultCase) bool { return c.typ == typ && c.fault == k }) {
				t.Errorf("fault %s of %s is not tested", k, typ)
			}
		}
	}
}

func TestModelsRunADay(t *testing.T) {
	counters := map[string][]string{
		"pump":         {"run_hours", "starts"},
		"energy_meter": {"import_energy", "export_energy", "total_energy", "max_demand"},
		"elevator":     {"trips", "door_cycles", "run_hours"},
		"water_meter":  {"total_volume"},
		"gas_meter":    {"total_volume"},
	}
	for _, typ := range Models() {
		m := newModel(typ, rand.New(rand.NewPCG(3, 4)))
		m.step(t0, 0, nil)
		prev := map[string]float64{}
		for _, n := range m.names() {
			prev[n], _ = m.value(n)
		}
		for at := time.Minute; at <= 24*time.Hour; at += time.Minute {
			m.step(t0.Add(at), time.Minute, nil)
			for _, n := range m.names() {
				v, _ := m.value(n)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: %s = %v after %s", typ, n, v, at)
				}
				if slices.Contains(counters[typ], n) && v < prev[n] {
					t.Fatalf("%s: counter %s went back from %v to %v", typ, n, prev[n], v)
				}
				prev[n] = v
			}
		}
	}
	// The elevator really travels: 200 ms steps for ten minutes.
	e := stepModel(t, "elevator", 10*time.Minute, 200*time.Millisecond)
	trips, _ := e.value("trips")
	first, _ := newModel("elevator", rand.New(rand.NewPCG(1, 2))).value("trips")
	if trips-first < 10 {
		t.Errorf("elevator made %v trips in ten minutes, want at least 10", trips-first)
	}
	if f, _ := e.value("floor"); f < 1 || f > elevatorFloors {
		t.Errorf("elevator at floor %v", f)
	}
}

func TestModelPointsAndFaultKinds(t *testing.T) {
	if got := ModelPoints("pump"); !slices.Contains(got, "discharge_pressure") || !slices.IsSorted(got) {
		t.Errorf("ModelPoints(pump) = %v", got)
	}
	if ModelPoints("chiller") != nil || FaultKinds("chiller") != nil {
		t.Error("an unknown type has points or faults")
	}
	if got := FaultKinds("energy_meter"); !slices.Equal(got, []string{"reverse_energy", "low_pf", "hvac_night", "baseload_drift", "offline", "exception", "nan"}) {
		t.Errorf("FaultKinds(energy_meter) = %v", got)
	}
}

// TestFirePanelZones: the alarm sits in the panel's zone, the linked
// equipment's feedback follows after 5 s, and a disabled zone shows in the
// status word.
func TestFirePanelZones(t *testing.T) {
	f := stepModel(t, "fire_panel", 3*time.Second, time.Second, "fire_alarm", "zone_disabled").(*firePanel)
	alarms, disabled := 0, 0
	for z := 1; z <= firePanelZones; z++ {
		if f.bool(zonePoint(z, "alarm")) {
			alarms++
			if z != f.zone {
				t.Errorf("zone %d in alarm, want zone %d", z, f.zone)
			}
		}
		if f.bool(zonePoint(z, "disabled")) {
			disabled++
		}
	}
	if alarms != 1 || disabled != 1 || f.bool("feedback") || !f.bool("started") || !f.bool("disabled") {
		t.Errorf("alarms %d, disabled %d, points %v", alarms, disabled, f.v)
	}
	f.step(t0.Add(10*time.Second), 7*time.Second, map[string]bool{"fire_alarm": true})
	if !f.bool("feedback") || f.v["status_word"] != statusFireAlarm|statusStarted|statusFeedback|statusAuto {
		t.Errorf("after 10 s: feedback %v, status word %#x", f.bool("feedback"), int(f.v["status_word"]))
	}
}

// TestDemoProfiles checks that the sim plays every point of the profiles the
// demo polls, so that the demo shows no point stuck at 0.
func TestDemoProfiles(t *testing.T) {
	files, _ := filepath.Glob("../../configs/profiles/*.yaml")
	if len(files) == 0 {
		t.Skip("no profiles in configs/profiles")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p drivers.Profile
		if err := yaml.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		known := ModelPoints(p.Type)
		if known == nil {
			continue // a type the sim does not play yet
		}
		if _, err := newRegisterMap(&p); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, pt := range p.Points {
			if pt.Type != drivers.TypeString && !slices.Contains(known, pt.Name) {
				t.Errorf("%s: the %s model has no point %q (it has %v)", f, p.Type, pt.Name, known)
			}
		}
	}
}
