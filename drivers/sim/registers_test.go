package sim

import (
	"math"
	"testing"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
)

// TestRegisterMapRoundTrip writes model values into the register map and
// reads them back with the poller's decoder, in every byte order: what the
// simulator serves is what a poller of the same profile reads. Values past
// a type's range read as its nearest end.
func TestRegisterMapRoundTrip(t *testing.T) {
	cases := []struct {
		p         drivers.Point
		value     float64
		want      float64
		allOrders bool
	}{
		{drivers.Point{Type: drivers.TypeInt16}, -2, -2, true},
		{drivers.Point{Type: drivers.TypeUint16, Scale: 0.01}, 3.21, 3.21, true},
		{drivers.Point{Type: drivers.TypeInt32, Scale: 0.5, Offset: -40}, 20, 20, true},
		{drivers.Point{Type: drivers.TypeUint32}, 0x01020304, 0x01020304, true},
		{drivers.Point{Type: drivers.TypeInt64}, -0x0102030405060800, -0x0102030405060800, true},
		{drivers.Point{Type: drivers.TypeUint64, Scale: 0.001}, 1234.567, 1234.567, true},
		{drivers.Point{Type: drivers.TypeFloat32}, 230.5, 230.5, true},
		{drivers.Point{Type: drivers.TypeFloat64}, -1.5, -1.5, true},
		{drivers.Point{Type: drivers.TypeUint16, Scale: 0.01}, -0.02, 0, false}, // a pump's pressure dipping below zero
		{drivers.Point{Type: drivers.TypeInt16}, 40000, math.MaxInt16, false},
		{drivers.Point{Type: drivers.TypeUint32}, math.NaN(), 0, false},
	}
	for _, tc := range cases {
		orders := []drivers.ByteOrder{drivers.ABCD}
		if tc.allOrders {
			orders = []drivers.ByteOrder{drivers.ABCD, drivers.DCBA, drivers.BADC, drivers.CDAB}
		}
		for _, order := range orders {
			p := tc.p
			p.Name, p.Register, p.Address, p.ByteOrder = "x", drivers.Holding, 2, order
			m, err := newRegisterMap(&drivers.Profile{Type: "pump", Points: []drivers.Point{p}})
			if err != nil {
				t.Fatal(err)
			}
			m.write(m.points[0], tc.value)
			got, err := modbus.Decode(&p, m.holding[2:])
			if err != nil || math.Abs(got.Float64()-tc.want) > 1e-9 {
				t.Errorf("%s %s: wrote %v, read %v, %v; want %v", p.Type, order, tc.value, got, err, tc.want)
			}
		}
	}
}

func TestRegisterMapBitsAndBools(t *testing.T) {
	prof := &drivers.Profile{Type: "pump", Points: []drivers.Point{
		{Name: "a", Register: drivers.Input, Address: 3, Type: drivers.TypeBit, Bit: 15},
		{Name: "b", Register: drivers.Input, Address: 3, Type: drivers.TypeBit, Bit: 2},
		{Name: "c", Register: drivers.Holding, Address: 1, Type: drivers.TypeBool},
		{Name: "d", Register: drivers.Coil, Address: 4},
		{Name: "e", Register: drivers.Discrete, Address: 0, Type: drivers.TypeBool},
	}}
	m, err := newRegisterMap(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.input) != 4 || len(m.holding) != 2 || len(m.coils) != 5 || len(m.discrete) != 1 {
		t.Fatalf("table sizes %d %d %d %d, want 4 2 5 1", len(m.input), len(m.holding), len(m.coils), len(m.discrete))
	}
	for _, p := range m.points {
		m.write(p, 1)
	}
	m.write(m.points[1], 0)
	if m.input[3] != 0x8000 || m.holding[1] != 1 || !m.coils[4] || !m.discrete[0] {
		t.Errorf("input[3]=%#04x holding[1]=%d coil 4=%v discrete 0=%v", m.input[3], m.holding[1], m.coils[4], m.discrete[0])
	}
}

func TestWireAddress(t *testing.T) {
	cases := []struct {
		kind drivers.RegisterKind
		ref  uint32
		want uint16
	}{
		{drivers.Holding, 40001, 0}, {drivers.Holding, 49999, 9998}, {drivers.Holding, 400001, 0},
		{drivers.Holding, 465536, 65535}, {drivers.Input, 30001, 0}, {drivers.Input, 30073, 72},
		{drivers.Input, 300001, 0}, {drivers.Discrete, 10001, 0}, {drivers.Coil, 1, 0}, {drivers.Coil, 17, 16},
	}
	for _, tc := range cases {
		got, err := wireAddress(drivers.Reference, &drivers.Point{Register: tc.kind, Address: tc.ref})
		if err != nil || got != tc.want {
			t.Errorf("%s %d = %d, %v; want %d", tc.kind, tc.ref, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		kind drivers.RegisterKind
		ref  uint32
	}{{drivers.Holding, 40000}, {drivers.Holding, 30001}, {drivers.Input, 0}, {drivers.Coil, 0}, {drivers.Holding, 465537}} {
		if got, err := wireAddress(drivers.Reference, &drivers.Point{Register: bad.kind, Address: bad.ref}); err == nil {
			t.Errorf("%s reference %d accepted as %d", bad.kind, bad.ref, got)
		}
	}
	if got, err := wireAddress(drivers.Wire, &drivers.Point{Register: drivers.Holding, Address: 40001}); err != nil || got != 40001 {
		t.Errorf("wire 40001 = %d, %v", got, err)
	}
}
