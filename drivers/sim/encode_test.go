package sim

import (
	"math"
	"slices"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

func TestEncodeRegisters(t *testing.T) {
	// Each value's big-endian bytes are distinct, so every order shows.
	cases := []struct {
		typ   drivers.DataType
		value float64
		want  map[drivers.ByteOrder][]uint16
	}{
		{drivers.TypeInt16, -2, map[drivers.ByteOrder][]uint16{ // 0xFFFE
			drivers.ABCD: {0xFFFE}, drivers.DCBA: {0xFEFF}, drivers.BADC: {0xFEFF}, drivers.CDAB: {0xFFFE}}},
		{drivers.TypeUint16, 0x0102, map[drivers.ByteOrder][]uint16{
			drivers.ABCD: {0x0102}, drivers.DCBA: {0x0201}, drivers.BADC: {0x0201}, drivers.CDAB: {0x0102}}},
		{drivers.TypeInt32, -16909061, map[drivers.ByteOrder][]uint16{ // 0xFEFDFCFB
			drivers.ABCD: {0xFEFD, 0xFCFB}, drivers.DCBA: {0xFBFC, 0xFDFE},
			drivers.BADC: {0xFDFE, 0xFBFC}, drivers.CDAB: {0xFCFB, 0xFEFD}}},
		{drivers.TypeUint32, 0x01020304, map[drivers.ByteOrder][]uint16{
			drivers.ABCD: {0x0102, 0x0304}, drivers.DCBA: {0x0403, 0x0201},
			drivers.BADC: {0x0201, 0x0403}, drivers.CDAB: {0x0304, 0x0102}}},
		{drivers.TypeInt64, -0x0102030405060800, map[drivers.ByteOrder][]uint16{ // 0xFEFDFCFBFAF9F800, exact in a float64
			drivers.ABCD: {0xFEFD, 0xFCFB, 0xFAF9, 0xF800}, drivers.DCBA: {0x00F8, 0xF9FA, 0xFBFC, 0xFDFE},
			drivers.BADC: {0xFDFE, 0xFBFC, 0xF9FA, 0x00F8}, drivers.CDAB: {0xF800, 0xFAF9, 0xFCFB, 0xFEFD}}},
		{drivers.TypeUint64, 0x0102030405060000, map[drivers.ByteOrder][]uint16{ // exact in a float64
			drivers.ABCD: {0x0102, 0x0304, 0x0506, 0x0000}, drivers.DCBA: {0x0000, 0x0605, 0x0403, 0x0201},
			drivers.BADC: {0x0201, 0x0403, 0x0605, 0x0000}, drivers.CDAB: {0x0000, 0x0506, 0x0304, 0x0102}}},
		{drivers.TypeFloat32, 230.5, map[drivers.ByteOrder][]uint16{ // 0x43668000
			drivers.ABCD: {0x4366, 0x8000}, drivers.DCBA: {0x0080, 0x6643},
			drivers.BADC: {0x6643, 0x0080}, drivers.CDAB: {0x8000, 0x4366}}},
		{drivers.TypeFloat64, -1.5, map[drivers.ByteOrder][]uint16{ // 0xBFF8000000000000
			drivers.ABCD: {0xBFF8, 0, 0, 0}, drivers.DCBA: {0, 0, 0, 0xF8BF},
			drivers.BADC: {0xF8BF, 0, 0, 0}, drivers.CDAB: {0, 0, 0, 0xBFF8}}},
	}
	for _, tc := range cases {
		for _, order := range []drivers.ByteOrder{drivers.ABCD, drivers.DCBA, drivers.BADC, drivers.CDAB} {
			p := &drivers.Point{Type: tc.typ, ByteOrder: order}
			got, err := encodeRegisters(p, tc.value)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.typ, order, err)
			}
			if want := tc.want[order]; !slices.Equal(got, want) {
				t.Errorf("%s %v in %s = %04X, want %04X", tc.typ, tc.value, order, got, want)
			}
		}
	}
}

func TestEncodeScaleAndClamp(t *testing.T) {
	cases := []struct {
		p     drivers.Point
		value float64
		want  []uint16
	}{
		{drivers.Point{Type: drivers.TypeUint16, Scale: 0.1}, 231.46, []uint16{2315}},
		{drivers.Point{Type: drivers.TypeInt16, Scale: 0.5, Offset: -40}, 20, []uint16{120}},
		{drivers.Point{Type: drivers.TypeInt16}, 40000, []uint16{0x7FFF}},
		{drivers.Point{Type: drivers.TypeInt16}, -40000, []uint16{0x8000}},
		{drivers.Point{Type: drivers.TypeUint16}, -3, []uint16{0}},
		{drivers.Point{Type: drivers.TypeUint32}, math.NaN(), []uint16{0, 0}},
		{drivers.Point{Type: drivers.TypeInt64}, 1e30, []uint16{0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{drivers.Point{Type: drivers.TypeUint64}, 1e30, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
		{drivers.Point{Type: drivers.TypeFloat32, Scale: 1000}, 12345, []uint16{0x4145, 0x851F}}, // 12.345
	}
	for _, tc := range cases {
		got, err := encodeRegisters(&tc.p, tc.value)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%+v with %v = %04X, %v; want %04X", tc.p, tc.value, got, err, tc.want)
		}
	}
	if _, err := encodeRegisters(&drivers.Point{Type: drivers.TypeUint16, ByteOrder: "ABDC"}, 1); err == nil {
		t.Error("unknown byte order accepted")
	}
	if _, err := encodeRegisters(&drivers.Point{Type: drivers.TypeString}, 1); err == nil {
		t.Error("string encoded as a number")
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
