package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// pipelineDepth is how many reads of one poll go out together over Modbus
// TCP: in one write, the replies read in order. The MBAP header's
// transaction id pairs each reply with its request, and the protocol lets a
// client send requests without waiting (Modbus Messaging on TCP/IP
// Implementation Guide, 4.2); gateways queue them for their serial line.
// Four keeps within what small gateways queue. On loopback and a LAN the
// write of a request is most of a poll's CPU (the kernel's TCP path), so a
// meter of two spans costs one write instead of two.
const pipelineDepth = 4

// readRequestADU is the length of a read request's ADU: a 7-byte MBAP
// header, the function code, the address and the quantity.
const readRequestADU = 12

// piped is one reply of a pipelined exchange: the data of a read (valid
// until the next exchange of the conn) or the error the reply carried (an exception, a
// short reply).
type piped struct {
	data []byte
	err  error
}

// pipeliner is a conn that can send several reads of its current unit at
// once.
type pipeliner interface {
	// pipelined says whether the gateway is taken to answer pipelined
	// requests; proven, whether it has answered a whole exchange.
	pipelined() bool
	proven() bool
	// setPipelining turns pipelining off (every later request of the conn
	// one at a time) or back on.
	setPipelining(on bool)
	// readPipelined sends rs (at most pipelineDepth) in one write and
	// reads their replies in order into out. It returns how many replies
	// it read and whether it sent the requests (not when dialling or the
	// write failed, nor for replies a ganged exchange read); ganged is how
	// long that exchange took when one did; an error is the stream's (no
	// reply in time, a broken or out-of-step link), for reply n, after
	// which the link is dropped.
	readPipelined(rs []*Request, out []piped) (n int, sent bool, ganged time.Duration, err error)
}

var _ pipeliner = (*tcpConn)(nil)

func (c *tcpConn) pipelined() bool { return !c.sequential }

func (c *tcpConn) proven() bool { return c.pipelineProven }

func (c *tcpConn) setPipelining(on bool) { c.sequential = !on }

// readPipelined frames each read with goburrow's packager (unit and
// transaction ids), carries them through the transporter's link, and checks
// each reply as goburrow's client does (Verify, Decode, the function code,
// the byte count). Replies a ganged exchange already read for these very
// requests of this unit (gang) are handed back without one.
func (c *tcpConn) readPipelined(rs []*Request, out []piped) (int, bool, time.Duration, error) {
	if g := c.ganged(c.h.SlaveId, rs); g != nil {
		copy(out, g.out[:g.n])
		return g.n, false, g.took, nil // gang counted them
	}
	n, sent, err := c.exchangeReads(nil, rs, out)
	return n, sent, 0, err
}

// exchangeReads is readPipelined's exchange; units, when set, gives each
// request's unit id (else the current one). Whatever an earlier ganged
// exchange left is dropped: its data lived where these replies go.
func (c *tcpConn) exchangeReads(units []byte, rs []*Request, out []piped) (int, bool, error) {
	c.pre = [2]gangedReplies{}
	if len(rs) > pipelineDepth || len(out) < len(rs) {
		return 0, false, fmt.Errorf("modbus: %d pipelined requests: at most %d", len(rs), pipelineDepth)
	}
	unit := c.h.SlaveId
	defer func() { c.h.SlaveId = unit }()
	var frame [pipelineDepth * readRequestADU]byte
	for i, r := range rs {
		fc, err := readFunction(r.Register)
		if err != nil {
			return 0, false, err
		}
		if units != nil {
			c.h.SlaveId = units[i]
		}
		var data [4]byte
		binary.BigEndian.PutUint16(data[:], r.Address)
		binary.BigEndian.PutUint16(data[2:], r.Quantity)
		adu, err := c.h.Encode(&modbus.ProtocolDataUnit{FunctionCode: fc, Data: data[:]})
		if err != nil {
			return 0, false, err
		}
		copy(frame[i*readRequestADU:], adu)
	}
	reqs := frame[:len(rs)*readRequestADU]
	rd, err := c.t.exchange(reqs)
	if err != nil {
		return 0, false, err
	}
	for i := range rs {
		if i > 0 {
			// Each reply has the timeout to come, as one at a time.
			if err := c.t.conn.SetReadDeadline(time.Now().Add(c.t.timeout)); err != nil {
				_ = c.Close()
				return i, true, err
			}
		}
		resp, err := c.t.readReply(rd)
		if err != nil {
			_ = c.Close()
			return i, true, err
		}
		req := reqs[i*readRequestADU : (i+1)*readRequestADU]
		if err := c.h.Verify(req, resp); err != nil {
			// Out of step (or out of order, which the protocol allows but
			// the replies are not read for): drop the stream.
			_ = c.Close()
			return i, true, err
		}
		pdu, err := c.h.Decode(resp)
		if err != nil {
			_ = c.Close()
			return i, true, err
		}
		out[i] = readReply(req[7], pdu)
		if out[i].data != nil {
			// The transporter's buffer takes the next reply.
			room := c.room[i*tcpMaxADU : (i+1)*tcpMaxADU]
			out[i].data = room[:copy(room, out[i].data)]
		}
	}
	c.pipelineProven = true
	return len(rs), true, nil
}

// gangedReplies are the replies a ganged exchange read for one device's
// requests, kept until its poll asks for them.
type gangedReplies struct {
	unit byte
	reqs [pipelineDepth]Request // register, address and quantity
	n    int
	out  [pipelineDepth]piped
	took time.Duration // the exchange's, for the device's latency
}

// ganged returns, and gives up, the replies kept for rs of unit, if a
// ganged exchange read exactly these.
func (c *tcpConn) ganged(unit byte, rs []*Request) *gangedReplies {
	for i := range c.pre {
		g := &c.pre[i]
		if g.n == 0 || g.unit != unit || g.n != len(rs) {
			continue
		}
		same := true
		for k, r := range rs {
			q := &g.reqs[k]
			same = same && q.Register == r.Register && q.Address == r.Address && q.Quantity == r.Quantity
		}
		if same {
			got := *g
			g.n = 0
			return &got
		}
	}
	return nil
}

// gang reads the requests of two devices of the gateway that are due at
// once, d's and e's, in one exchange, and keeps each one's replies for its
// poll, which follows at once: on a gateway of many meters due on the same
// tick, two meters cost one write. The units' ids in the MBAP headers keep
// the replies apart. It says whether it did; an exchange that failed turns
// ganging off for the conn (each device's poll then finds out about
// pipelining itself).
func (c *tcpConn) gang(d, e *device) bool {
	var units [pipelineDepth]byte
	var rs [pipelineDepth]*Request
	n := 0
	for _, dev := range []*device{d, e} {
		for i := range dev.requests {
			units[n], rs[n] = dev.Config.UnitID, &dev.requests[i]
			n++
		}
	}
	timeout := c.t.timeout
	c.t.timeout = max(d.Config.Timeout, e.Config.Timeout)
	defer func() { c.t.timeout = timeout }()
	var out [pipelineDepth]piped
	start := time.Now()
	got, sent, err := c.exchangeReads(units[:n], rs[:n], out[:n])
	if sent {
		// Counted here, whether or not a poll takes the replies.
		d.sent += int64(len(d.requests))
		e.sent += int64(len(e.requests))
	}
	if err != nil || got != n {
		c.noGang = true
		return false
	}
	took := time.Since(start)
	c.gangedAt = time.Now()
	k := 0
	for i, dev := range []*device{d, e} {
		g := &c.pre[i]
		g.unit, g.n, g.took = dev.Config.UnitID, len(dev.requests), took
		for j := range dev.requests {
			g.reqs[j] = Request{Register: dev.requests[j].Register, Address: dev.requests[j].Address, Quantity: dev.requests[j].Quantity}
			g.out[j] = out[k]
			k++
		}
	}
	return true
}

// canGang says whether d and e, due at once on a conn that pipelines, can
// be read in one exchange: both answered their last poll, both read in one
// pipelined exchange of their own (two requests or more, four at most
// together), neither pauses between requests, closes the link after a
// poll, asks for one request at a time or is being commissioned.
func canGang(d, e *device) bool {
	ok := func(x *device) bool {
		w := x.Config.Workarounds
		return x.answered && x.backoff == 0 && len(x.requests) >= 2 && x.raw == nil &&
			w.PauseBetweenRequests <= 0 && !w.NoPipelining && !w.CloseAfterPoll
	}
	return d != e && ok(d) && ok(e) && len(d.requests)+len(e.requests) <= pipelineDepth
}

// readReply is what goburrow's client makes of the reply to a read: an
// exception as *modbus.ModbusError, the data after the byte count, or an
// error when the count does not match.
func readReply(fc byte, pdu *modbus.ProtocolDataUnit) piped {
	if pdu.FunctionCode != fc {
		me := &modbus.ModbusError{FunctionCode: pdu.FunctionCode}
		if len(pdu.Data) > 0 {
			me.ExceptionCode = pdu.Data[0]
		}
		return piped{err: me}
	}
	if len(pdu.Data) == 0 {
		return piped{err: errors.New("modbus: response data is empty")}
	}
	if count, length := int(pdu.Data[0]), len(pdu.Data)-1; count != length {
		return piped{err: fmt.Errorf("modbus: response data size '%v' does not match count '%v'", length, count)}
	}
	return piped{data: pdu.Data[1:]}
}

// readFunction is the function code that reads a register kind.
func readFunction(k drivers.RegisterKind) (byte, error) {
	switch k {
	case drivers.Holding:
		return modbus.FuncCodeReadHoldingRegisters, nil
	case drivers.Input:
		return modbus.FuncCodeReadInputRegisters, nil
	case drivers.Coil:
		return modbus.FuncCodeReadCoils, nil
	case drivers.Discrete:
		return modbus.FuncCodeReadDiscreteInputs, nil
	}
	return 0, fmt.Errorf("unknown register %q", k)
}

// readReply reads one reply ADU from r (see Send).
func (t *tcpTransporter) readReply(r io.Reader) ([]byte, error) {
	buf := t.buf[:]
	if _, err := io.ReadFull(r, buf[:7]); err != nil {
		return nil, err
	}
	// The length counts the unit id (the header's last byte) and the PDU.
	length := int(binary.BigEndian.Uint16(buf[4:]))
	if length < 2 || length > tcpMaxADU-6 {
		// The stream is out of step: drop it, and what it holds.
		_ = t.Close()
		return nil, fmt.Errorf("modbus: length in response header %d: want 2 to %d", length, tcpMaxADU-6)
	}
	n := 6 + length
	if _, err := io.ReadFull(r, buf[7:n]); err != nil {
		return nil, err
	}
	return buf[:n:n], nil
}

// canPipeline says whether d's next reads go out together: over a gateway
// that answers pipelined requests, once the device is answering (its last
// poll was answered, or this one's first request), unless it pauses
// between requests or asks for one at a time (Workarounds.NoPipelining).
// A device that does not answer so costs one request, not a batch: behind
// a serial gateway each would hold the line for its timeout.
func (d *device) canPipeline(p pipeliner, answeredNow bool) bool {
	w := d.Config.Workarounds
	return p.pipelined() && (d.answered || answeredNow) && w.PauseBetweenRequests <= 0 && !w.NoPipelining
}

// readPipelined reads rs (two to pipelineDepth of d's requests) in one
// exchange and appends their points' samples as readRequest does; a reply
// that needs more requests (a busy device's retry, a refused range to
// split) gets them once every reply is in. It returns how many of rs it
// dealt with and whether the poll stops.
//
// A gateway that answered the first requests but not a later one is taken
// not to queue pipelined requests: the conn goes one request at a time from
// then on (res.unpipelined says so, for the log) and the rest of rs is left
// to the caller, to read one at a time in this same poll. No answer to the
// first request is a device without one, as readRequest has it, once the
// gateway has answered a whole exchange; before that the request is tried
// again alone, and if that is answered the gateway is polled one request
// at a time.
func (d *device) readPipelined(ctx context.Context, c conn, p pipeliner, rs []Request, t time.Time, res *pollResult) (int, bool) {
	var ptrs [pipelineDepth]*Request
	for i := range rs {
		ptrs[i] = &rs[i]
	}
	var out [pipelineDepth]piped
	n, sent, ganged, err := p.readPipelined(ptrs[:len(rs)], out[:len(rs)])
	if sent {
		res.requests += len(rs)
	}
	res.ganged += ganged // read by a ganged exchange, in no time here
	if err != nil && n > 0 && ctx.Err() == nil {
		p.setPipelining(false)
		res.unpipelined = err
	}
	stop := false
	for i := range n {
		r := ptrs[i]
		data, rerr := out[i].data, out[i].err
		if isException(rerr, modbus.ExceptionCodeServerDeviceBusy) {
			if !drivers.Sleep(ctx, busyRetryDelay) {
				return len(rs), true
			}
			res.requests++
			data, rerr = readOnce(c, r)
		}
		if d.handleReply(ctx, c, r, data, rerr, t, res) == readStop {
			stop = true
		}
	}
	switch {
	case err == nil:
		return len(rs), stop
	case n > 0 || ctx.Err() != nil:
		return max(n, 1), stop || ctx.Err() != nil
	case !p.proven():
		p.setPipelining(false)
		status := d.readRequest(ctx, c, ptrs[0], t, res)
		if status == readStop {
			p.setPipelining(true) // the device does not answer, alone either
		} else {
			res.unpipelined = err
		}
		return 1, status == readStop
	}
	return 1, d.handleReply(ctx, c, ptrs[0], nil, err, t, res) == readStop
}
