package modbus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// answer is the reply to one read request ADU: each register holds its
// own address, and address 100 is refused with exception 2.
func answer(req []byte) []byte {
	fc := req[7]
	addr, qty := binary.BigEndian.Uint16(req[8:]), binary.BigEndian.Uint16(req[10:])
	pdu := []byte{fc, byte(2 * qty)}
	if addr == 100 {
		pdu = []byte{fc | 0x80, modbus.ExceptionCodeIllegalDataAddress}
	} else {
		for i := range qty {
			pdu = binary.BigEndian.AppendUint16(pdu, addr+i)
		}
	}
	adu := append([]byte{}, req[:4]...)
	adu = binary.BigEndian.AppendUint16(adu, uint16(1+len(pdu)))
	return append(append(adu, req[6]), pdu...)
}

// TestReadPipelined: three reads go out in one write, and each reply is
// checked and handed back as goburrow's client would: the registers, or
// the exception.
func TestReadPipelined(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		server, err := ln.Accept()
		if err != nil {
			return
		}
		defer server.Close()
		var req [readRequestADU]byte
		for {
			if _, err := io.ReadFull(server, req[:]); err != nil {
				return
			}
			if _, err := server.Write(answer(req[:])); err != nil {
				return
			}
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: client}
	c := newConn(Config{Transport: TCP, Address: "unused", Timeout: time.Second}).(*tcpConn)
	c.t.conn = cc
	defer c.Close()
	c.SetUnit(7, time.Second)
	rs := []*Request{{Register: drivers.Input, Address: 0, Quantity: 3}, {Register: drivers.Holding, Address: 100, Quantity: 1}, {Register: drivers.Holding, Address: 342, Quantity: 2}}
	out := make([]piped, len(rs))
	n, sent, _, err := c.readPipelined(rs, out)
	if err != nil || n != 3 || !sent {
		t.Fatalf("readPipelined: %d replies, sent %v, %v", n, sent, err)
	}
	if w := cc.writes.Load(); w != 1 {
		t.Errorf("%d writes for three requests, want 1", w)
	}
	if !bytes.Equal(out[0].data, []byte{0, 0, 0, 1, 0, 2}) || out[0].err != nil {
		t.Errorf("first reply: % x, %v", out[0].data, out[0].err)
	}
	var me *modbus.ModbusError
	if !errors.As(out[1].err, &me) || me.ExceptionCode != modbus.ExceptionCodeIllegalDataAddress || out[1].data != nil {
		t.Errorf("second reply: % x, %v; want exception 2", out[1].data, out[1].err)
	}
	if !bytes.Equal(out[2].data, []byte{0x01, 0x56, 0x01, 0x57}) || out[2].err != nil {
		t.Errorf("third reply: % x, %v", out[2].data, out[2].err)
	}
	if !c.proven() || !c.pipelined() {
		t.Errorf("after a whole exchange: proven %v, pipelined %v", c.proven(), c.pipelined())
	}
}

// requestServer is a Modbus TCP server on loopback that answers reads by
// answer. One that pipelines answers every request a read of its socket
// brings; one that does not, like a small gateway, answers only the first
// (answerFirst) or none of them (answerNone) when a read brings several. It
// counts the requests each read brought.
type requestServer struct {
	ln      net.Listener
	mode    int
	mu      sync.Mutex
	perRead []int // requests each read of a socket brought
}

const (
	answerAll = iota
	answerFirst
	answerNone
)

func startRequestServer(t *testing.T, mode int) *requestServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &requestServer{ln: ln, mode: mode}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *requestServer) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		k := n / readRequestADU
		s.mu.Lock()
		s.perRead = append(s.perRead, k)
		s.mu.Unlock()
		switch {
		case k > 1 && s.mode == answerFirst:
			k = 1
		case k > 1 && s.mode == answerNone:
			k = 0
		}
		for i := range k {
			if _, err := c.Write(answer(buf[i*readRequestADU : (i+1)*readRequestADU])); err != nil {
				return
			}
		}
	}
}

func (s *requestServer) reads() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.perRead...)
}

// twoSpanDevice is a meter of two points far apart: two reads a poll.
func twoSpanDevice(addr string, interval, timeout time.Duration) Device {
	return twoSpanUnit("meter", 1, addr, interval, timeout)
}

func twoSpanUnit(id string, unit uint8, addr string, interval, timeout time.Duration) Device {
	return Device{ID: id, Profile: &drivers.Profile{Type: "energy_meter", Points: []drivers.Point{
		{Name: "low", Register: drivers.Input, Address: 0, Type: drivers.TypeUint16},
		{Name: "high", Register: drivers.Input, Address: 342, Type: drivers.TypeUint16},
	}}, Config: Config{Address: addr, Transport: TCP, UnitID: unit, Interval: interval, Timeout: timeout}}
}

// checkTwoSpans asserts that every poll read both points, Good, with the
// values the server gives them.
func checkTwoSpans(t *testing.T, sink *collector, polls int) {
	t.Helper()
	checkTwoSpansOf(t, sink, "meter", polls)
}

func checkTwoSpansOf(t *testing.T, sink *collector, id string, polls int) {
	t.Helper()
	for point, want := range map[string]float64{"low": 0, "high": 342} {
		got := sink.series(id, point)
		if len(got) < polls {
			t.Errorf("%s %s read %d times, want at least %d", id, point, len(got), polls)
		}
		for _, s := range got {
			if s.Quality != drivers.Good || s.Value.Float64() != want {
				t.Errorf("%s %s: %+v, want %v Good", id, point, s, want)
			}
		}
	}
}

// TestPollPipelines: a device that answers gets its two reads in one
// exchange from its second poll on (the first asks one request first, as
// for a device not known to answer).
func TestPollPipelines(t *testing.T) {
	srv := startRequestServer(t, answerAll)
	const interval, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	p, err := New([]Device{twoSpanDevice(srv.ln.Addr().String(), interval, timeout)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sink := &collector{}
	runFor(t, p, sink, 6*interval-interval/2)
	checkTwoSpans(t, sink, 3) // 6 ticks; a loaded CI box may skip some
	reads := srv.reads()
	if len(reads) < 4 || reads[0] != 1 || reads[1] != 1 {
		t.Fatalf("requests per read of the socket: %v, want 1, 1 then 2s", reads)
	}
	for _, k := range reads[2:] {
		if k != 2 {
			t.Errorf("requests per read of the socket: %v, want 1, 1 then 2s", reads)
			break
		}
	}
	checkCounted(t, p, reads)
}

// checkCounted asserts that the devices' request counts add up to what the
// server received.
func checkCounted(t *testing.T, p *Poller, reads []int) {
	t.Helper()
	got := 0
	for _, k := range reads {
		got += k
	}
	var n int64
	for _, st := range p.States() {
		n += st.Requests
	}
	if n != int64(got) {
		t.Errorf("%d requests counted, the server received %d (%v)", n, got, reads)
	}
}

// captureLog is a logger and what it has logged so far.
func captureLog() (*slog.Logger, func() string) {
	var logged bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(b)
	}), nil))
	return logger, func() string {
		mu.Lock()
		defer mu.Unlock()
		return logged.String()
	}
}

// TestPollFallsBackToOneAtATime: a gateway that answers the first of
// pipelined requests and drops the rest, or drops them all, costs no
// reading, not even in the poll that finds it out: the request without a
// reply is read again alone, the gateway is logged once and polled one
// request at a time from then on.
func TestPollFallsBackToOneAtATime(t *testing.T) {
	for name, mode := range map[string]int{"answers the first": answerFirst, "answers none": answerNone} {
		t.Run(name, func(t *testing.T) { testFallBack(t, mode) })
	}
}

func testFallBack(t *testing.T, mode int) {
	srv := startRequestServer(t, mode)
	const interval, timeout = 200 * time.Millisecond, 60 * time.Millisecond
	logger, logged := captureLog()
	p, err := New([]Device{twoSpanDevice(srv.ln.Addr().String(), interval, timeout)}, logger)
	if err != nil {
		t.Fatal(err)
	}
	sink := &collector{}
	runFor(t, p, sink, 6*interval-interval/2)
	checkTwoSpans(t, sink, 3) // 6 ticks; a loaded CI box may skip some
	reads := srv.reads()
	pipelined := 0
	for _, k := range reads {
		if k > 1 {
			pipelined++
		}
	}
	if pipelined != 1 {
		t.Errorf("requests per read of the socket: %v, want one pipelined exchange", reads)
	}
	if n := strings.Count(logged(), "does not answer pipelined requests"); n != 1 {
		t.Errorf("logged %d times that the gateway does not pipeline, want 1:\n%s", n, logged())
	}
	if st := p.States()["meter"]; st.Status != drivers.StatusOnline {
		t.Errorf("meter state %+v, want online", st)
	}
	checkCounted(t, p, reads)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestPollGangs: two meters of one gateway due on the same tick are read in
// one exchange (four requests in one write, the unit ids keeping the
// replies apart) once both answer; each gets its own readings, and every
// request is counted once. Against a gateway that takes two pipelined
// requests and not four (answerFirst answers one of several), the first
// ganged exchange fails, no reading is lost and the gateway is not ganged
// again.
func TestPollGangs(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 60 * time.Millisecond
	for _, c := range []struct {
		name string
		mode int
	}{{"gateway that pipelines", answerAll}, {"gateway that does not", answerFirst}} {
		t.Run(c.name, func(t *testing.T) {
			srv := startRequestServer(t, c.mode)
			addr := srv.ln.Addr().String()
			logger, logged := captureLog()
			p, err := New([]Device{twoSpanUnit("m1", 1, addr, interval, timeout), twoSpanUnit("m2", 2, addr, interval, timeout)}, logger)
			if err != nil {
				t.Fatal(err)
			}
			sink := &collector{}
			runFor(t, p, sink, 8*interval-interval/2)
			checkTwoSpansOf(t, sink, "m1", 4) // 8 ticks; a loaded CI box may skip some
			checkTwoSpansOf(t, sink, "m2", 4)
			reads := srv.reads()
			fours := 0
			for _, k := range reads {
				if k == 4 {
					fours++
				}
			}
			checkCounted(t, p, reads)
			gangLogs := strings.Count(logged(), "in one exchange: one device an exchange from now on")
			if want := map[int]int{answerAll: 0, answerFirst: 1}[c.mode]; gangLogs != want {
				t.Errorf("logged %d times that ganging stopped, want %d", gangLogs, want)
			}
			switch c.mode {
			case answerAll:
				if fours < 3 {
					t.Errorf("requests per read of the socket: %v, want the two meters' four together from their second poll on", reads)
				}
			case answerFirst:
				if fours != 1 {
					t.Errorf("requests per read of the socket: %v, want one ganged exchange, the first", reads)
				}
			}
		})
	}
}
