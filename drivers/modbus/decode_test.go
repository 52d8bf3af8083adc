package modbus

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

// f32 is what a float32 reading becomes as a float64 value: the shortest
// decimal that reads back as the float32, so 123.456 stays 123.456.
func f32(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

type decodeCase struct {
	typ   drivers.DataType
	order drivers.ByteOrder
	regs  []uint16
	want  drivers.Value
}

// decodeCases has known register patterns for every type in every byte
// order: float32 123.456 = 0x42F6E979, float64 123.456 = 0x405EDD2F1A9FBE77,
// int32 -2 = 0xFFFFFFFE, uint32 0x01020304, int64/uint64 0x0102030405060708.
var decodeCases = []decodeCase{
	{drivers.TypeInt16, drivers.ABCD, []uint16{0xFFFE}, drivers.Int(-2)},
	{drivers.TypeInt16, drivers.CDAB, []uint16{0xFFFE}, drivers.Int(-2)},
	{drivers.TypeInt16, drivers.DCBA, []uint16{0xFEFF}, drivers.Int(-2)},
	{drivers.TypeInt16, drivers.BADC, []uint16{0xFEFF}, drivers.Int(-2)},

	{drivers.TypeUint16, drivers.ABCD, []uint16{0x0102}, drivers.Int(258)},
	{drivers.TypeUint16, drivers.CDAB, []uint16{0x0102}, drivers.Int(258)},
	{drivers.TypeUint16, drivers.DCBA, []uint16{0x0201}, drivers.Int(258)},
	{drivers.TypeUint16, drivers.BADC, []uint16{0x0201}, drivers.Int(258)},

	{drivers.TypeInt32, drivers.ABCD, []uint16{0xFFFF, 0xFFFE}, drivers.Int(-2)},
	{drivers.TypeInt32, drivers.DCBA, []uint16{0xFEFF, 0xFFFF}, drivers.Int(-2)},
	{drivers.TypeInt32, drivers.BADC, []uint16{0xFFFF, 0xFEFF}, drivers.Int(-2)},
	{drivers.TypeInt32, drivers.CDAB, []uint16{0xFFFE, 0xFFFF}, drivers.Int(-2)},

	{drivers.TypeUint32, drivers.ABCD, []uint16{0x0102, 0x0304}, drivers.Int(0x01020304)},
	{drivers.TypeUint32, drivers.DCBA, []uint16{0x0403, 0x0201}, drivers.Int(0x01020304)},
	{drivers.TypeUint32, drivers.BADC, []uint16{0x0201, 0x0403}, drivers.Int(0x01020304)},
	{drivers.TypeUint32, drivers.CDAB, []uint16{0x0304, 0x0102}, drivers.Int(0x01020304)},

	{drivers.TypeInt64, drivers.ABCD, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE}, drivers.Int(-2)},
	{drivers.TypeInt64, drivers.DCBA, []uint16{0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF}, drivers.Int(-2)},
	{drivers.TypeInt64, drivers.BADC, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF}, drivers.Int(-2)},
	{drivers.TypeInt64, drivers.CDAB, []uint16{0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF}, drivers.Int(-2)},

	{drivers.TypeUint64, drivers.ABCD, []uint16{0x0102, 0x0304, 0x0506, 0x0708}, drivers.Int(0x0102030405060708)},
	{drivers.TypeUint64, drivers.DCBA, []uint16{0x0807, 0x0605, 0x0403, 0x0201}, drivers.Int(0x0102030405060708)},
	{drivers.TypeUint64, drivers.BADC, []uint16{0x0201, 0x0403, 0x0605, 0x0807}, drivers.Int(0x0102030405060708)},
	{drivers.TypeUint64, drivers.CDAB, []uint16{0x0708, 0x0506, 0x0304, 0x0102}, drivers.Int(0x0102030405060708)},

	{drivers.TypeFloat32, drivers.ABCD, []uint16{0x42F6, 0xE979}, drivers.Float(f32(123.456))},
	{drivers.TypeFloat32, drivers.DCBA, []uint16{0x79E9, 0xF642}, drivers.Float(f32(123.456))},
	{drivers.TypeFloat32, drivers.BADC, []uint16{0xF642, 0x79E9}, drivers.Float(f32(123.456))},
	{drivers.TypeFloat32, drivers.CDAB, []uint16{0xE979, 0x42F6}, drivers.Float(f32(123.456))},

	{drivers.TypeFloat64, drivers.ABCD, []uint16{0x405E, 0xDD2F, 0x1A9F, 0xBE77}, drivers.Float(123.456)},
	{drivers.TypeFloat64, drivers.DCBA, []uint16{0x77BE, 0x9F1A, 0x2FDD, 0x5E40}, drivers.Float(123.456)},
	{drivers.TypeFloat64, drivers.BADC, []uint16{0x5E40, 0x2FDD, 0x9F1A, 0x77BE}, drivers.Float(123.456)},
	{drivers.TypeFloat64, drivers.CDAB, []uint16{0xBE77, 0x1A9F, 0xDD2F, 0x405E}, drivers.Float(123.456)},

	// One-register booleans ignore the byte order: any non-zero is true,
	// and bits count from the least significant bit of the register.
	{drivers.TypeBool, drivers.ABCD, []uint16{0x0100}, drivers.Bool(true)},
	{drivers.TypeBool, drivers.DCBA, []uint16{0}, drivers.Bool(false)},
	{drivers.TypeBool, drivers.BADC, []uint16{0x8000}, drivers.Bool(true)},
	{drivers.TypeBool, drivers.CDAB, []uint16{1}, drivers.Bool(true)},
	{drivers.TypeBit, drivers.ABCD, []uint16{0x0004}, drivers.Bool(true)},
	{drivers.TypeBit, drivers.DCBA, []uint16{0x0004}, drivers.Bool(true)},
	{drivers.TypeBit, drivers.BADC, []uint16{0xFFFB}, drivers.Bool(false)},
	{drivers.TypeBit, drivers.CDAB, []uint16{0x0004}, drivers.Bool(true)},

	// "PUMP-1" in 4 registers, NUL padded; BADC puts the low byte first.
	{drivers.TypeString, drivers.ABCD, []uint16{0x5055, 0x4D50, 0x2D31, 0x0000}, drivers.String("PUMP-1")},
	{drivers.TypeString, drivers.BADC, []uint16{0x5550, 0x504D, 0x312D, 0x2000}, drivers.String("PUMP-1")},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(string(tc.typ)+"/"+string(tc.order), func(t *testing.T) {
			p := &drivers.Point{Name: "x", Register: drivers.Holding, Type: tc.typ, ByteOrder: tc.order, Bit: 2, Length: 4}
			if tc.typ != drivers.TypeBit {
				p.Bit = 0
			}
			got, err := Decode(p, tc.regs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Decode(% x) = %#v, want %#v", tc.regs, got, tc.want)
			}
			if tc.typ == drivers.TypeBool || tc.typ == drivers.TypeBit || math.Abs(tc.want.Float64()) > 1<<53 {
				return // Encode takes a float64, exact for integers up to 2^53
			}
			var enc []uint16
			if tc.typ == drivers.TypeString {
				enc, err = EncodeString(p, tc.want.S)
			} else {
				enc, err = Encode(p, tc.want.Float64())
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.typ == drivers.TypeString {
				// EncodeString pads with NUL where the BADC case has a space.
				if back, err := Decode(p, enc); err != nil || back != tc.want {
					t.Errorf("Decode(EncodeString(%q)) = %v, %v", tc.want.S, back, err)
				}
				return
			}
			if !slices.Equal(enc, tc.regs) {
				t.Errorf("Encode(%v) = % x, want % x", tc.want, enc, tc.regs)
			}
		})
	}
}

// TestDecodeCoversAll makes sure the table has a case for every type in
// every byte order; the string orders without one must fail.
func TestDecodeCoversAll(t *testing.T) {
	for _, typ := range drivers.DataTypes {
		for _, order := range drivers.ByteOrders {
			found := slices.ContainsFunc(decodeCases, func(c decodeCase) bool {
				return string(c.typ) == typ && string(c.order) == order
			})
			if found {
				continue
			}
			if typ != string(drivers.TypeString) {
				t.Errorf("no decode case for %s in %s", typ, order)
				continue
			}
			p := &drivers.Point{Name: "s", Register: drivers.Holding, Type: drivers.TypeString, Length: 2, ByteOrder: drivers.ByteOrder(order)}
			if _, err := Decode(p, []uint16{0x4142, 0x4300}); err == nil || !strings.Contains(err.Error(), "does not apply to strings") {
				t.Errorf("string in %s: err = %v, want a refusal", order, err)
			}
		}
	}
}

func TestDecodeScaleOffsetEnum(t *testing.T) {
	enum := map[int64]string{0: "off", 1: "hand", 2: "auto"}
	cases := []struct {
		name string
		p    drivers.Point
		regs []uint16
		want drivers.Value
	}{
		{"scale", drivers.Point{Type: drivers.TypeUint16, Scale: 0.1}, []uint16{2345}, drivers.Float(2345 * 0.1)},
		{"scale and offset", drivers.Point{Type: drivers.TypeInt16, Scale: 0.5, Offset: -40}, []uint16{0xFFFE}, drivers.Float(-41)},
		{"offset only", drivers.Point{Type: drivers.TypeInt32, Offset: 1}, []uint16{0, 41}, drivers.Float(42)},
		{"scale one is int", drivers.Point{Type: drivers.TypeInt32, Scale: 1}, []uint16{0, 41}, drivers.Int(41)},
		{"float scale", drivers.Point{Type: drivers.TypeFloat32, Scale: 1000, Offset: 1}, []uint16{0x3F80, 0}, drivers.Float(1001)},
		{"nan as read", drivers.Point{Type: drivers.TypeFloat32}, []uint16{0x7FC0, 0}, drivers.Float(math.NaN())},
		{"uint64 huge scaled", drivers.Point{Type: drivers.TypeUint64, Scale: 2}, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, drivers.Float(2 * math.MaxUint64)},
		{"enum", drivers.Point{Type: drivers.TypeUint16, Enum: enum}, []uint16{2}, drivers.String("auto")},
		{"enum unknown", drivers.Point{Type: drivers.TypeUint16, Enum: enum}, []uint16{7}, drivers.String("unknown(7)")},
		{"enum signed", drivers.Point{Type: drivers.TypeInt16, Enum: map[int64]string{-1: "fault"}}, []uint16{0xFFFF}, drivers.String("fault")},
		{"bit 15", drivers.Point{Type: drivers.TypeBit, Bit: 15}, []uint16{0x8000}, drivers.Bool(true)},
		{"bit 0", drivers.Point{Type: drivers.TypeBit, Bit: 0}, []uint16{0xFFFE}, drivers.Bool(false)},
		{"string trims spaces", drivers.Point{Type: drivers.TypeString, Length: 3}, []uint16{0x4142, 0x2020, 0x2000}, drivers.String("AB")},
		{"extra registers ignored", drivers.Point{Type: drivers.TypeUint16}, []uint16{5, 6, 7}, drivers.Int(5)},
		{"coil", drivers.Point{Register: drivers.Coil, Type: drivers.TypeBool}, []uint16{1}, drivers.Bool(true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Name = "x"
			if tc.p.Register == "" {
				tc.p.Register = drivers.Input
			}
			got, err := Decode(&tc.p, tc.regs)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Kind == drivers.KindFloat && math.IsNaN(tc.want.F) {
				if got.Kind != drivers.KindFloat || !math.IsNaN(got.F) {
					t.Errorf("got %#v, want NaN", got)
				}
				return
			}
			if got.Kind != tc.want.Kind || got.String() != tc.want.String() {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		p    drivers.Point
		regs []uint16
		want string
	}{
		{"short", drivers.Point{Name: "discharge_pressure", Register: drivers.Holding, Address: 2, Type: drivers.TypeFloat32},
			[]uint16{1}, `point "discharge_pressure" (holding 0x0002): need 2 registers, got 1`},
		{"unknown type", drivers.Point{Name: "a", Register: drivers.Input, Type: "int128"}, []uint16{1}, `point "a" (input 0x0000): unknown type "int128"`},
		{"unknown order", drivers.Point{Name: "a", Register: drivers.Input, Type: drivers.TypeInt32, ByteOrder: "ACBD"}, []uint16{1, 2}, `unknown byte order "ACBD"`},
		{"bit range", drivers.Point{Name: "a", Register: drivers.Input, Type: drivers.TypeBit, Bit: 16}, []uint16{1}, `bit 16 is outside 0..15`},
		{"uint64 too big", drivers.Point{Name: "a", Register: drivers.Input, Type: drivers.TypeUint64}, []uint16{0x8000, 0, 0, 0}, `does not fit an int64`},
		{"coil type", drivers.Point{Name: "c", Register: drivers.Coil, Address: 16, Type: drivers.TypeInt16}, []uint16{1}, `point "c" (coil 0x0010): a coil point must be of type bool`},
		{"empty coil", drivers.Point{Name: "c", Register: drivers.Coil, Type: drivers.TypeBool}, nil, `need 1 register, got 0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(&tc.p, tc.regs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	values := []float64{0, 1, -1, 42, -32768, 32767, 65535, 123.456, -2.5e9, 4.2e9, 1e15}
	checked := 0
	for _, typ := range drivers.DataTypes {
		for _, order := range drivers.ByteOrders {
			for _, sc := range []struct{ scale, offset float64 }{{0, 0}, {0.1, 0}, {0.01, -40}} {
				p := &drivers.Point{Name: "x", Register: drivers.Holding, Type: drivers.DataType(typ),
					ByteOrder: drivers.ByteOrder(order), Scale: sc.scale, Offset: sc.offset}
				if p.Type == drivers.TypeBit {
					p.Bit = 3
				}
				if CheckPoint(p) != nil {
					continue // string, and scaled bool/bit
				}
				checked++
				for _, v := range values {
					regs, err := Encode(p, v)
					if err != nil {
						continue // out of the type's range
					}
					got, err := Decode(p, regs)
					if err != nil {
						t.Fatalf("%s %s: Decode(Encode(%g)): %v", typ, order, v, err)
					}
					want := v
					switch p.Type {
					case drivers.TypeBool, drivers.TypeBit:
						want = boolFloat(v != 0)
					case drivers.TypeFloat32:
						want = applyScale(p, f32(float32((v-sc.offset)/scale(p))))
					case drivers.TypeFloat64:
					default:
						want = math.Round((v-sc.offset)/scale(p))*scale(p) + sc.offset
					}
					if g := got.Float64(); math.Abs(g-want) > 1e-9*math.Max(1, math.Abs(want)) {
						t.Errorf("%s %s scale %g offset %g: %g → % x → %g, want %g", typ, order, sc.scale, sc.offset, v, regs, g, want)
					}
				}
			}
		}
	}
	// 8 numeric types × 4 orders × 3 scalings, bool and bit × 4 orders
	if want := 8*4*3 + 2*4; checked != want {
		t.Errorf("round-tripped %d point settings, want %d", checked, want)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestEncodeErrors(t *testing.T) {
	p := &drivers.Point{Name: "t", Register: drivers.Holding, Type: drivers.TypeInt16}
	if _, err := Encode(p, 40000); err == nil {
		t.Error("Encode(int16, 40000) succeeded")
	}
	if _, err := Encode(p, math.NaN()); err == nil {
		t.Error("Encode(int16, NaN) succeeded")
	}
	s := &drivers.Point{Name: "s", Register: drivers.Holding, Type: drivers.TypeString, Length: 1}
	if _, err := EncodeString(s, "ABC"); err == nil {
		t.Error("EncodeString of 3 bytes into 1 register succeeded")
	}
	if _, err := Encode(s, 1); err == nil {
		t.Error("Encode of a string point succeeded")
	}
}

// FuzzDecode feeds random registers and point settings to Decode and
// Encode: neither may panic, and a value Encode accepts must decode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x42, 0xF6, 0xE9, 0x79}, uint8(8), uint8(0), 0, 0, 0.0, 0.0, false)
	f.Add([]byte{0xFF}, uint8(1), uint8(3), 17, 0, 1.0, 2.0, true)
	f.Add([]byte{'A', 'B', 0, 0}, uint8(10), uint8(2), 0, 2, 0.0, 0.0, false)
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, uint8(7), uint8(1), 0, 0, 0.5, -1.0, true)
	f.Fuzz(func(t *testing.T, data []byte, typ, order uint8, bit, length int, scale, offset float64, enum bool) {
		regs := make([]uint16, len(data)/2)
		for i := range regs {
			regs[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		}
		types := append(slices.Clone(drivers.DataTypes), "", "junk")
		orders := append(slices.Clone(drivers.ByteOrders), "", "XYZW")
		p := &drivers.Point{
			Name: "f", Register: drivers.RegisterKind(drivers.RegisterKinds[int(typ/16)%4]),
			Type: drivers.DataType(types[int(typ)%len(types)]), ByteOrder: drivers.ByteOrder(orders[int(order)%len(orders)]),
			Bit: bit, Length: length % 200, Scale: scale, Offset: offset,
		}
		if enum {
			p.Enum = map[int64]string{0: "zero", 1: "one"}
		}
		v, err := Decode(p, regs)
		if err == nil && v.Kind == drivers.KindString && p.Type != drivers.TypeString && len(p.Enum) == 0 {
			t.Errorf("Decode gave text %q for %s", v.S, p.Type)
		}
		if err := CheckPoint(p); err != nil || p.Type == drivers.TypeString {
			return
		}
		if err != nil || v.Kind == drivers.KindString {
			return
		}
		enc, err := Encode(p, v.Float64())
		if err != nil {
			return
		}
		if _, err := Decode(p, enc); err != nil {
			t.Errorf("Decode(Encode(%v)) = %v", v, err)
		}
	})
}

// BenchmarkDecode decodes the registers of a three-phase energy meter:
// 30 float32 points (60 registers) per iteration.
func BenchmarkDecode(b *testing.B) {
	p := &drivers.Point{Name: "v", Register: drivers.Input, Type: drivers.TypeFloat32}
	regs := make([]uint16, 60)
	for i := 0; i < len(regs); i += 2 {
		regs[i], regs[i+1] = 0x4366, 0x0000 // 230.0
	}
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(regs); off += 2 {
			if _, err := Decode(p, regs[off:]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(regs))/b.Elapsed().Seconds(), "registers/s")
}

// TestWidenCache: widening through the cache gives widen32's result for
// new, repeated and colliding readings alike.
func TestWidenCache(t *testing.T) {
	var c widenCache
	negZero := float32(math.Copysign(0, -1))
	vals := []float32{0, negZero, 230.1, 50, 0.95, -12.5, 1e-7, 3.4e38, float32(math.NaN()), float32(math.Inf(-1)), 0} // +0 is what an empty slot holds
	for i := range 200 {
		vals = append(vals, float32(i)*0.37)
	}
	for round := range 3 {
		for _, f := range vals {
			got, want := c.widen(f), widen32(f)
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("round %d: widen(%v) = %v, widen32 %v", round, f, got, want)
			}
		}
	}
}
