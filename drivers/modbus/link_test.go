package modbus

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the reads and writes of a connection.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(b)
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// serveReplies answers each request read from server with the next reply,
// written in the given pieces (each one Write).
func serveReplies(t *testing.T, server net.Conn, replies ...[][]byte) {
	t.Helper()
	go func() {
		defer server.Close()
		buf := make([]byte, 260)
		for _, pieces := range replies {
			if _, err := server.Read(buf); err != nil {
				return
			}
			for _, p := range pieces {
				if _, err := server.Write(p); err != nil {
					return
				}
			}
		}
	}()
}

// mbap is a Modbus TCP reply of transaction id tid for unit 1: function 4
// and the registers' bytes.
func mbap(tid byte, data ...byte) []byte {
	pdu := append([]byte{4, byte(len(data))}, data...)
	return append([]byte{0, tid, 0, 0, 0, byte(1 + len(pdu)), 1}, pdu...)
}

// TestTCPTransporterOneReadPerReply: a reply that arrives whole is read in
// one read of the socket (goburrow's transporter takes two), one that
// arrives in pieces is put together, and a reply that arrives with the
// next one leaves that one for the next request.
func TestTCPTransporterOneReadPerReply(t *testing.T) {
	client, server := net.Pipe()
	cc := &countingConn{Conn: client}
	r1, r2 := mbap(1, 0x43, 0x66, 0x19, 0x9a), mbap(2, 0, 7)
	r3 := mbap(3, 1, 2, 3, 4)
	serveReplies(t, server, [][]byte{r1}, [][]byte{r2[:5], r2[5:]}, [][]byte{append(append([]byte{}, r3...), mbap(4, 9, 9)...)}, nil)
	tr := &tcpTransporter{link: link{timeout: time.Second, conn: cc}}
	defer tr.Close()
	req := []byte{0, 1, 0, 0, 0, 6, 1, 4, 0, 0, 0, 2}
	for i, c := range []struct {
		want  []byte
		reads int64 // reads of the socket so far
	}{{r1, 1}, {r2, 3}, {r3, 4}, {mbap(4, 9, 9), 4}} {
		resp, err := tr.Send(req)
		if err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
		if string(resp) != string(c.want) {
			t.Errorf("reply %d: % x, want % x", i+1, resp, c.want)
		}
		if n := cc.reads.Load(); n != c.reads {
			t.Errorf("after reply %d: %d reads of the socket, want %d", i+1, n, c.reads)
		}
	}
}

// TestTCPTransporterBadLength: a header whose length no ADU has is an
// error, and the stream, out of step, is dropped.
func TestTCPTransporterBadLength(t *testing.T) {
	for _, length := range []byte{0, 1, 0xff} {
		client, server := net.Pipe()
		serveReplies(t, server, [][]byte{{0, 1, 0, 0, 1, length, 1, 4, 0}})
		tr := &tcpTransporter{link: link{timeout: time.Second, conn: client}}
		_, err := tr.Send([]byte{0, 1, 0, 0, 0, 6, 1, 4, 0, 0, 0, 2})
		if err == nil || !strings.Contains(err.Error(), "length in response header") {
			t.Errorf("length %d: error %v", 256+int(length), err)
		}
		if tr.conn != nil {
			t.Errorf("length %d: socket kept", 256+int(length))
		}
	}
}

// TestLinkIdleRedial: a socket unused for idleTimeout is replaced before
// the next request.
func TestLinkIdleRedial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	l := &link{address: ln.Addr().String(), timeout: time.Second}
	defer l.Close()
	if _, err := l.exchange([]byte{1}); err != nil {
		t.Fatal(err)
	}
	first := l.conn
	if _, err := l.exchange([]byte{2}); err != nil || l.conn != first {
		t.Fatalf("second request: %v, new socket %v", err, l.conn != first)
	}
	l.used = l.used.Add(-idleTimeout)
	if _, err := l.exchange([]byte{3}); err != nil || l.conn == first {
		t.Fatalf("after idle: %v, same socket %v", err, l.conn == first)
	}
	for range 2 {
		(<-accepted).Close()
	}
}
