package mqttconn

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// countedConn counts the reads and writes of a connection; writes fail
// with failWrites set.
type countedConn struct {
	net.Conn
	reads, writes atomic.Int64
	failWrites    atomic.Bool
}

func (c *countedConn) Read(p []byte) (int, error) { c.reads.Add(1); return c.Conn.Read(p) }
func (c *countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	if c.failWrites.Load() {
		return 0, errors.New("broken pipe")
	}
	return c.Conn.Write(p)
}

// tcpPair is both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestBufConnCoalescesWrites: a burst of small writes (PUBACKs) leaves in
// one write of the socket, within about flushDelay, and in order.
func TestBufConnCoalescesWrites(t *testing.T) {
	client, server := tcpPair(t)
	cc := &countedConn{Conn: client}
	b := newBufConn(cc, time.Second)
	var want []byte
	for i := range 100 {
		ack := []byte{0x40, 2, 0, byte(i)}
		want = append(want, ack...)
		if n, err := b.Write(ack); n != 4 || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	got := make([]byte, len(want))
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("bytes out of order")
	}
	if n := cc.writes.Load(); n > 2 {
		t.Errorf("%d writes of the socket for 100 acks", n)
	}
	// What waits at Close goes out before the socket closes.
	b.Write([]byte{0xe0, 0}) // DISCONNECT
	b.Close()
	rest, err := io.ReadAll(server)
	if err != nil || string(rest) != "\xe0\x00" {
		t.Errorf("after Close: % x, %v", rest, err)
	}
}

// TestBufConnReadsInBulk: packets that arrive together are read byte by
// byte, as paho reads headers, from one read of the socket.
func TestBufConnReadsInBulk(t *testing.T) {
	client, server := tcpPair(t)
	cc := &countedConn{Conn: client}
	b := newBufConn(cc, time.Second)
	var burst []byte
	for i := range 50 {
		burst = append(burst, 0x32, 5, 0, 1, 't', 0, byte(i)) // PUBLISH QoS 1
	}
	if _, err := server.Write(burst); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, len(burst))
	for len(got) < len(burst) {
		var one [1]byte
		if _, err := io.ReadFull(b, one[:]); err != nil {
			t.Fatal(err)
		}
		got = append(got, one[0])
	}
	if string(got) != string(burst) {
		t.Error("bytes differ")
	}
	if n := cc.reads.Load(); n > 2 {
		t.Errorf("%d reads of the socket for one burst", n)
	}
}

// TestBufConnFlushFailure: a write that fails in the background closes the
// socket (paho's reader then reports the connection lost) and fails every
// later write.
func TestBufConnFlushFailure(t *testing.T) {
	client, _ := tcpPair(t)
	cc := &countedConn{Conn: client}
	cc.failWrites.Store(true)
	b := newBufConn(cc, time.Second)
	if _, err := b.Write([]byte{0x40, 2, 0, 1}); err != nil {
		t.Fatalf("queued write: %v", err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the failed flush: %v, want the socket closed", err)
	}
	if _, err := b.Write([]byte{0x40, 2, 0, 2}); err == nil {
		t.Error("write after a failed flush succeeded")
	}
}
