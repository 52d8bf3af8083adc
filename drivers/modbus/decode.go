package modbus

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/facilityd/facilityd/drivers"
)

// pointError builds an error that names the point and its register, so that
// a log line alone tells which entry of which profile to look at.
func pointError(p *drivers.Point, format string, args ...any) error {
	return fmt.Errorf("point %q (%s 0x%04x): %s", p.Name, registerName(p.Register), p.Address, fmt.Sprintf(format, args...))
}

func registerName(r drivers.RegisterKind) string {
	if r == "" {
		return "register"
	}
	return string(r)
}

// Decode turns the registers of a register point into its value. regs starts
// at the point's first register; registers past the point's span are ignored.
// Bit-table points (coil, discrete) take one register holding 0 or 1.
//
// Integer types give drivers.Int unless the point has a scale or offset, when
// they give drivers.Float (raw*scale+offset); a point with an enumeration gives
// the text of the raw code. Float types always give drivers.Float. NaN and
// infinities are returned as read, without an error: meters send NaN for
// "not available", which is what the device says, not a decoding fault. The
// poller marks such samples drivers.Uncertain.
func Decode(p *drivers.Point, regs []uint16) (drivers.Value, error) { return decode(p, regs, nil) }

// decode is Decode widening float32 readings through wc, when not nil.
func decode(p *drivers.Point, regs []uint16, wc *widenCache) (drivers.Value, error) {
	if p.Register.IsBit() {
		if len(regs) < 1 {
			return drivers.Value{}, pointError(p, "need 1 register, got 0")
		}
		return DecodeBit(p, regs[0] != 0)
	}
	n := p.Type.Registers(p.Length)
	if len(regs) < n {
		return drivers.Value{}, pointError(p, "need %d registers, got %d", n, len(regs))
	}
	if !knownOrder(p.ByteOrder) {
		return drivers.Value{}, pointError(p, "unknown byte order %q", p.ByteOrder)
	}
	var buf [8]byte
	switch p.Type {
	case drivers.TypeBool:
		return drivers.Bool(regs[0] != 0), nil
	case drivers.TypeBit:
		if p.Bit < 0 || p.Bit > 15 {
			return drivers.Value{}, pointError(p, "bit %d is outside 0..15", p.Bit)
		}
		return drivers.Bool(regs[0]>>uint(p.Bit)&1 == 1), nil
	case drivers.TypeString:
		return decodeString(p, regs[:n])
	case drivers.TypeInt16:
		b := wire(buf[:2], regs, p.ByteOrder)
		return integer(p, int64(int16(binary.BigEndian.Uint16(b))))
	case drivers.TypeUint16:
		b := wire(buf[:2], regs, p.ByteOrder)
		return integer(p, int64(binary.BigEndian.Uint16(b)))
	case drivers.TypeInt32:
		b := wire(buf[:4], regs, p.ByteOrder)
		return integer(p, int64(int32(binary.BigEndian.Uint32(b))))
	case drivers.TypeUint32:
		b := wire(buf[:4], regs, p.ByteOrder)
		return integer(p, int64(binary.BigEndian.Uint32(b)))
	case drivers.TypeInt64:
		b := wire(buf[:8], regs, p.ByteOrder)
		return integer(p, int64(binary.BigEndian.Uint64(b)))
	case drivers.TypeUint64:
		b := wire(buf[:8], regs, p.ByteOrder)
		u := binary.BigEndian.Uint64(b)
		if u > math.MaxInt64 {
			if len(p.Enum) > 0 {
				return drivers.String("unknown(" + strconv.FormatUint(u, 10) + ")"), nil
			}
			if scaled(p) {
				return drivers.Float(applyScale(p, float64(u))), nil
			}
			return drivers.Value{}, pointError(p, "uint64 value %d does not fit an int64; set a scale to read it as a float", u)
		}
		return integer(p, int64(u))
	case drivers.TypeFloat32:
		b := wire(buf[:4], regs, p.ByteOrder)
		f := math.Float32frombits(binary.BigEndian.Uint32(b))
		return drivers.Float(applyScale(p, wc.widen(f))), nil
	case drivers.TypeFloat64:
		b := wire(buf[:8], regs, p.ByteOrder)
		f := math.Float64frombits(binary.BigEndian.Uint64(b))
		return drivers.Float(applyScale(p, f)), nil
	}
	return drivers.Value{}, pointError(p, "unknown type %q", p.Type)
}

// DecodeBit turns the state of a coil or discrete input into the point's
// value. Bit-table points must be of type bool.
func DecodeBit(p *drivers.Point, bit bool) (drivers.Value, error) {
	if p.Type != drivers.TypeBool {
		return drivers.Value{}, pointError(p, "a %s point must be of type bool, not %q", registerName(p.Register), p.Type)
	}
	return drivers.Bool(bit), nil
}

// integer applies the enumeration or scale and offset to a raw integer.
func integer(p *drivers.Point, raw int64) (drivers.Value, error) {
	if len(p.Enum) > 0 {
		if s, ok := p.Enum[raw]; ok {
			return drivers.String(s), nil
		}
		return drivers.String("unknown(" + strconv.FormatInt(raw, 10) + ")"), nil
	}
	if scaled(p) {
		return drivers.Float(applyScale(p, float64(raw))), nil
	}
	return drivers.Int(raw), nil
}

// scaled reports whether the point turns integers into floats.
func scaled(p *drivers.Point) bool {
	return (p.Scale != 0 && p.Scale != 1) || p.Offset != 0
}

// applyScale returns raw*scale+offset. A decimal scale such as 0.01 is
// applied as a division by 100, which rounds correctly: 321 × 0.01 would be
// 3.2100000000000004, 321 / 100 is 3.21, as the device's manual says.
func applyScale(p *drivers.Point, raw float64) float64 {
	s := scale(p)
	if s != 1 {
		if inv := 1 / s; inv > 1 && inv == math.Round(inv) {
			raw /= math.Round(inv)
		} else {
			raw *= s
		}
	}
	return raw + p.Offset
}

// widenCache remembers the last widen32 results of a device: a float32
// reading that repeats the one of an earlier poll (a frequency, a setpoint,
// a counter between increments) costs a lookup instead of widen32's
// formatting and parsing (about 0.6 µs). Direct-mapped by the bits; the
// result is the same either way. An empty slot holds the bits of +0 and
// its widening, 0: 384 bytes a device, where entries with a flag took 512.
type widenCache struct {
	bits [32]uint32
	v    [32]float64
}

// widen is widen32 through the cache; a nil cache is widen32.
func (c *widenCache) widen(f float32) float64 {
	if c == nil {
		return widen32(f)
	}
	b := math.Float32bits(f)
	i := (b * 2654435761) >> 27
	if c.bits[i] == b {
		return c.v[i]
	}
	v := widen32(f)
	c.bits[i], c.v[i] = b, v
	return v
}

// widen32 returns the float64 closest to the shortest decimal that reads back
// as f, so a meter's 230.1 is stored as 230.1, not 230.10000610351562. The
// conversion works in a stack buffer: no allocation.
func widen32(f float32) float64 {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return float64(f)
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)
	v, err := parseFloatBytes(b)
	if err != nil {
		return float64(f)
	}
	return v
}

func scale(p *drivers.Point) float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// decodeString reads two ASCII bytes per register, high byte first (BADC:
// low byte first), and trims the NUL or space padding devices append.
func decodeString(p *drivers.Point, regs []uint16) (drivers.Value, error) {
	swap, err := stringSwap(p)
	if err != nil {
		return drivers.Value{}, err
	}
	b := make([]byte, 2*len(regs))
	for i, r := range regs {
		if swap {
			r = r<<8 | r>>8
		}
		binary.BigEndian.PutUint16(b[2*i:], r)
	}
	s := strings.TrimRight(string(b), "\x00 ")
	return drivers.String(strings.ToValidUTF8(s, "\uFFFD")), nil
}

// stringSwap reports whether string point p holds the low byte of each
// register first (BADC); ABCD is the only other order a string can have.
func stringSwap(p *drivers.Point) (bool, error) {
	switch p.ByteOrder {
	case "", drivers.ABCD:
		return false, nil
	case drivers.BADC:
		return true, nil
	}
	return false, pointError(p, "byte order %s does not apply to strings: use ABCD, or BADC for the low byte first", p.ByteOrder)
}

// wire copies the first len(b)/2 registers into b as they arrived and puts
// the bytes into big-endian order. It returns b.
func wire(b []byte, regs []uint16, o drivers.ByteOrder) []byte {
	for i := range len(b) / 2 {
		binary.BigEndian.PutUint16(b[2*i:], regs[i])
	}
	reorder(b, o)
	return b
}

// reorder converts b between wire order and big-endian order. Each of the
// four orders is its own inverse, so the same call decodes and encodes:
// DCBA reverses all bytes, BADC swaps the bytes of each register, CDAB
// reverses the order of the registers (for 64-bit values GHEFCDAB).
func reorder(b []byte, o drivers.ByteOrder) {
	switch o {
	case drivers.DCBA:
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
	case drivers.BADC:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case drivers.CDAB:
		for i, j := 0, len(b)-2; i < j; i, j = i+2, j-2 {
			b[i], b[i+1], b[j], b[j+1] = b[j], b[j+1], b[i], b[i+1]
		}
	}
}

func knownOrder(o drivers.ByteOrder) bool {
	switch o {
	case "", drivers.ABCD, drivers.DCBA, drivers.BADC, drivers.CDAB:
		return true
	}
	return false
}

// integerType reports whether values of t are integers (and may carry an
// enumeration).
func integerType(t drivers.DataType) bool {
	switch t {
	case drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64:
		return true
	}
	return false
}

// parseFloatBytes parses b without converting it to a string on the heap.
func parseFloatBytes(b []byte) (float64, error) {
	return strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
}
