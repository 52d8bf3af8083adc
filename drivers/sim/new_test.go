package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

func TestNewRejects(t *testing.T) {
	bad := &drivers.Profile{Type: "pump", Points: []drivers.Point{
		{Name: "x", Register: drivers.Coil, Type: drivers.TypeFloat32},
		{Name: "y", Register: drivers.Holding, Address: 65535, Type: drivers.TypeUint32},
	}}
	ref := &drivers.Profile{Type: "pump", Addressing: drivers.Reference, Points: []drivers.Point{
		{Name: "z", Register: drivers.Holding, Address: 30001, Type: drivers.TypeUint16},
	}}
	cases := []struct {
		name   string
		cfg    Config
		faults []Fault
		want   []string
	}{
		{"no devices", Config{Addr: "127.0.0.1:0"}, nil, []string{"no devices"}},
		{"address", Config{Addr: "localhost", Devices: building()}, nil, []string{`"localhost"`}},
		{"unit twice", Config{Addr: ":0", Devices: []Device{
			{ID: "a", UnitID: 1, Profile: pumpProfile()}, {ID: "b", UnitID: 1, Profile: pumpProfile()}}},
			nil, []string{`device "b": unit id 1 is already device "a"'s`}},
		{"unit 0", Config{Addr: ":0", Devices: []Device{{ID: "a", Profile: pumpProfile()}}},
			nil, []string{`device "a": unit id 0`}},
		{"no model", Config{Addr: ":0", Devices: []Device{{ID: "a", UnitID: 1, Profile: &drivers.Profile{Type: "chiller"}}}},
			nil, []string{`no model for equipment type "chiller"`}},
		{"bad points", Config{Addr: ":0", Devices: []Device{{ID: "p", UnitID: 1, Profile: bad}}},
			nil, []string{`device "p": point "x": type "float32" in a coil table`, `point "y": address 65535`}},
		{"bad reference", Config{Addr: ":0", Devices: []Device{{ID: "p", UnitID: 1, Profile: ref}}},
			nil, []string{`point "z": reference 30001 is not a holding reference: write 40001`}},
		{"fault device", Config{Addr: ":0", Devices: building()},
			[]Fault{{Device: "pump-9", Kind: "trip"}}, []string{`no device "pump-9"`}},
		{"fault kind", Config{Addr: ":0", Devices: building()},
			[]Fault{{Device: "pump-1", Kind: "low_pf"}}, []string{`device "pump-1": fault pump-1:low_pf@0s: a pump has no fault "low_pf"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, tc.faults, nil)
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	run := func(seed int64) [][]uint16 {
		s, err := New(Config{Addr: ":0", Devices: building(), Seed: seed}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			s.Step(t0.Add(time.Duration(i) * DefaultTick))
		}
		return [][]uint16{s.devices[0].regs.holding, s.devices[1].regs.input}
	}
	a, b, c := run(7), run(7), run(8)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("device %d: same seed, different registers", i)
		}
	}
	if slices.Equal(a[1], c[1]) {
		t.Error("different seeds gave the same meter readings")
	}
}
