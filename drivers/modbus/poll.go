package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// busyRetryDelay is how long to wait before the one retry of a read that
// got exception 6 (server busy).
const busyRetryDelay = 100 * time.Millisecond

// device is the poller's working copy of a Device: its validated config,
// request plan and health counters. One goroutine owns it.
type device struct {
	Device
	requests []Request
	npoints  int
	learned  learned // registers the device refused, and what the plan does about them

	next     time.Time // the tick this device waits for (on its interval's grid)
	fire     time.Time // when it polls for that tick: next plus jitter
	failures int       // consecutive polls without an answer
	answered bool      // the last poll got an answer (pipeline.go)
	backoff  int       // ticks still to skip after failures
	errors   int64     // failed requests and points, cumulative
	skipped  int64     // ticks missed because a poll overran, cumulative
	sent     int64     // requests sent, cumulative
	status   drivers.Status
	logged   map[string]logMark
	order    int          // its place among its gateway's devices, for ties in the schedule
	state    *DeviceState // what States reports; guarded by Poller.mu

	samples []drivers.Sample // the last poll's; the sink must not keep it
	// buf is the room samples take each poll: the gateway's, shared by its
	// devices since they are polled one at a time (a device of its own
	// outside a Poller). It keeps what it grew to.
	buf   *[]drivers.Sample
	widen widenCache // float32 readings of recent polls, widened
	// raw, when set (commissioning), receives the registers of every point
	// read, by point name; bit points get one register of 0 or 1.
	raw map[string][]uint16
	// unread is why critical points did not read this poll, by name.
	unread map[string]string
}

// newDevice checks a Device and plans its requests. Every problem is
// reported, each prefixed with the device id.
func newDevice(dev Device) (*device, error) { return newDeviceWith(dev, nil) }

// planKey is what a device's first plan is built from: its profile and
// the limits of its config (a first plan excludes and avoids nothing).
type planKey struct {
	profile                       *drivers.Profile
	maxGap, maxRegisters, maxBits int
}

// planned is a plan and its problem.
type planned struct {
	requests []Request
	err      error
}

// plans are the first plans of a poller's devices, by profile and options:
// the devices of one profile and settings share one (about 5 KB of points
// per device), since a plan is read-only; what a device learns makes it a
// plan of its own (replan).
type plans map[planKey]planned

// newDeviceWith is newDevice taking its first plan from shared, when not
// nil, and adding it there.
func newDeviceWith(dev Device, shared plans) (*device, error) {
	dev.Config = dev.Config.WithDefaults()
	var errs []error
	if dev.ID == "" {
		errs = append(errs, errors.New("no id"))
	}
	errs = append(errs, dev.Config.Check()...)
	d := &device{Device: dev, status: drivers.StatusUnknown}
	if dev.Profile == nil {
		errs = append(errs, errors.New("no profile"))
	} else {
		if dev.Profile.Type == "" {
			errs = append(errs, errors.New("profile has no type (the equipment type, used as measurement)"))
		}
		opts := dev.Config.planOptions()
		key := planKey{dev.Profile, opts.MaxGap, opts.MaxRegisters, opts.MaxBits}
		pl, ok := shared[key]
		if !ok {
			pl.requests, pl.err = Plan(dev.Profile, opts)
			if shared != nil {
				shared[key] = pl
			}
		}
		reqs, err := pl.requests, pl.err
		if err != nil {
			errs = append(errs, err)
		}
		d.requests = reqs
		for _, r := range reqs {
			d.npoints += len(r.Points)
		}
	}
	if len(errs) > 0 {
		for i, err := range errs {
			errs[i] = fmt.Errorf("device %q: %w", dev.ID, err)
		}
		return nil, errors.Join(errs...)
	}
	if len(dev.Critical) > 0 {
		d.unread = map[string]string{}
	}
	if shared == nil { // New gives the devices of a gateway its room
		// room for the points, the unreadable sample and the health of a tick
		buf := make([]drivers.Sample, 0, d.npoints+1+healthSamples)
		d.buf = &buf
	}
	return d, nil
}

// Check reports what is wrong with a Config, after filling in its defaults.
func (c Config) Check() []error {
	c = c.WithDefaults()
	var errs []error
	switch c.Transport {
	case TCP, RTUOverTCP:
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			errs = append(errs, fmt.Errorf("address %q: want host:port for transport %s", c.Address, c.Transport))
		}
	case RTU:
		if c.Address == "" {
			errs = append(errs, errors.New("no address: set it to the serial device, e.g. /dev/ttyUSB0"))
		}
		if c.BaudRate < 0 {
			errs = append(errs, fmt.Errorf("baud_rate %d must be positive", c.BaudRate))
		}
		if c.DataBits < 5 || c.DataBits > 8 {
			errs = append(errs, fmt.Errorf("data_bits %d: use 5, 6, 7 or 8", c.DataBits))
		}
		if c.Parity != "N" && c.Parity != "E" && c.Parity != "O" {
			errs = append(errs, fmt.Errorf("parity %q: use N, E or O", c.Parity))
		}
		if c.StopBits != 1 && c.StopBits != 2 {
			errs = append(errs, fmt.Errorf("stop_bits %d: use 1 or 2", c.StopBits))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown transport %q: use tcp, rtu_over_tcp or rtu", c.Transport))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval %s must be positive", c.Interval))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s must be positive", c.Timeout))
	}
	if c.Jitter < 0 || (c.Interval > 0 && c.Jitter >= c.Interval) {
		errs = append(errs, fmt.Errorf("jitter %s: use 0 up to less than the interval (%s)", c.Jitter, c.Interval))
	}
	if c.MaxGap != nil && *c.MaxGap < 0 {
		errs = append(errs, fmt.Errorf("max_gap %d must not be negative", *c.MaxGap))
	}
	w := c.Workarounds
	if w.MaxRegisters < 0 || w.MaxRegisters > MaxRegisters {
		errs = append(errs, fmt.Errorf("workarounds: max_registers %d: use 1..%d", w.MaxRegisters, MaxRegisters))
	}
	if w.MaxBits < 0 || w.MaxBits > MaxBits {
		errs = append(errs, fmt.Errorf("workarounds: max_bits %d: use 1..%d", w.MaxBits, MaxBits))
	}
	if w.PauseBetweenRequests < 0 || (c.Interval > 0 && w.PauseBetweenRequests >= c.Interval) {
		errs = append(errs, fmt.Errorf("workarounds: pause_between_requests %s: use 0 up to less than the interval (%s)", w.PauseBetweenRequests, c.Interval))
	}
	return errs
}

// problem is one failed request or point of a poll; key identifies it for
// rate-limited logging.
type problem struct {
	key string
	err error
}

// pollResult is what one poll of a device found out.
type pollResult struct {
	answered bool // at least one request got an answer, data or exception
	problems []problem
	latency  time.Duration
	requests int // requests sent, retries included
	// unpipelined is why the gateway's link stopped pipelining in this
	// poll: it answered the first requests of an exchange, not a later one.
	unpipelined error
	// ganged is the time of the ganged exchange (pipeline.go) that read
	// requests of this poll before it began: part of its latency.
	ganged time.Duration
}

// readStatus is how one request (and the requests it was split into) went.
type readStatus int

const (
	readOK      readStatus = iota // every point read
	readRefused                   // exception 2: split, or its one point refused
	readFailed                    // another failure; the link is in step, go on
	readStop                      // no answer or ctx done: stop the poll
)

// poll reads every request of d over c and fills d.samples with the
// device's points, stamped t. Points it could not read or decode get
// Quality Bad. After a request without an answer it stops, so that a dead
// device costs one timeout. It returns early, with samples incomplete, once
// ctx is done.
func (d *device) poll(ctx context.Context, c conn, t time.Time) pollResult {
	start := time.Now()
	d.samples = (*d.buf)[:0]
	var res pollResult
	d.forgetIfDue(t)
	c.SetUnit(d.Config.UnitID, d.Config.Timeout)
	stopped := false
	for i := 0; i < len(d.requests); {
		r := &d.requests[i]
		if ctx.Err() != nil {
			return res
		}
		if stopped {
			d.appendBad(r, t)
			i++
			continue
		}
		if p, ok := c.(pipeliner); ok && len(d.requests)-i > 1 && d.canPipeline(p, res.answered) {
			n, stop := d.readPipelined(ctx, c, p, d.requests[i:min(i+pipelineDepth, len(d.requests))], t, &res)
			i, stopped = i+n, stop
			continue
		}
		stopped = d.readRequest(ctx, c, r, t, &res) == readStop
		i++
	}
	if len(d.requests) == 0 && ctx.Err() == nil {
		d.probe(ctx, c, &res)
	}
	d.appendRefused(t, &res)
	d.appendUnreadable(t)
	if d.learned.dirty {
		d.replan()
	}
	res.latency = time.Since(start) + res.ganged
	d.sent += int64(res.requests)
	d.answered = res.answered
	return res
}

// readRequest reads one request and appends the samples of its points.
// A request of several points that the device refuses with exception 2
// (illegal data address) is split until the refused registers are found;
// the rest is read all the same.
func (d *device) readRequest(ctx context.Context, c conn, r *Request, t time.Time, res *pollResult) readStatus {
	if !d.pause(ctx, res) {
		return readStop
	}
	data, err := read(ctx, c, r, res)
	return d.handleReply(ctx, c, r, data, err, t, res)
}

// handleReply appends the samples of r's points from the reply to it: its
// data, or err.
func (d *device) handleReply(ctx context.Context, c conn, r *Request, data []byte, err error, t time.Time, res *pollResult) readStatus {
	if err == nil {
		err = d.decodeRequest(r, data, t, res)
		if err == nil {
			res.answered = true
			return readOK
		}
	}
	if isException(err, modbus.ExceptionCodeIllegalDataAddress) {
		res.answered = true
		if len(r.Points) > 1 {
			return d.split(ctx, c, r, t, res)
		}
		d.refuse(r, err, t, res)
		return readRefused
	}
	res.problems = append(res.problems, problem{r.String(), fmt.Errorf("%s (unit %d): %w", r, d.Config.UnitID, err)})
	d.appendBad(r, t)
	d.noteUnread(r, err)
	var me *modbus.ModbusError
	switch {
	case errors.As(err, &me) && !gatewayNoAnswer(me):
		// The device answered with an exception: the link is in step.
		res.answered = true
		return readFailed
	case me != nil:
		// A gateway answered that the device did not: the link is in step.
		return readStop
	case errors.Is(err, errShortResponse):
		res.answered = true
		return readFailed
	case ctx.Err() != nil:
		return readStop
	}
	// A timeout or broken link may leave a late reply in the socket that
	// would answer the next request: drop the link.
	_ = c.Close()
	return readStop
}

// pause waits Workarounds.PauseBetweenRequests before every request of a
// poll but the first. It returns false if ctx ended the wait.
func (d *device) pause(ctx context.Context, res *pollResult) bool {
	p := d.Config.Workarounds.PauseBetweenRequests
	if p <= 0 || res.requests == 0 {
		return true
	}
	return drivers.Sleep(ctx, p)
}

// isException reports whether err is a Modbus exception with the code.
func isException(err error, code byte) bool {
	if err == nil {
		return false // and no allocation for errors.As
	}
	var me *modbus.ModbusError
	return errors.As(err, &me) && me.ExceptionCode == code
}

// gatewayNoAnswer reports whether a gateway answered for a device that did
// not (exceptions 10 and 11).
func gatewayNoAnswer(me *modbus.ModbusError) bool {
	return me.ExceptionCode == modbus.ExceptionCodeGatewayPathUnavailable ||
		me.ExceptionCode == modbus.ExceptionCodeGatewayTargetDeviceFailedToRespond
}

var errShortResponse = errors.New("short response")

// String describes a request for errors and logs: holding 0x0000+10.
func (r *Request) String() string {
	return Range{r.Register, r.Address, r.Quantity}.String()
}

// read sends one request, retrying once after a short wait when the device
// is busy (exception 6).
func read(ctx context.Context, c conn, r *Request, res *pollResult) ([]byte, error) {
	res.requests++
	data, err := readOnce(c, r)
	if isException(err, modbus.ExceptionCodeServerDeviceBusy) {
		if !drivers.Sleep(ctx, busyRetryDelay) {
			return nil, ctx.Err()
		}
		res.requests++
		data, err = readOnce(c, r)
	}
	return data, err
}

func readOnce(c conn, r *Request) ([]byte, error) {
	switch r.Register {
	case drivers.Holding:
		return c.ReadHoldingRegisters(r.Address, r.Quantity)
	case drivers.Input:
		return c.ReadInputRegisters(r.Address, r.Quantity)
	case drivers.Coil:
		return c.ReadCoils(r.Address, r.Quantity)
	case drivers.Discrete:
		return c.ReadDiscreteInputs(r.Address, r.Quantity)
	}
	return nil, fmt.Errorf("unknown register %q", r.Register)
}

// decodeRequest appends a sample for every point of r from the response
// data. It fails only when the response is shorter than asked for.
func (d *device) decodeRequest(r *Request, data []byte, t time.Time, res *pollResult) error {
	if r.Register.IsBit() {
		if want := (int(r.Quantity) + 7) / 8; len(data) < want {
			return fmt.Errorf("%w: %d bytes for %d bits", errShortResponse, len(data), r.Quantity)
		}
		for i := range r.Points {
			pp := &r.Points[i]
			bit := data[pp.Offset/8]>>(pp.Offset%8)&1 == 1
			if d.raw != nil {
				d.raw[pp.Point.Name] = []uint16{boolReg(bit)}
			}
			v, err := DecodeBit(&pp.Point, bit)
			d.appendValue(&pp.Point, v, err, t, res)
		}
		return nil
	}
	if len(data) < 2*int(r.Quantity) {
		return fmt.Errorf("%w: %d bytes for %d registers", errShortResponse, len(data), r.Quantity)
	}
	// The registers live on the stack: a device's poll needs them only
	// here (a slice per device was 250 B of heap each).
	if r.Quantity > MaxRegisters { // a plan never asks for more
		return fmt.Errorf("request of %d registers: at most %d", r.Quantity, MaxRegisters)
	}
	var room [MaxRegisters]uint16
	all := room[:r.Quantity]
	for i := range all {
		all[i] = binary.BigEndian.Uint16(data[2*i:])
	}
	for i := range r.Points {
		pp := &r.Points[i]
		regs := all[pp.Offset:]
		if d.raw != nil {
			n := min(pp.Point.Type.Registers(pp.Point.Length), len(regs))
			d.raw[pp.Point.Name] = append([]uint16(nil), regs[:n]...)
		}
		v, err := decode(&pp.Point, regs, &d.widen)
		d.appendValue(&pp.Point, v, err, t, res)
	}
	return nil
}

// appendValue adds the sample of one decoded point. A point that failed to
// decode is Bad; NaN or infinite readings, which meters send for "not
// available", are Uncertain.
func (d *device) appendValue(p *drivers.Point, v drivers.Value, err error, t time.Time, res *pollResult) {
	q := drivers.Good
	switch {
	case err != nil:
		res.problems = append(res.problems, problem{"point " + p.Name, err})
		v, q = drivers.Value{Kind: p.ValueKind()}, drivers.Bad
		if d.Critical[p.Name] {
			d.unread[p.Name] = err.Error()
		}
	case v.Kind == drivers.KindFloat && (math.IsNaN(v.F) || math.IsInf(v.F, 0)):
		q = drivers.Uncertain
	}
	d.samples = append(d.samples, drivers.Sample{
		Time: t, Device: d.ID, Measurement: d.Profile.Type, Point: p.Name, Value: v, Quality: q,
	})
}

// appendBad adds Bad samples for every point of a request that failed.
func (d *device) appendBad(r *Request, t time.Time) {
	for i := range r.Points {
		d.appendBadPoint(&r.Points[i].Point, t)
	}
}

func (d *device) appendBadPoint(p *drivers.Point, t time.Time) {
	d.samples = append(d.samples, drivers.Sample{
		Time: t, Device: d.ID, Measurement: d.Profile.Type, Point: p.Name,
		Value: drivers.Value{Kind: p.ValueKind()}, Quality: drivers.Bad,
	})
}
