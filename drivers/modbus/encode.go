package modbus

import (
	"encoding/binary"
	"math"

	"github.com/facilityd/facilityd/drivers"
)

// Encode is the inverse of Decode: it returns the registers a device would
// send for the engineering value v of point p. The simulator serves them and
// tests round-trip them. Scale and offset are undone (raw = (v-offset)/scale,
// rounded for integer types); an enumeration point takes the integer code;
// bool and bit points encode v != 0; bit-table points give one register
// holding 0 or 1. Strings take EncodeString. A value that does not fit an
// integer type, or NaN, is an error.
func Encode(p *drivers.Point, v float64) ([]uint16, error) {
	return encode(p, v, false)
}

// EncodeSaturating is Encode for a device that shows what it can rather than
// refuse: an integer value past the type's range gives the nearest end of
// it, and NaN gives 0. The simulator serves its models' values this way, so
// a pressure a little below zero reads 0 on an unsigned register.
func EncodeSaturating(p *drivers.Point, v float64) ([]uint16, error) {
	return encode(p, v, true)
}

func encode(p *drivers.Point, v float64, saturate bool) ([]uint16, error) {
	if p.Register.IsBit() {
		if p.Type != drivers.TypeBool {
			return nil, pointError(p, "a %s point must be of type bool, not %q", registerName(p.Register), p.Type)
		}
		return []uint16{boolReg(v != 0)}, nil
	}
	if !knownOrder(p.ByteOrder) {
		return nil, pointError(p, "unknown byte order %q", p.ByteOrder)
	}
	var raw float64
	if len(p.Enum) > 0 {
		raw = v
	} else {
		raw = (v - p.Offset) / scale(p)
	}
	var b [8]byte
	var n int
	switch p.Type {
	case drivers.TypeBool:
		return []uint16{boolReg(v != 0)}, nil
	case drivers.TypeBit:
		if p.Bit < 0 || p.Bit > 15 {
			return nil, pointError(p, "bit %d is outside 0..15", p.Bit)
		}
		if v != 0 {
			return []uint16{1 << uint(p.Bit)}, nil
		}
		return []uint16{0}, nil
	case drivers.TypeString:
		return nil, pointError(p, "a string point takes EncodeString")
	case drivers.TypeFloat32:
		binary.BigEndian.PutUint32(b[:], math.Float32bits(float32(raw)))
		n = 4
	case drivers.TypeFloat64:
		binary.BigEndian.PutUint64(b[:], math.Float64bits(raw))
		n = 8
	default:
		if !integerType(p.Type) {
			return nil, pointError(p, "unknown type %q", p.Type)
		}
		r := math.Round(raw)
		bits, ok := integerBits(p.Type, r, saturate)
		if !ok {
			return nil, pointError(p, "value %g (raw %g) does not fit %s", v, r, p.Type)
		}
		n = 2 * p.Type.Registers(0)
		binary.BigEndian.PutUint64(b[:], bits)
		copy(b[:n], b[8-n:]) // keep the low n bytes
	}
	reorder(b[:n], p.ByteOrder)
	regs := make([]uint16, n/2)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return regs, nil
}

// EncodeString returns the registers of string point p holding s, padded
// with NULs to the point's length.
func EncodeString(p *drivers.Point, s string) ([]uint16, error) {
	if p.Type != drivers.TypeString {
		return nil, pointError(p, "EncodeString needs a string point, not %q", p.Type)
	}
	n := p.Type.Registers(p.Length)
	if n > MaxRegisters {
		return nil, pointError(p, "a string of %d registers is longer than one read can take (%d)", n, MaxRegisters)
	}
	if len(s) > 2*n {
		return nil, pointError(p, "%q is longer than %d bytes", s, 2*n)
	}
	swap, err := stringSwap(p)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 2*n)
	copy(b, s)
	regs := make([]uint16, n)
	for i := range regs {
		r := binary.BigEndian.Uint16(b[2*i:])
		if swap {
			r = r<<8 | r>>8
		}
		regs[i] = r
	}
	return regs, nil
}

func boolReg(b bool) uint16 {
	if b {
		return 1
	}
	return 0
}

// integerBits returns the two's-complement bits of the whole number r as
// integer type t, and false when r does not fit t. With saturate, r past the
// range gives its nearest end and NaN gives 0.
func integerBits(t drivers.DataType, r float64, saturate bool) (uint64, bool) {
	lo, hi := integerRange(t)
	switch {
	case r >= lo && r < hi: // false for NaN
	case !saturate:
		return 0, false
	case math.IsNaN(r):
		return 0, true
	case r < lo:
		r = lo
	case t == drivers.TypeUint64:
		return math.MaxUint64, true
	default:
		// hi is exclusive and exact: the largest value is hi-1, which for
		// int64 has no float64 of its own.
		return uint64(hi) - 1, true
	}
	if t == drivers.TypeUint64 {
		return uint64(r), true
	}
	return uint64(int64(r)), true
}

// integerRange returns the smallest value of t and the first value past its
// largest, as float64.
func integerRange(t drivers.DataType) (lo, hi float64) {
	switch t {
	case drivers.TypeInt16:
		return math.MinInt16, math.MaxInt16 + 1
	case drivers.TypeUint16:
		return 0, math.MaxUint16 + 1
	case drivers.TypeInt32:
		return math.MinInt32, math.MaxInt32 + 1
	case drivers.TypeUint32:
		return 0, math.MaxUint32 + 1
	case drivers.TypeInt64:
		return math.MinInt64, 1 << 63
	}
	return 0, 1 << 64
}
