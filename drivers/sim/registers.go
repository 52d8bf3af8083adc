package sim

import (
	"errors"
	"fmt"
	"slices"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
)

// registerMap is the memory of one simulated device: its four Modbus tables,
// sized to reach the last register of the profile's points. Gaps between
// points read as 0, as on most real devices; reads past the end are refused.
type registerMap struct {
	holding, input  []uint16
	coils, discrete []bool
	points          []mappedPoint
}

// mappedPoint is a profile point with its wire address resolved.
type mappedPoint struct {
	*drivers.Point
	addr uint16
}

// newRegisterMap resolves every point of the profile and sizes the tables. It
// reports every bad point, not just the first.
func newRegisterMap(prof *drivers.Profile) (*registerMap, error) {
	m := &registerMap{}
	var errs []error
	ends := map[drivers.RegisterKind]int{}
	for i := range prof.Points {
		p := &prof.Points[i]
		addr, err := wireAddress(prof.Addressing, p)
		if err == nil {
			err = checkPoint(p, addr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("point %q: %w", p.Name, err))
			continue
		}
		m.points = append(m.points, mappedPoint{Point: p, addr: addr})
		span := 1
		if !p.Register.IsBit() {
			span = p.Type.Registers(p.Length)
		}
		ends[p.Register] = max(ends[p.Register], int(addr)+span)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m.holding = make([]uint16, ends[drivers.Holding])
	m.input = make([]uint16, ends[drivers.Input])
	m.coils = make([]bool, ends[drivers.Coil])
	m.discrete = make([]bool, ends[drivers.Discrete])
	return m, nil
}

// checkPoint rejects points the simulator could not serve: unknown tables or
// types, numbers in bit tables, bits out of range, values past 0xFFFF.
func checkPoint(p *drivers.Point, addr uint16) error {
	switch p.Register {
	case drivers.Holding, drivers.Input:
		switch p.Type {
		case drivers.TypeBool, drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32,
			drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64, drivers.TypeFloat32,
			drivers.TypeFloat64, drivers.TypeString:
		case drivers.TypeBit:
			if p.Bit < 0 || p.Bit > 15 {
				return fmt.Errorf("bit %d: use 0 to 15", p.Bit)
			}
		default:
			return fmt.Errorf("unknown type %q", p.Type)
		}
		if end := int(addr) + p.Type.Registers(p.Length); end > 0x10000 {
			return fmt.Errorf("address %d: a %s ends past register 65535", p.Address, p.Type)
		}
		if p.ByteOrder != "" && !slices.Contains(drivers.ByteOrders, string(p.ByteOrder)) {
			return fmt.Errorf("unknown byte order %q", p.ByteOrder)
		}
	case drivers.Coil, drivers.Discrete:
		if p.Type != drivers.TypeBool && p.Type != drivers.TypeBit && p.Type != "" {
			return fmt.Errorf("type %q in a %s table: use bool", p.Type, p.Register)
		}
	default:
		return fmt.Errorf("unknown register %q: use holding, input, coil or discrete", p.Register)
	}
	return nil
}

// wireAddress converts a point's address to the 0-based address sent on the
// wire. With reference addressing, 00001/10001/30001/40001 (or the six-digit
// 000001/100001/300001/400001) number the first coil, discrete input, input
// register and holding register.
func wireAddress(mode drivers.Addressing, p *drivers.Point) (uint16, error) {
	a := int64(p.Address)
	if mode == drivers.Reference {
		base := map[drivers.RegisterKind]int64{
			drivers.Coil: 0, drivers.Discrete: 1, drivers.Input: 3, drivers.Holding: 4,
		}[p.Register]
		switch {
		case a > 100000*base && a <= 100000*base+65536:
			a -= 100000*base + 1
		case a > 10000*base && a <= 10000*base+9999:
			a -= 10000*base + 1
		default:
			return 0, fmt.Errorf("reference %d is not a %s reference: write %d for the first one",
				p.Address, p.Register, 10000*base+1)
		}
	}
	if a > 0xFFFF {
		return 0, fmt.Errorf("address %d: wire addresses end at 65535", p.Address)
	}
	return uint16(a), nil
}

// write stores v at the point. Bool points are true when v is not 0; bit
// points change only their own bit of the register; string points are left
// as they are, since models produce numbers only.
func (m *registerMap) write(p mappedPoint, v float64) {
	on := v != 0
	switch p.Register {
	case drivers.Coil:
		m.coils[p.addr] = on
		return
	case drivers.Discrete:
		m.discrete[p.addr] = on
		return
	}
	tbl := m.table(p.Register)
	switch p.Type {
	case drivers.TypeBool:
		tbl[p.addr] = 0
		if on {
			tbl[p.addr] = 1
		}
	case drivers.TypeBit:
		mask := uint16(1) << p.Bit
		tbl[p.addr] &^= mask
		if on {
			tbl[p.addr] |= mask
		}
	case drivers.TypeString:
	default:
		// Saturating: an out-of-range model value reads as the extreme the
		// device would show rather than leaving the register as it was.
		regs, err := modbus.EncodeSaturating(p.Point, v)
		if err == nil { // checkPoint already refused what would fail here
			copy(tbl[p.addr:], regs)
		}
	}
}

// writeString stores text at a string point: two bytes per register, high
// byte first (BADC: low byte first), padded with NULs, cut to the length.
func (m *registerMap) writeString(p mappedPoint, text string) {
	tbl := m.table(p.Register)
	if tbl == nil {
		return
	}
	b := make([]byte, 2*p.Type.Registers(p.Length))
	copy(b, text)
	for i := 0; i < len(b); i += 2 {
		hi, lo := b[i], b[i+1]
		if p.ByteOrder == drivers.BADC {
			hi, lo = lo, hi
		}
		tbl[int(p.addr)+i/2] = uint16(hi)<<8 | uint16(lo)
	}
}

// table returns the register table of a kind; nil for bit tables.
func (m *registerMap) table(kind drivers.RegisterKind) []uint16 {
	switch kind {
	case drivers.Holding:
		return m.holding
	case drivers.Input:
		return m.input
	}
	return nil
}

// bits returns the bit table of a kind; nil for register tables.
func (m *registerMap) bits(kind drivers.RegisterKind) []bool {
	switch kind {
	case drivers.Coil:
		return m.coils
	case drivers.Discrete:
		return m.discrete
	}
	return nil
}
