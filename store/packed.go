package store

import (
	"math"

	"github.com/facilityd/facilityd/drivers"
)

// packedValue is a drivers.Value in 32 bytes instead of 48: a Value holds
// one of four fields, by its kind; the number's bits or the text are kept.
// Two packed values are equal when the values' kinds and those fields are.
type packedValue struct {
	bits uint64 // of a float64, an int64 or a bool
	text string // of a string
	kind drivers.Kind
}

func pack(v drivers.Value) packedValue {
	p := packedValue{kind: v.Kind}
	switch v.Kind {
	case drivers.KindFloat:
		p.bits = math.Float64bits(v.F)
	case drivers.KindInt:
		p.bits = uint64(v.I)
	case drivers.KindBool:
		if v.B {
			p.bits = 1
		}
	default:
		p.text = v.S
	}
	return p
}

func (p packedValue) value() drivers.Value {
	v := drivers.Value{Kind: p.kind}
	switch p.kind {
	case drivers.KindFloat:
		v.F = math.Float64frombits(p.bits)
	case drivers.KindInt:
		v.I = int64(p.bits)
	case drivers.KindBool:
		v.B = p.bits != 0
	default:
		v.S = p.text
	}
	return v
}
