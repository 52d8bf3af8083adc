package modbus

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// FuzzDecodeResponse feeds arbitrary response bytes to the decoding of a
// planned request of every kind of point: no panic, one sample per point,
// and a response shorter than asked for is refused rather than read.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte{0x42, 0xF6, 0xE9, 0x79, 0, 1, 0xFF, 0xFF}, false)
	f.Add([]byte{0xFF}, true)
	f.Add([]byte{}, false)
	prof := &drivers.Profile{Type: "t", Points: []drivers.Point{
		{Name: "f", Register: drivers.Holding, Address: 0, Type: drivers.TypeFloat32, ByteOrder: drivers.CDAB},
		{Name: "i", Register: drivers.Holding, Address: 2, Type: drivers.TypeInt16, Scale: 0.1},
		{Name: "e", Register: drivers.Holding, Address: 3, Type: drivers.TypeUint16, Enum: map[int64]string{1: "one"}},
		{Name: "b", Register: drivers.Holding, Address: 3, Type: drivers.TypeBit, Bit: 15},
		{Name: "s", Register: drivers.Holding, Address: 4, Type: drivers.TypeString, Length: 3},
		{Name: "q", Register: drivers.Holding, Address: 7, Type: drivers.TypeUint64},
		{Name: "c0", Register: drivers.Coil, Address: 0, Type: drivers.TypeBool},
		{Name: "c9", Register: drivers.Coil, Address: 9, Type: drivers.TypeBool},
	}}
	d, err := newDevice(Device{ID: "d", Profile: prof, Config: Config{Address: "x:1"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, bits bool) {
		r := &d.requests[0]
		if bits {
			r = &d.requests[1]
		}
		d.samples = d.samples[:0]
		var res pollResult
		err := d.decodeRequest(r, data, time.Time{}, &res)
		need := 2 * int(r.Quantity)
		if bits {
			need = (int(r.Quantity) + 7) / 8
		}
		switch {
		case len(data) < need && err == nil:
			t.Fatalf("%d bytes for %s decoded", len(data), r)
		case len(data) >= need && (err != nil || len(d.samples) != len(r.Points)):
			t.Fatalf("%d bytes for %s: %v, %d samples", len(data), r, err, len(d.samples))
		}
	})
}

// FuzzPlan plans arbitrary points: no panic, and every request stays in its
// limits and holds its points.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{0, 0, 3, 0, 2, 5, 1, 1, 9}, uint8(10), uint8(0))
	f.Add([]byte{2, 0xFF, 0xFF, 3, 0, 0}, uint8(0), uint8(4))
	f.Fuzz(func(t *testing.T, spec []byte, gap, maxRegs uint8) {
		types := []drivers.DataType{drivers.TypeUint16, drivers.TypeFloat32, drivers.TypeFloat64, drivers.TypeBit, drivers.TypeString}
		prof := &drivers.Profile{Type: "t"}
		for i := 0; i+2 < len(spec) && len(prof.Points) < 64; i += 3 {
			kind := drivers.RegisterKind(drivers.RegisterKinds[int(spec[i])%4])
			p := drivers.Point{Name: string(rune('a' + len(prof.Points))), Register: kind, Address: uint32(spec[i+1])<<8 | uint32(spec[i+2])}
			p.Type = types[int(spec[i])/4%len(types)]
			if kind.IsBit() {
				p.Type = drivers.TypeBool
			}
			if p.Type == drivers.TypeString {
				p.Length = 1 + int(spec[i+2])%8
			}
			prof.Points = append(prof.Points, p)
		}
		if len(prof.Points) == 0 {
			return
		}
		reqs, err := Plan(prof, PlanOptions{MaxGap: int(gap), MaxRegisters: int(maxRegs)})
		if err != nil {
			return
		}
		limit := int(maxRegs)
		if limit == 0 || limit > MaxRegisters {
			limit = MaxRegisters
		}
		n := 0
		for _, r := range reqs {
			lim := limit
			if r.Register.IsBit() {
				lim = MaxBits
			}
			if int(r.Quantity) > lim || r.Quantity == 0 || int(r.Address)+int(r.Quantity) > 1<<16 {
				t.Fatalf("request %s out of limits", &r)
			}
			for _, pp := range r.Points {
				if pp.Offset < 0 || pp.Offset+pointSpan(&pp.Point) > int(r.Quantity) {
					t.Fatalf("point %s at %d outside %s", pp.Point.Name, pp.Offset, &r)
				}
				n++
			}
		}
		if n != len(prof.Points) {
			t.Fatalf("%d points planned of %d", n, len(prof.Points))
		}
	})
}

// FuzzRTUResponse feeds arbitrary bytes as a gateway's answer to an RTU
// over TCP read: the transporter returns one frame or an error, never
// panics, never returns more than the frame.
func FuzzRTUResponse(f *testing.F) {
	f.Add(withCRC([]byte{1, 3, 4, 0, 1, 0, 2}))
	f.Add(withCRC([]byte{1, 0x83, 2}))
	f.Add([]byte{1, 0x2B, 0})
	f.Add([]byte{1, 3, 0xFF})
	f.Fuzz(func(t *testing.T, answer []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			defer server.Close()
			buf := make([]byte, 8)
			server.Read(buf)
			server.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			server.Write(answer)
		}()
		tr := &rtuTCPTransporter{link: link{timeout: 50 * time.Millisecond, conn: client}}
		resp, err := tr.Send(withCRC([]byte{1, 3, 0, 0, 0, 2}))
		if err == nil && (len(resp) < 5 || len(resp) > len(answer) || len(resp) > 256) {
			t.Fatalf("frame of %d bytes from %d", len(resp), len(answer))
		}
	})
}

// streamConn plays a gateway's socket for FuzzReadPipelined: reads come
// from the stream, writes go nowhere.
type streamConn struct{ r *bytes.Reader }

func (c streamConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c streamConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c streamConn) Close() error                     { return nil }
func (c streamConn) LocalAddr() net.Addr              { return nil }
func (c streamConn) RemoteAddr() net.Addr             { return nil }
func (c streamConn) SetDeadline(time.Time) error      { return nil }
func (c streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c streamConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzReadPipelined: whatever a gateway sends back to two pipelined reads
// (input 0+2 and holding 10+1 of unit 1), readPipelined does not panic,
// reads whole replies only, hands each one back as data or as an error,
// and returns an error whenever it read fewer than both.
func FuzzReadPipelined(f *testing.F) {
	f.Add(append(mbap(1, 0x43, 0x66, 0x19, 0x9a), 0, 2, 0, 0, 0, 5, 1, 3, 2, 0, 7))
	f.Add(append(mbap(1, 0x43, 0x66, 0x19, 0x9a), 0, 2, 0, 0, 0, 3, 1, 0x83, 2))
	f.Add(mbap(1, 0x43, 0x66))
	f.Add([]byte{0, 1, 0, 0, 0, 0xff, 1, 4})
	rs := []*Request{{Register: drivers.Input, Address: 0, Quantity: 2}, {Register: drivers.Holding, Address: 10, Quantity: 1}}
	f.Fuzz(func(t *testing.T, stream []byte) {
		c := newConn(Config{Transport: TCP, Address: "fuzz", Timeout: time.Second}).(*tcpConn)
		c.SetUnit(1, time.Second)
		c.t.conn = streamConn{bytes.NewReader(stream)}
		var out [2]piped
		n, _, _, err := c.readPipelined(rs, out[:])
		if n < 0 || n > 2 || (err == nil) != (n == 2) {
			t.Fatalf("%d replies, error %v", n, err)
		}
		for i := range n {
			if (out[i].data == nil) == (out[i].err == nil) || len(out[i].data) > 2*125 {
				t.Fatalf("reply %d: % x, %v", i, out[i].data, out[i].err)
			}
		}
	})
}
