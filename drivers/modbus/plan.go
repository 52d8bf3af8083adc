package modbus

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/facilityd/facilityd/drivers"
)

// Protocol limits of one read request.
const (
	MaxRegisters = 125  // holding or input registers per read (FC03, FC04)
	MaxBits      = 2000 // coils or discrete inputs per read (FC01, FC02)
)

// Request is one read of one register table: Quantity registers (or bits)
// from wire address Address, and the points that lie inside.
type Request struct {
	Register drivers.RegisterKind
	Address  uint16
	Quantity uint16
	Points   []PlannedPoint
}

// PlannedPoint is a point inside a Request.
type PlannedPoint struct {
	// Point is a copy of the profile's point whose Address is the wire
	// address, so that decoding errors show what went over the wire.
	Point drivers.Point
	// Offset is where the point starts, in registers (or bits) from the
	// request's Address.
	Offset int
}

// PlanOptions bounds the requests Plan builds.
type PlanOptions struct {
	// MaxGap is how many unused registers a read may span to join two points;
	// bit tables allow 16 bits per register. Negative counts as 0.
	MaxGap int
	// MaxRegisters caps registers per read; 0 or more than 125 means 125.
	MaxRegisters int
	// MaxBits caps coils or discrete inputs per read; 0 or more than 2000
	// means 2000.
	MaxBits int
	// Exclude names points to leave out: the device refused them.
	Exclude map[string]bool
	// Avoid lists registers no read may bridge a gap across: the device
	// refused a read that reached them. A point's own registers are never
	// avoided; exclude the point instead.
	Avoid []Range
}

// Range is Count registers (or bits) of one table from wire address Address.
type Range struct {
	Register drivers.RegisterKind
	Address  uint16
	Count    uint16
}

// String describes a range for errors and logs: holding 0x0010+3.
func (r Range) String() string {
	return fmt.Sprintf("%s 0x%04x+%d", r.Register, r.Address, r.Count)
}

// avoided reports whether a read that bridges the gap [from, to) of table
// kind would reach a register of opts.Avoid.
func (o *PlanOptions) avoided(kind drivers.RegisterKind, from, to int) bool {
	for _, a := range o.Avoid {
		if a.Register == kind && int(a.Address) < to && from < int(a.Address)+int(a.Count) {
			return true
		}
	}
	return false
}

// planOptions returns the request limits a device's Config asks for.
func (c Config) planOptions() PlanOptions {
	o := PlanOptions{MaxGap: DefaultMaxGap, MaxRegisters: c.Workarounds.MaxRegisters, MaxBits: c.Workarounds.MaxBits}
	if c.MaxGap != nil {
		o.MaxGap = *c.MaxGap
	}
	return o
}

// registerOrder is the order in which Plan emits the tables.
var registerOrder = []drivers.RegisterKind{drivers.Holding, drivers.Input, drivers.Coil, drivers.Discrete}

// Plan checks the Modbus points of a profile and groups them into as few
// read requests as the limits allow: per register table, sorted by address,
// joining neighbours whose gap is at most MaxGap while a read stays within
// the protocol's 125 registers or 2000 bits (or the lower limits of opts),
// and never bridging a gap across a register of opts.Avoid. Points in
// opts.Exclude are left out. Every problem is reported, each naming its
// point.
func Plan(profile *drivers.Profile, opts PlanOptions) ([]Request, error) {
	if len(profile.Points) == 0 {
		return nil, errors.New("profile has no points")
	}
	maxRegs := opts.MaxRegisters
	if maxRegs <= 0 || maxRegs > MaxRegisters {
		maxRegs = MaxRegisters
	}
	maxBits := opts.MaxBits
	if maxBits <= 0 || maxBits > MaxBits {
		maxBits = MaxBits
	}
	gap := max(opts.MaxGap, 0)

	type span struct {
		pt         drivers.Point
		start, end int // wire addresses, end exclusive
		index      int
	}
	var errs []error
	byKind := map[drivers.RegisterKind][]span{}
	seen := map[string]bool{}
	for i := range profile.Points {
		p := &profile.Points[i]
		if p.Name != "" && seen[p.Name] {
			errs = append(errs, fmt.Errorf("point %q: defined twice", p.Name))
		}
		seen[p.Name] = true
		if err := CheckPoint(p); err != nil {
			errs = append(errs, err)
			continue
		}
		addr, err := WireAddress(profile, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n, limit := p.Type.Registers(p.Length), maxRegs
		if p.Register.IsBit() {
			n, limit = 1, maxBits
		}
		if int(addr)+n > 1<<16 {
			errs = append(errs, pointError(p, "%d registers from wire address %d run past 65535", n, addr))
			continue
		}
		if n > limit {
			errs = append(errs, pointError(p, "spans %d registers, more than the %d one read may take", n, limit))
			continue
		}
		if opts.Exclude[p.Name] {
			continue
		}
		pt := *p
		pt.Address = uint32(addr)
		byKind[p.Register] = append(byKind[p.Register], span{pt: pt, start: int(addr), end: int(addr) + n, index: i})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	var reqs []Request
	for _, kind := range registerOrder {
		spans := byKind[kind]
		slices.SortStableFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
		limit, kindGap := maxRegs, gap
		if kind.IsBit() {
			limit, kindGap = maxBits, gap*16
		}
		var cur *Request
		var start, end int
		for _, s := range spans {
			if cur != nil && s.start-end <= kindGap && max(end, s.end)-start <= limit &&
				!opts.avoided(kind, end, s.start) {
				end = max(end, s.end)
				cur.Quantity = uint16(end - start)
			} else {
				reqs = append(reqs, Request{Register: kind, Address: uint16(s.start), Quantity: uint16(s.end - s.start)})
				cur = &reqs[len(reqs)-1]
				start, end = s.start, s.end
			}
			cur.Points = append(cur.Points, PlannedPoint{Point: s.pt, Offset: s.start - start})
		}
	}
	return reqs, nil
}

// WireAddress returns the address of p as sent on the wire. With
// profile addressing "reference" it converts the 1-based documentation
// numbers: holding 40001 (or 400001) → 0, input 30001 (300001) → 0,
// coil 1 (00001) → 0, discrete 10001 (100001) → 0.
func WireAddress(profile *drivers.Profile, p *drivers.Point) (uint16, error) {
	a := p.Address
	if profile.Addressing != drivers.Reference {
		if a > math.MaxUint16 {
			return 0, pointError(p, "wire address %d is beyond 65535", a)
		}
		return uint16(a), nil
	}
	var base5, base6 uint32
	switch p.Register {
	case drivers.Holding:
		base5, base6 = 40001, 400001
	case drivers.Input:
		base5, base6 = 30001, 300001
	case drivers.Discrete:
		base5, base6 = 10001, 100001
	case drivers.Coil:
		if a < 1 || a > 1<<16 {
			return 0, fmt.Errorf("point %q: coil reference %d is outside 1..65536 (00001 is the first coil)", p.Name, a)
		}
		return uint16(a - 1), nil
	default:
		return 0, fmt.Errorf("point %q: no register: set register to holding, input, coil or discrete", p.Name)
	}
	switch {
	case a >= base5 && a <= base5+9998:
		return uint16(a - base5), nil
	case a >= base6 && a <= base6+math.MaxUint16:
		return uint16(a - base6), nil
	}
	return 0, fmt.Errorf("point %q: %s reference %d is outside %d..%d and %d..%d; with addressing: reference, %s registers are numbered from %d",
		p.Name, p.Register, a, base5, base5+9998, base6, base6+math.MaxUint16, p.Register, base5)
}

// CheckPoint reports what keeps p from being read over Modbus: a missing or
// unknown register, type or byte order, a bit outside 0..15, a string
// without a length, an enumeration on a non-integer or scaled point.
func CheckPoint(p *drivers.Point) error {
	if p.Name == "" {
		return fmt.Errorf("point at %s %d: no name", registerName(p.Register), p.Address)
	}
	switch p.Register {
	case drivers.Holding, drivers.Input:
	case drivers.Coil, drivers.Discrete:
		if p.Type != drivers.TypeBool {
			return pointError(p, "a %s point must be of type bool, not %q", p.Register, p.Type)
		}
	case "":
		return fmt.Errorf("point %q: no register: set register to holding, input, coil or discrete", p.Name)
	default:
		return fmt.Errorf("point %q: unknown register %q: use holding, input, coil or discrete", p.Name, p.Register)
	}
	if !slices.Contains(drivers.DataTypes, string(p.Type)) {
		if p.Type == "" {
			return pointError(p, "no type: set type to one of %v", drivers.DataTypes)
		}
		return pointError(p, "unknown type %q: use one of %v", p.Type, drivers.DataTypes)
	}
	if !knownOrder(p.ByteOrder) {
		return pointError(p, "unknown byte order %q: use ABCD, DCBA, BADC or CDAB", p.ByteOrder)
	}
	switch {
	case p.Type == drivers.TypeBit && (p.Bit < 0 || p.Bit > 15):
		return pointError(p, "bit %d is outside 0..15", p.Bit)
	case p.Type != drivers.TypeBit && p.Bit != 0:
		return pointError(p, "bit is set but the type is %s: use type bit", p.Type)
	case p.Type == drivers.TypeString && (p.Length < 1 || p.Length > MaxRegisters):
		return pointError(p, "a string needs a length of 1..%d registers", MaxRegisters)
	case p.Type == drivers.TypeString && p.ByteOrder != "" && p.ByteOrder != drivers.ABCD && p.ByteOrder != drivers.BADC:
		return pointError(p, "byte order %s does not apply to strings: use ABCD, or BADC for the low byte first", p.ByteOrder)
	case p.Type != drivers.TypeString && p.Length != 0:
		return pointError(p, "length is only for strings")
	case len(p.Enum) > 0 && !integerType(p.Type):
		return pointError(p, "an enumeration needs an integer type, not %s", p.Type)
	case !integerType(p.Type) && p.Type != drivers.TypeFloat32 && p.Type != drivers.TypeFloat64 && scaled(p):
		return pointError(p, "scale and offset apply to numbers, not %s", p.Type)
	case len(p.Enum) > 0 && scaled(p):
		return pointError(p, "an enumeration maps raw codes: remove scale and offset")
	case math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) || math.IsNaN(p.Offset) || math.IsInf(p.Offset, 0):
		return pointError(p, "scale and offset must be finite")
	}
	return nil
}
