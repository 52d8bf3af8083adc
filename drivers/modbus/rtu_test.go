package modbus

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// crc16 is the Modbus RTU checksum.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func withCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint16(b, crc16(b))
}

// rtuGateway is a serial-to-Ethernet gateway on loopback speaking RTU over
// TCP. Unit 1 answers holding reads in two TCP segments, unit 2 answers
// after late (past the client's timeout), unit 3 answers exception 2.
type rtuGateway struct {
	addr  string
	late  time.Duration
	regs  map[byte][]uint16
	conns sync.WaitGroup
}

func newRTUGateway(t *testing.T, late time.Duration) *rtuGateway {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	regs2 := testRegs()
	regs2[5] = 99 // a late reply must never pass for unit 1's
	g := &rtuGateway{addr: l.Addr().String(), late: late, regs: map[byte][]uint16{1: testRegs(), 2: regs2}}
	done := make(chan struct{})
	var open sync.Map
	t.Cleanup(func() {
		close(done)
		l.Close()
		open.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		g.conns.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			open.Store(c, true)
			g.conns.Go(func() { g.serve(c, done) })
		}
	}()
	return g
}

func (g *rtuGateway) serve(c net.Conn, done chan struct{}) {
	defer c.Close()
	for {
		var req [8]byte
		if _, err := io.ReadFull(c, req[:]); err != nil {
			return
		}
		if crc16(req[:6]) != binary.LittleEndian.Uint16(req[6:]) {
			return
		}
		unit, fc := req[0], req[1]
		addr, qty := binary.BigEndian.Uint16(req[2:]), binary.BigEndian.Uint16(req[4:])
		regs := g.regs[unit]
		if fc != 3 || unit == 3 || int(addr)+int(qty) > len(regs) {
			c.Write(withCRC([]byte{unit, fc | 0x80, 2}))
			continue
		}
		resp := []byte{unit, fc, byte(2 * qty)}
		for _, r := range regs[addr : addr+qty] {
			resp = binary.BigEndian.AppendUint16(resp, r)
		}
		resp = withCRC(resp)
		if unit == 2 {
			select {
			case <-time.After(g.late):
			case <-done:
				return
			}
		}
		c.Write(resp[:2])
		time.Sleep(2 * time.Millisecond)
		c.Write(resp[2:])
	}
}

func rtuDevice(id string, unit uint8, addr string) Device {
	return Device{ID: id, Profile: testProfile(), Config: Config{
		Address: addr, Transport: RTUOverTCP, UnitID: unit, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond,
	}}
}

func TestRTUOverTCPReadOnce(t *testing.T) {
	g := newRTUGateway(t, 200*time.Millisecond)
	ctx := context.Background()

	samples, err := ReadOnce(ctx, rtuDevice("p1", 1, g.addr))
	if err != nil {
		t.Fatal(err)
	}
	checkPump(t, samples, pumpValues)

	samples, err = ReadOnce(ctx, rtuDevice("p3", 3, g.addr))
	if err == nil || !strings.Contains(err.Error(), `device "p3": point "pressure" (holding 0x0000): refused by the device (modbus: exception '2' (illegal data address)`) {
		t.Errorf("exception: err = %v", err)
	}
	if len(samples) != 5 || samples[0].Quality != drivers.Bad {
		t.Errorf("exception: samples = %+v, want 5 Bad", samples)
	}

	samples, err = ReadOnce(ctx, rtuDevice("p2", 2, g.addr))
	if err == nil || !strings.Contains(err.Error(), "timeout") || samples != nil {
		t.Errorf("late device: %v, %v", samples, err)
	}
}

// TestRTUOverTCPLateReply: RTU frames carry no transaction id, so a late
// reply left in the socket would pass for the next device's answer. The
// poller drops the link after a timeout; the healthy device must read its
// own values every cycle.
func TestRTUOverTCPLateReply(t *testing.T) {
	g := newRTUGateway(t, 80*time.Millisecond)
	p, err := New([]Device{rtuDevice("late", 2, g.addr), rtuDevice("ok", 1, g.addr)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &collector{}
	runFor(t, p, sink, 550*time.Millisecond)

	starts := sink.series("ok", "starts")
	if len(starts) < 5 {
		t.Errorf("healthy device polled %d times in 6 cycles", len(starts))
	}
	for _, s := range starts {
		if s.Value.I != 7 || s.Quality != drivers.Good {
			t.Errorf("healthy device read starts=%v (%s): another unit's reply?", s.Value, s.Quality)
		}
	}
	if st := p.States(); st["late"].Status != drivers.StatusOffline || st["ok"].Status != drivers.StatusOnline {
		t.Errorf("states = %+v", st)
	}
}
