package sim

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/facilityd/facilityd/drivers"
)

// encodeRegisters returns the registers, in wire order, that carry v for a
// register-table point of a numeric type: the inverse of what a poller does
// (raw = (v-offset)/scale, then the type's bytes in the point's byte order).
// Integers are rounded and clamped to their type's range, so an out-of-range
// model value reads as the extreme the device would show rather than wrapping.
// Bool, bit and string points are not handled here (see registerMap.write).
func encodeRegisters(p *drivers.Point, v float64) ([]uint16, error) {
	raw := rawValue(p, v)
	var b [8]byte
	n := 2 * p.Type.Registers(p.Length)
	switch p.Type {
	case drivers.TypeInt16:
		binary.BigEndian.PutUint16(b[:], uint16(int16(clampInt(raw, math.MinInt16, math.MaxInt16))))
	case drivers.TypeUint16:
		binary.BigEndian.PutUint16(b[:], uint16(clampInt(raw, 0, math.MaxUint16)))
	case drivers.TypeInt32:
		binary.BigEndian.PutUint32(b[:], uint32(int32(clampInt(raw, math.MinInt32, math.MaxInt32))))
	case drivers.TypeUint32:
		binary.BigEndian.PutUint32(b[:], uint32(clampInt(raw, 0, math.MaxUint32)))
	case drivers.TypeInt64:
		binary.BigEndian.PutUint64(b[:], uint64(clampInt(raw, math.MinInt64, math.MaxInt64)))
	case drivers.TypeUint64:
		binary.BigEndian.PutUint64(b[:], clampUint64(raw))
	case drivers.TypeFloat32:
		binary.BigEndian.PutUint32(b[:], math.Float32bits(float32(raw)))
	case drivers.TypeFloat64:
		binary.BigEndian.PutUint64(b[:], math.Float64bits(raw))
	default:
		return nil, fmt.Errorf("type %q is not a numeric register type", p.Type)
	}
	bs := b[:n]
	if err := reorder(bs, p.ByteOrder); err != nil {
		return nil, err
	}
	regs := make([]uint16, n/2)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(bs[2*i:])
	}
	return regs, nil
}

// rawValue undoes the point's scale and offset; a zero scale means 1, as in
// the profile schema.
func rawValue(p *drivers.Point, v float64) float64 {
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	return (v - p.Offset) / scale
}

// clampInt rounds raw to the nearest integer within [lo, hi]; NaN becomes 0.
func clampInt(raw float64, lo, hi int64) int64 {
	switch r := math.Round(raw); {
	case math.IsNaN(r):
		return 0
	case r <= float64(lo):
		return lo
	case r >= float64(hi): // float64(MaxInt64) rounds up to 2^63, so compare with >=
		return hi
	default:
		return int64(r)
	}
}

// clampUint64 is clampInt for the one type whose range exceeds int64.
func clampUint64(raw float64) uint64 {
	switch r := math.Round(raw); {
	case math.IsNaN(r) || r <= 0:
		return 0
	case r >= math.MaxUint64: // 2^64 as a float64
		return math.MaxUint64
	default:
		return uint64(r)
	}
}

// reorder turns big-endian bytes (ABCD...) into the given wire byte order, in
// place. Byte orders are two independent swaps: DCBA and BADC swap the two
// bytes of every register, DCBA and CDAB reverse the order of the registers.
// For 64-bit values this gives HGFEDCBA, BADCFEHG and GHEFCDAB; for a single
// register only the byte swap matters (AB or BA).
func reorder(b []byte, order drivers.ByteOrder) error {
	var swapBytes, swapWords bool
	switch order {
	case drivers.ABCD, "":
	case drivers.DCBA:
		swapBytes, swapWords = true, true
	case drivers.BADC:
		swapBytes = true
	case drivers.CDAB:
		swapWords = true
	default:
		return fmt.Errorf("unknown byte order %q", order)
	}
	if swapWords {
		for i, j := 0, len(b)-2; i < j; i, j = i+2, j-2 {
			b[i], b[i+1], b[j], b[j+1] = b[j], b[j+1], b[i], b[i+1]
		}
	}
	if swapBytes {
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
	return nil
}
