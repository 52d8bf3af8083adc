package modbus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// forgetRefusals is how long the poller keeps what a device's refusals
// taught it before it tries the full plan again, in case the device's
// register map changed (a firmware update, a reconfigured gateway).
const forgetRefusals = time.Hour

// learned is what a device taught the poller by refusing reads with
// exception 2 (illegal data address): points it does not serve, gaps a
// read must not bridge, and a shorter read length it accepts. The plan
// works around them until they are forgotten.
type learned struct {
	refused []refusedPoint
	avoid   []Range
	maxRegs int // 0: no lower limit learned
	maxBits int
	since   time.Time // when the first lesson was learned; zero if none
	dirty   bool      // learned during this poll: plan again
}

// refusedPoint is a point the device refused on its own.
type refusedPoint struct {
	point drivers.Point // with its wire address
	err   error
}

// split reads the points of a refused request as two halves, each a read
// of its own, recursively. When both halves read well, the refusal came
// from the registers between them, or from the length of the read: the
// plan stops bridging that gap or learns the shorter length.
func (d *device) split(ctx context.Context, c conn, r *Request, t time.Time, res *pollResult) readStatus {
	n := len(r.Points) / 2
	left, right := subRequest(r, r.Points[:n]), subRequest(r, r.Points[n:])
	ls := d.readRequest(ctx, c, &left, t, res)
	if ls == readStop {
		d.appendBad(&right, t)
		return readStop
	}
	rs := d.readRequest(ctx, c, &right, t, res)
	if rs == readStop {
		return readStop
	}
	if ls == readOK && rs == readOK {
		l := &d.learned
		if l.since.IsZero() {
			l.since = t
		}
		l.dirty = true
		if end := left.Address + left.Quantity; end < right.Address {
			l.avoid = append(l.avoid, Range{r.Register, end, right.Address - end})
		} else if r.Register.IsBit() {
			l.maxBits = int(max(left.Quantity, right.Quantity))
		} else {
			l.maxRegs = int(max(left.Quantity, right.Quantity))
		}
	}
	return readRefused
}

// subRequest is a read of some points of r, no longer than they need.
func subRequest(r *Request, pts []PlannedPoint) Request {
	lo, hi := math.MaxInt, 0
	for i := range pts {
		lo = min(lo, pts[i].Offset)
		hi = max(hi, pts[i].Offset+pointSpan(&pts[i].Point))
	}
	out := Request{Register: r.Register, Address: r.Address + uint16(lo), Quantity: uint16(hi - lo), Points: make([]PlannedPoint, len(pts))}
	for i, p := range pts {
		p.Offset -= lo
		out.Points[i] = p
	}
	return out
}

// pointSpan is how many registers (bits in bit tables) a point covers.
func pointSpan(p *drivers.Point) int {
	if p.Register.IsBit() {
		return 1
	}
	return p.Type.Registers(p.Length)
}

// refuse remembers the one point of r, which the device refused: the plan
// leaves it out and its registers are never bridged.
func (d *device) refuse(r *Request, err error, t time.Time) {
	p := r.Points[0].Point
	l := &d.learned
	if l.since.IsZero() {
		l.since = t
	}
	l.refused = append(l.refused, refusedPoint{point: p, err: err})
	l.avoid = append(l.avoid, Range{r.Register, uint16(p.Address), uint16(pointSpan(&p))})
	l.dirty = true
}

// appendRefused adds a Bad sample and a problem for every point the device
// refused, this poll or before.
func (d *device) appendRefused(t time.Time, res *pollResult) {
	for i := range d.learned.refused {
		rp := &d.learned.refused[i]
		d.appendBadPoint(&rp.point, t)
		res.problems = append(res.problems, problem{"point " + rp.point.Name, pointError(&rp.point,
			"refused by the device (%v): left out of polls until %s; check its register and address in the profile",
			rp.err, d.learned.since.Add(forgetRefusals).Format(time.TimeOnly))})
	}
}

// probe checks a device whose every point was refused: an exception shows
// it is there; a good answer means it serves the points now, so the plan
// starts over.
func (d *device) probe(ctx context.Context, c conn, res *pollResult) {
	if len(d.learned.refused) == 0 {
		return
	}
	p := &d.learned.refused[0].point
	r := Request{Register: p.Register, Address: uint16(p.Address), Quantity: uint16(pointSpan(p))}
	_, err := read(ctx, c, &r, res)
	var me *modbus.ModbusError
	answered := err == nil || (errors.As(err, &me) && !gatewayNoAnswer(me))
	if err == nil {
		d.learned = learned{dirty: true}
	}
	if !answered && ctx.Err() == nil {
		res.problems = append(res.problems, problem{r.String(), fmt.Errorf("%s (unit %d): %w", &r, d.Config.UnitID, err)})
		_ = c.Close()
	}
	res.answered = res.answered || answered
}

// forgetIfDue drops the lessons of refusals older than forgetRefusals.
func (d *device) forgetIfDue(t time.Time) {
	if !d.learned.since.IsZero() && t.Sub(d.learned.since) >= forgetRefusals {
		d.learned = learned{dirty: true}
		d.replan()
	}
}

// replan builds the device's requests again around what it learned.
func (d *device) replan() {
	l := &d.learned
	l.dirty = false
	opts := d.Config.planOptions()
	opts.Avoid = l.avoid
	if l.maxRegs > 0 {
		opts.MaxRegisters = min(opts.MaxRegisters, l.maxRegs)
	}
	if l.maxBits > 0 {
		opts.MaxBits = min(opts.MaxBits, l.maxBits)
	}
	if len(l.refused) > 0 {
		opts.Exclude = map[string]bool{}
		for _, rp := range l.refused {
			opts.Exclude[rp.point.Name] = true
		}
	}
	reqs, err := Plan(d.Profile, opts)
	if err != nil {
		return // the profile planned once; keep the old plan rather than none
	}
	d.requests = reqs
}
