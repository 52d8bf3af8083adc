package modbus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
	// alone are critical points the device refused: left out of the plan's
	// reads like refused points, but each read on its own every poll.
	alone   []refusedPoint
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
// leaves it out and its registers are never bridged. A critical point is
// not given up: from the next poll on it is read on its own, every poll
// (see aloneRequest), and it gets its Bad sample and problem here, every
// time it is refused, rather than from appendRefused.
func (d *device) refuse(r *Request, err error, t time.Time, res *pollResult) {
	p := r.Points[0].Point
	l := &d.learned
	if d.Critical[p.Name] {
		d.appendBadPoint(&p, t)
		d.unread[p.Name] = exceptionText(err)
		res.problems = append(res.problems, problem{"point " + p.Name, pointError(&p,
			"refused by the device (%v): a critical point (a rule of severity critical reads it), read again every poll; "+
				"check its register and address in the profile", err)})
		if slices.ContainsFunc(l.alone, func(a refusedPoint) bool { return a.point.Name == p.Name }) {
			return // already read on its own
		}
		l.alone = append(l.alone, refusedPoint{point: p, err: err})
	} else {
		l.refused = append(l.refused, refusedPoint{point: p, err: err})
	}
	if l.since.IsZero() {
		l.since = t
	}
	l.avoid = append(l.avoid, Range{r.Register, uint16(p.Address), uint16(pointSpan(&p))})
	l.dirty = true
}

// aloneRequest is the read of one point on its own.
func aloneRequest(p *drivers.Point) Request {
	return Request{Register: p.Register, Address: uint16(p.Address), Quantity: uint16(pointSpan(p)),
		Points: []PlannedPoint{{Point: *p}}}
}

// noteUnread records why the critical points of a failed request did not read.
func (d *device) noteUnread(r *Request, err error) {
	if d.unread == nil {
		return
	}
	for i := range r.Points {
		if name := r.Points[i].Point.Name; d.Critical[name] {
			d.unread[name] = exceptionText(err)
		}
	}
}

// appendUnreadable adds, for a device with critical points, the health
// sample HealthUnreadable: why each critical point that is Bad this poll
// did not read; empty when they all read.
func (d *device) appendUnreadable(t time.Time) {
	if d.unread == nil {
		return
	}
	var names []string
	for i := range d.samples {
		s := &d.samples[i]
		if s.Quality == drivers.Bad && d.Critical[s.Point] && s.Measurement != drivers.HealthMeasurement {
			names = append(names, s.Point)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var b strings.Builder
	for _, name := range names {
		reason := d.unread[name]
		if reason == "" {
			reason = "not asked: an earlier request of the poll got no answer"
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name + ": " + strings.ReplaceAll(reason, "; ", ", "))
	}
	clear(d.unread)
	d.samples = append(d.samples, drivers.Sample{Time: t, Device: d.ID, Measurement: drivers.HealthMeasurement,
		Point: HealthUnreadable, Value: drivers.String(b.String()), Quality: drivers.Good})
}

// exceptionText describes a failed read for people: "Modbus exception 2:
// illegal data address" for an exception, the error otherwise.
func exceptionText(err error) string {
	var me *modbus.ModbusError
	if !errors.As(err, &me) {
		return err.Error()
	}
	if name, ok := exceptionNames[me.ExceptionCode]; ok {
		return fmt.Sprintf("Modbus exception %d: %s", me.ExceptionCode, name)
	}
	return fmt.Sprintf("Modbus exception %d", me.ExceptionCode)
}

var exceptionNames = map[byte]string{
	1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "server device failure",
	5: "acknowledge", 6: "server device busy", 8: "memory parity error",
	10: "gateway path unavailable", 11: "gateway target device failed to respond",
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
	if len(l.refused) > 0 || len(l.alone) > 0 {
		opts.Exclude = map[string]bool{}
		for _, rp := range l.refused {
			opts.Exclude[rp.point.Name] = true
		}
		for _, rp := range l.alone {
			opts.Exclude[rp.point.Name] = true
		}
	}
	reqs, err := Plan(d.Profile, opts)
	if err != nil {
		return // the profile planned once; keep the old plan rather than none
	}
	for i := range l.alone {
		reqs = append(reqs, aloneRequest(&l.alone[i].point))
	}
	d.requests = reqs
}
