package mqttconn

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// paho writes every packet with a write of its own and reads a packet's
// fixed header a byte at a time: at QoS 1 a message costs a PUBACK write and
// three or more reads, a third of the daemon's CPU at a few thousand
// messages a second. bufConn batches both ways behind paho's
// OpenConnectionFunc: reads come from a buffer that one read fills with what
// has arrived, and writes wait up to flushDelay (or until flushAt bytes
// wait) to go out together.
const (
	flushDelay  = time.Millisecond
	flushAt     = 16 << 10
	readBuffer  = 32 << 10
	keepWriteAt = 64 << 10 // a write buffer that grew beyond this is let go after its flush
)

// bufferedSchemes are the broker schemes openBuffered dials; paho keeps
// dialling the others (websockets, unix sockets) itself.
var bufferedSchemes = map[string]bool{"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "mqtt+ssl": true, "tcps": true}

// buffered reports whether Dial puts bufConn under paho for a broker URL.
// Through a proxy (ALL_PROXY), paho dials as it always did.
func buffered(broker string) bool {
	u, err := url.Parse(broker)
	return err == nil && bufferedSchemes[u.Scheme] && os.Getenv("ALL_PROXY") == "" && os.Getenv("all_proxy") == ""
}

// openBuffered is the paho.OpenConnectionFunc of Dial: it dials as paho does
// for TCP and TLS without a proxy, and returns the connection in a bufConn.
func openBuffered(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	var c net.Conn
	var err error
	if uri.Scheme != "tcp" && uri.Scheme != "mqtt" { // the TLS schemes of bufferedSchemes
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	} else {
		c, err = d.Dial("tcp", uri.Host)
	}
	if err != nil {
		return nil, err
	}
	return newBufConn(c, o.WriteTimeout), nil
}

// bufConn is a net.Conn with a read buffer and writes coalesced for up to
// flushDelay. A write that fails in the background closes the connection,
// so that paho's reader fails and reports it lost, and fails every later
// write. Close sends what waits first. Reads are paho's reader's alone;
// writes may come from any goroutine.
type bufConn struct {
	net.Conn
	r       *bufio.Reader
	timeout time.Duration // bounds each flush

	mu    sync.Mutex
	w     []byte
	timer *time.Timer // flushes w; armed while w holds anything
	armed bool
	err   error
}

func newBufConn(c net.Conn, timeout time.Duration) *bufConn {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	b := &bufConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer), timeout: timeout}
	b.timer = time.AfterFunc(time.Hour, b.flushLater)
	b.timer.Stop()
	return b
}

// Read reads from the buffer, filling it with one read of the connection
// when it is empty.
func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Write queues p; it goes out within flushDelay, or now when flushAt bytes
// wait. An error is that of an earlier flush, or of this one.
func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	b.w = append(b.w, p...)
	if len(b.w) >= flushAt {
		if err := b.flush(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if !b.armed {
		b.armed = true
		b.timer.Reset(flushDelay)
	}
	return len(p), nil
}

// SetWriteDeadline is ignored: a write only queues, and each flush sets a
// deadline of its own.
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline; see SetWriteDeadline.
func (b *bufConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

func (b *bufConn) flushLater() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	if b.err == nil {
		_ = b.flush()
	}
}

// flush writes what waits; b.mu is held.
func (b *bufConn) flush() error {
	if len(b.w) == 0 {
		return nil
	}
	err := b.Conn.SetWriteDeadline(time.Now().Add(b.timeout))
	if err == nil {
		_, err = b.Conn.Write(b.w)
	}
	b.w = b.w[:0]
	if cap(b.w) > keepWriteAt {
		b.w = nil
	}
	if err != nil {
		b.err = err
		_ = b.Conn.Close()
	}
	return err
}

// Close sends what waits, then closes the connection.
func (b *bufConn) Close() error {
	b.mu.Lock()
	b.timer.Stop()
	b.armed = false
	if b.err == nil {
		_ = b.flush()
		b.err = net.ErrClosed
	}
	b.mu.Unlock()
	return b.Conn.Close()
}
