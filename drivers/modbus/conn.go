package modbus

import (
	"fmt"
	"io"
	"time"

	"github.com/goburrow/modbus"
)

// client is the part of goburrow's modbus.Client the poller uses.
type client interface {
	ReadCoils(address, quantity uint16) ([]byte, error)
	ReadDiscreteInputs(address, quantity uint16) ([]byte, error)
	ReadHoldingRegisters(address, quantity uint16) ([]byte, error)
	ReadInputRegisters(address, quantity uint16) ([]byte, error)
	WriteSingleCoil(address, value uint16) ([]byte, error)
	WriteSingleRegister(address, value uint16) ([]byte, error)
	WriteMultipleRegisters(address, quantity uint16, value []byte) ([]byte, error)
}

// conn is one link to a gateway: a TCP socket or a serial line. It connects
// on first use and again on the first use after Close. One goroutine uses it,
// one request at a time.
type conn interface {
	client
	// SetUnit addresses the following requests to a unit id with a timeout.
	SetUnit(unit uint8, timeout time.Duration)
	// Close drops the link; the next request reconnects.
	Close() error
}

// connFactory opens the link of a gateway; tests replace it with fakes.
type connFactory func(c Config) conn

var (
	_ conn = (*tcpConn)(nil)
	_ conn = (*rtuConn)(nil)
)

// newConn builds the goburrow client for a transport without connecting.
// Over TCP goburrow frames the requests (its handler is the packager) and a
// transporter of this package carries them (see link).
func newConn(c Config) conn {
	switch c.Transport {
	case RTUOverTCP:
		// The RTU handler serves as packager only; its serial port stays closed.
		h := modbus.NewRTUClientHandler("")
		t := &rtuTCPTransporter{link: link{address: c.Address, timeout: c.Timeout}}
		return &rtuConn{Client: modbus.NewClient2(h, t), h: h, tcp: t}
	case RTU:
		h := modbus.NewRTUClientHandler(c.Address)
		h.BaudRate, h.DataBits, h.Parity, h.StopBits = c.BaudRate, c.DataBits, c.Parity, c.StopBits
		h.Timeout = c.Timeout
		return &rtuConn{Client: modbus.NewClient(h), h: h}
	}
	h := modbus.NewTCPClientHandler(c.Address)
	t := &tcpTransporter{link: link{address: c.Address, timeout: c.Timeout}}
	return &tcpConn{Client: modbus.NewClient2(h, t), h: h, t: t}
}

// tcpConn is Modbus TCP: goburrow's client and packager over tcpTransporter.
type tcpConn struct {
	modbus.Client
	h *modbus.TCPClientHandler // the packager: unit id and transaction ids
	t *tcpTransporter
	// sequential: the gateway did not answer pipelined requests, so every
	// request waits for the one before (pipeline.go).
	sequential     bool
	pipelineProven bool                            // a pipelined exchange was answered whole
	noGang         bool                            // a ganged exchange failed: one device an exchange
	pre            [2]gangedReplies                // what a ganged exchange read for the next polls
	gangedAt       time.Time                       // when the last ganged exchange ended
	room           [pipelineDepth * tcpMaxADU]byte // the data of pipelined replies
}

// SetUnit sets the packager's unit id and the transporter's timeout, both
// read per request.
func (c *tcpConn) SetUnit(unit uint8, timeout time.Duration) {
	c.h.SlaveId = unit
	c.t.timeout = timeout
}

// Close drops the socket, and with it any late reply still on its way.
func (c *tcpConn) Close() error { return c.t.Close() }

// rtuConn is RTU framing over a serial line (tcp nil) or a TCP socket.
type rtuConn struct {
	modbus.Client
	h   *modbus.RTUClientHandler
	tcp *rtuTCPTransporter
}

// SetUnit sets the unit id and timeout of the next requests; on a serial
// line the timeout applies when the port is next opened.
func (c *rtuConn) SetUnit(unit uint8, timeout time.Duration) {
	c.h.SlaveId = unit
	c.h.Timeout = timeout
	if c.tcp != nil {
		c.tcp.timeout = timeout
	}
}

// Close drops the socket or closes the serial port.
func (c *rtuConn) Close() error {
	if c.tcp != nil {
		return c.tcp.Close()
	}
	return c.h.Close()
}

// rtuTCPTransporter carries RTU frames (with CRC) over a TCP socket, as
// serial-to-Ethernet gateways do. It reads exactly one response frame, its
// length derived from the function code and byte count, within the timeout.
// It is not safe for concurrent use; the gateway's goroutine owns it.
type rtuTCPTransporter struct {
	link
	buf [256]byte // the last response
}

var _ modbus.Transporter = (*rtuTCPTransporter)(nil)

// Send writes one request ADU and returns the response ADU, which is valid
// until the next Send.
func (t *rtuTCPTransporter) Send(req []byte) ([]byte, error) {
	if len(req) < 4 {
		return nil, fmt.Errorf("modbus: rtu request of %d bytes is too short", len(req))
	}
	r, err := t.exchange(req)
	if err != nil {
		return nil, err
	}
	// unit, function, and the byte count or first data byte
	buf := t.buf[:]
	if _, err := io.ReadFull(r, buf[:3]); err != nil {
		return nil, err
	}
	var n int
	switch fc := buf[1]; {
	case fc&0x80 != 0:
		n = 5 // unit, function, exception code, CRC
	case fc == modbus.FuncCodeReadCoils, fc == modbus.FuncCodeReadDiscreteInputs,
		fc == modbus.FuncCodeReadHoldingRegisters, fc == modbus.FuncCodeReadInputRegisters,
		fc == modbus.FuncCodeReadWriteMultipleRegisters:
		n = 3 + int(buf[2]) + 2
	case fc == modbus.FuncCodeWriteSingleCoil, fc == modbus.FuncCodeWriteSingleRegister,
		fc == modbus.FuncCodeWriteMultipleCoils, fc == modbus.FuncCodeWriteMultipleRegisters:
		n = 8
	case fc == modbus.FuncCodeMaskWriteRegister:
		n = 10
	default:
		return nil, fmt.Errorf("modbus: rtu response with unsupported function code %d", fc)
	}
	if n > len(buf) { // a garbled byte count: an RTU frame is at most 256 bytes
		return nil, fmt.Errorf("modbus: rtu response byte count %d is more than a frame holds", buf[2])
	}
	if _, err := io.ReadFull(r, buf[3:n]); err != nil {
		return nil, err
	}
	if fc := req[1]; buf[1]&0x7f != fc {
		return nil, fmt.Errorf("modbus: rtu response function %d does not answer request function %d", buf[1], fc)
	}
	return buf[:n:n], nil
}
