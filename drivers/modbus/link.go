package modbus

import (
	"bufio"
	"io"
	"net"
	"time"

	"github.com/goburrow/modbus"
)

// idleTimeout is how long a socket may sit unused before the next request
// dials a new one: gateways drop idle connections, often silently, and a
// request on such a socket would cost a poll. goburrow closes its idle
// sockets after the same minute, with a timer reset on every request.
const idleTimeout = time.Minute

// linkBuffer holds what one read brings in: a whole reply (a Modbus TCP ADU
// is at most 260 bytes, an RTU frame 256) and some.
const linkBuffer = 512

// link is the TCP socket of a gateway with a read buffer. goburrow reads a
// reply in two reads (the header, then the rest); through the buffer the
// first read brings in whatever has arrived, as a rule the whole reply, and
// the second is served from memory: one system call per reply instead of
// two, which is most of the poller's CPU on a LAN. What a read brings in
// beyond the reply stays for the next one, as it would in the socket. Not
// safe for concurrent use; the gateway's goroutine owns it.
type link struct {
	address string
	timeout time.Duration
	conn    net.Conn
	r       *bufio.Reader // reads conn; reset when conn changes
	used    time.Time     // when the last request was sent
}

// exchange sends one request, dialling first if there is no socket or it
// sat idle too long, and returns the reader to read the reply from. The
// deadline covers the write and the reading of the reply.
func (l *link) exchange(req []byte) (io.Reader, error) {
	now := time.Now()
	if l.conn != nil && !l.used.IsZero() && now.Sub(l.used) >= idleTimeout {
		_ = l.Close()
	}
	if l.conn == nil {
		c, err := net.DialTimeout("tcp", l.address, l.timeout)
		if err != nil {
			return nil, err
		}
		l.conn = c
		now = time.Now()
	}
	if l.r == nil {
		l.r = bufio.NewReaderSize(l.conn, linkBuffer)
	}
	l.used = now
	if err := l.conn.SetDeadline(now.Add(l.timeout)); err != nil {
		return nil, err
	}
	if _, err := l.conn.Write(req); err != nil {
		return nil, err
	}
	return l.r, nil
}

// Close drops the socket and whatever its buffer held; the next request
// dials again.
func (l *link) Close() error {
	if l.conn == nil {
		return nil
	}
	err := l.conn.Close()
	l.conn, l.r = nil, nil
	return err
}

// tcpTransporter carries Modbus TCP ADUs over a link: goburrow's
// tcpTransporter with the read buffer, and without its per-request idle
// timer. It checks the header's length as goburrow does; goburrow's
// packager checks the transaction, protocol and unit ids.
type tcpTransporter struct {
	link
	buf [tcpMaxADU]byte // the last response
}

// tcpMaxADU is the longest Modbus TCP ADU: a 7-byte header and 253 bytes of
// PDU.
const tcpMaxADU = 260

var _ modbus.Transporter = (*tcpTransporter)(nil)

// Send writes one request ADU and returns the response ADU, which is valid
// until the next Send.
func (t *tcpTransporter) Send(req []byte) ([]byte, error) {
	r, err := t.exchange(req)
	if err != nil {
		return nil, err
	}
	return t.readReply(r)
}
