package sim

import (
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	good := []struct {
		in   string
		want Fault
	}{
		{"pump-1:low_pressure@10s", Fault{"pump-1", "low_pressure", 10 * time.Second, 0, 0}},
		{"meter-1:reverse_energy@1m30s", Fault{"meter-1", "reverse_energy", 90 * time.Second, 0, 0}},
		{"pump-2:trip", Fault{"pump-2", "trip", 0, 0, 0}},
		{"plant:pump:7:offline@0s", Fault{"plant:pump:7", "offline", 0, 0, 0}},
		{" pump-1 : dry_run @ 300ms", Fault{"pump-1", "dry_run", 300 * time.Millisecond, 0, 0}},
		{"meter-1:hvac_night=15kW@2d..9d", Fault{"meter-1", "hvac_night", 48 * time.Hour, 216 * time.Hour, 15}},
		{"meter-1:hvac_night@1h", Fault{"meter-1", "hvac_night", time.Hour, 0, 0}},
		{"meter-1:baseload_drift=10%@30d..44d", Fault{"meter-1", "baseload_drift", 720 * time.Hour, 1056 * time.Hour, 10}},
		{"meter-1:baseload_drift=2.5%/week@0s", Fault{"meter-1", "baseload_drift", 0, 0, 2.5}},
		{"water-meter-1:water_leak=4 L/min@36h..48h", Fault{"water-meter-1", "water_leak", 36 * time.Hour, 48 * time.Hour, 4}},
		{"gas-meter-1:gas_stuck=1.5m³/h@200d", Fault{"gas-meter-1", "gas_stuck", 200 * 24 * time.Hour, 0, 1.5}},
		{"gas-meter-1:gas_stuck=1.5@1h..2h", Fault{"gas-meter-1", "gas_stuck", time.Hour, 2 * time.Hour, 1.5}},
	}
	for _, tc := range good {
		got, err := ParseFault(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", `fault "": missing ':'`},
		{"pump-1", `fault "pump-1": missing ':' between device and kind`},
		{"pump-1low_pressure@10s", `fault "pump-1low_pressure@10s": missing ':'`},
		{":trip@1s", `fault ":trip@1s": missing device`},
		{"pump-1:@1s", `fault "pump-1:@1s": missing kind`},
		{"pump-1:low_presure@10s", `unknown kind "low_presure": use one of`},
		{"pump-1:trip@10", `fault "pump-1:trip@10": delay "10" is not a duration`},
		{"pump-1:trip@soon", `delay "soon" is not a duration`},
		{"pump-1:trip@-5s", `delay -5s is negative`},
		{"pump-1:trip=3@1s", `a trip fault has no size`},
		{"pump-1:trip@1s..2s", `a trip fault does not end`},
		{"meter-1:hvac_night=15L/min@1h", `size "15L/min": want a positive number of kW`},
		{"meter-1:hvac_night=-1@1h", `want a positive number of kW`},
		{"meter-1:hvac_night=0kW@1h", `want a positive number of kW`},
		{"meter-1:hvac_night@9d..2d", `end 48h0m0s is not after the start 216h0m0s`},
		{"meter-1:hvac_night@2d..2d", `is not after the start`},
		{"meter-1:hvac_night@2d..soon", `end "soon" is not a duration`},
	}
	for _, tc := range bad {
		_, err := ParseFault(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFault(%q) error = %v, want it to say %q", tc.in, err, tc.want)
		}
	}
}

func TestFaultStringRoundTrip(t *testing.T) {
	for _, f := range []Fault{
		{Device: "pump-1", Kind: "overcurrent", After: 2500 * time.Millisecond},
		{Device: "meter-1", Kind: FaultBaseloadDrift, After: 30 * 24 * time.Hour, Until: 44 * 24 * time.Hour, Size: 12.5},
		{Device: "w", Kind: FaultWaterLeak, Size: 0.3},
	} {
		if got, err := ParseFault(f.String()); err != nil || got != f {
			t.Errorf("ParseFault(%q) = %+v, %v", f.String(), got, err)
		}
	}
}

func TestGroundTruth(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, Zone)
	got := GroundTruthOf([]Fault{
		{Device: "meter-1", Kind: FaultHVACNight, After: 24 * time.Hour, Until: 72 * time.Hour},
		{Device: "gas-1", Kind: FaultGasStuck, After: time.Hour, Size: 1.5},
		{Device: "pump-1", Kind: "trip", After: time.Minute},
	}, start)
	want := []GroundTruth{
		{Device: "meter-1", Kind: FaultHVACNight, Start: start.Add(24 * time.Hour), End: start.Add(72 * time.Hour), Size: 20, Unit: "kW"},
		{Device: "gas-1", Kind: FaultGasStuck, Start: start.Add(time.Hour), Size: 1.5, Unit: "m3/h"},
		{Device: "pump-1", Kind: "trip", Start: start.Add(time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ground truth %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func FuzzParseFault(f *testing.F) {
	f.Add("pump-1:low_pressure@10s")
	f.Add("a:b:c@")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFault(s)
		if err != nil {
			return
		}
		again, err := ParseFault(got.String())
		if err != nil || again != got {
			t.Errorf("%q parsed to %+v, which reads back as %+v, %v", s, got, again, err)
		}
	})
}
