package modbus

import (
	"math"
	"slices"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

// TestEncodeSaturating: values past an integer type's range give its nearest
// end and NaN gives 0, where Encode refuses them; in range, both agree.
func TestEncodeSaturating(t *testing.T) {
	cases := []struct {
		p     drivers.Point
		value float64
		want  []uint16
		fits  bool // Encode takes it too
	}{
		{drivers.Point{Type: drivers.TypeUint16, Scale: 0.1}, 231.46, []uint16{2315}, true},
		{drivers.Point{Type: drivers.TypeInt16, Scale: 0.5, Offset: -40}, 20, []uint16{120}, true},
		{drivers.Point{Type: drivers.TypeInt16}, 32767.4, []uint16{0x7FFF}, true},
		{drivers.Point{Type: drivers.TypeInt16}, 40000, []uint16{0x7FFF}, false},
		{drivers.Point{Type: drivers.TypeInt16}, -40000, []uint16{0x8000}, false},
		{drivers.Point{Type: drivers.TypeUint16}, -3, []uint16{0}, false},
		{drivers.Point{Type: drivers.TypeUint32}, math.NaN(), []uint16{0, 0}, false},
		{drivers.Point{Type: drivers.TypeInt32, ByteOrder: drivers.CDAB}, math.Inf(-1), []uint16{0, 0x8000}, false},
		{drivers.Point{Type: drivers.TypeInt64}, 1e30, []uint16{0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}, false},
		{drivers.Point{Type: drivers.TypeInt64}, -1e30, []uint16{0x8000, 0, 0, 0}, false},
		{drivers.Point{Type: drivers.TypeUint64}, 1e30, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, false},
		{drivers.Point{Type: drivers.TypeFloat32, Scale: 1000}, 12345, []uint16{0x4145, 0x851F}, true}, // 12.345
	}
	for _, tc := range cases {
		got, err := EncodeSaturating(&tc.p, tc.value)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("EncodeSaturating(%+v, %v) = %04X, %v; want %04X", tc.p, tc.value, got, err, tc.want)
		}
		strict, err := Encode(&tc.p, tc.value)
		if tc.fits && (err != nil || !slices.Equal(strict, tc.want)) || !tc.fits && err == nil {
			t.Errorf("Encode(%+v, %v) = %04X, %v; fits %v", tc.p, tc.value, strict, err, tc.fits)
		}
	}
	if _, err := EncodeSaturating(&drivers.Point{Type: drivers.TypeUint16, ByteOrder: "ABDC"}, 1); err == nil {
		t.Error("unknown byte order accepted")
	}
	if _, err := EncodeSaturating(&drivers.Point{Type: drivers.TypeString}, 1); err == nil {
		t.Error("string encoded as a number")
	}
}
