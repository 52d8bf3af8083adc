package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// fakeUnit is one device behind a fakeConn.
type fakeUnit struct {
	regs   []uint16        // holding and input registers from address 0
	coils  []bool          // coils and discrete inputs from address 0
	refuse map[uint16]bool // registers (or bits) a read must not touch: exception 2
	maxQty int             // longest read answered; longer ones get exception 2
	delay  time.Duration   // how long each request takes
	fail   error           // returned after delay, if set
	busy   int             // how many requests answer exception 6 first
	log    []string        // requests as "fc addr+qty"
}

// fakeConn is a conn served from memory; time passes in time.Sleep, so
// tests run it inside a synctest bubble.
type fakeConn struct {
	mu       sync.Mutex
	units    map[uint8]*fakeUnit
	unit     uint8
	timeout  time.Duration
	calls    map[uint8]int
	closes   int
	inflight int
	overlaps int // requests started while another was running
}

var _ conn = (*fakeConn)(nil)

func newFakeConn(units map[uint8]*fakeUnit) *fakeConn {
	return &fakeConn{units: units, calls: map[uint8]int{}}
}

func (c *fakeConn) factory(Config) conn { return c }

func (c *fakeConn) SetUnit(unit uint8, timeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unit, c.timeout = unit, timeout
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	return nil
}

func (c *fakeConn) read(addr, qty uint16, fc byte) ([]byte, error) {
	c.mu.Lock()
	c.inflight++
	if c.inflight > 1 {
		c.overlaps++
	}
	c.calls[c.unit]++
	u := c.units[c.unit]
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight--
		c.mu.Unlock()
	}()
	if u == nil {
		time.Sleep(c.timeout)
		return nil, errors.New("i/o timeout")
	}
	time.Sleep(u.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	u.log = append(u.log, fmt.Sprintf("%d %d+%d", fc, addr, qty))
	exc := func(code byte) error { return &modbus.ModbusError{FunctionCode: fc | 0x80, ExceptionCode: code} }
	size := len(u.regs)
	if fc <= 2 {
		size = len(u.coils)
	}
	switch {
	case u.fail != nil:
		return nil, u.fail
	case u.busy > 0:
		u.busy--
		return nil, exc(modbus.ExceptionCodeServerDeviceBusy)
	case int(addr)+int(qty) > size || (u.maxQty > 0 && int(qty) > u.maxQty):
		return nil, exc(modbus.ExceptionCodeIllegalDataAddress)
	}
	for a := int(addr); a < int(addr)+int(qty); a++ {
		if u.refuse[uint16(a)] {
			return nil, exc(modbus.ExceptionCodeIllegalDataAddress)
		}
	}
	if fc <= 2 {
		b := make([]byte, (qty+7)/8)
		for i := range int(qty) {
			if u.coils[int(addr)+i] {
				b[i/8] |= 1 << (i % 8)
			}
		}
		return b, nil
	}
	b := make([]byte, 2*qty)
	for i := range int(qty) {
		binary.BigEndian.PutUint16(b[2*i:], u.regs[int(addr)+i])
	}
	return b, nil
}

func (c *fakeConn) ReadHoldingRegisters(addr, qty uint16) ([]byte, error) {
	return c.read(addr, qty, 3)
}
func (c *fakeConn) ReadInputRegisters(addr, qty uint16) ([]byte, error) { return c.read(addr, qty, 4) }
func (c *fakeConn) ReadCoils(addr, qty uint16) ([]byte, error)          { return c.read(addr, qty, 1) }
func (c *fakeConn) ReadDiscreteInputs(addr, qty uint16) ([]byte, error) { return c.read(addr, qty, 2) }

// write stores registers (or coils, fc 5) of the current unit.
func (c *fakeConn) write(fc byte, addr uint16, regs []uint16) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.units[c.unit]
	if u == nil {
		return nil, errors.New("i/o timeout")
	}
	u.log = append(u.log, fmt.Sprintf("%d %d+%d", fc, addr, len(regs)))
	if fc == 5 {
		if int(addr) >= len(u.coils) {
			return nil, &modbus.ModbusError{FunctionCode: fc | 0x80, ExceptionCode: modbus.ExceptionCodeIllegalDataAddress}
		}
		u.coils[addr] = regs[0] == 0xFF00
		return nil, nil
	}
	if int(addr)+len(regs) > len(u.regs) {
		return nil, &modbus.ModbusError{FunctionCode: fc | 0x80, ExceptionCode: modbus.ExceptionCodeIllegalDataAddress}
	}
	copy(u.regs[addr:], regs)
	return nil, nil
}

func (c *fakeConn) WriteSingleCoil(addr, value uint16) ([]byte, error) {
	return c.write(5, addr, []uint16{value})
}
func (c *fakeConn) WriteSingleRegister(addr, value uint16) ([]byte, error) {
	return c.write(6, addr, []uint16{value})
}
func (c *fakeConn) WriteMultipleRegisters(addr, qty uint16, value []byte) ([]byte, error) {
	regs := make([]uint16, qty)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(value[2*i:])
	}
	return c.write(16, addr, regs)
}

// requests returns the log of the requests unit got.
func (c *fakeConn) requests(unit uint8) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.units[unit].log)
}

// collector is a Sink that keeps a copy of everything put into it.
type collector struct {
	mu   sync.Mutex
	puts [][]drivers.Sample
	ch   chan []drivers.Sample // if set, every put is also sent here
}

func (c *collector) Put(ctx context.Context, samples []drivers.Sample) {
	cp := append([]drivers.Sample(nil), samples...)
	c.mu.Lock()
	c.puts = append(c.puts, cp)
	c.mu.Unlock()
	if c.ch != nil {
		select {
		case c.ch <- cp:
		case <-ctx.Done():
		}
	}
}

// series returns every sample of one device's point in order.
func (c *collector) series(device, point string) []drivers.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []drivers.Sample
	for _, put := range c.puts {
		for _, s := range put {
			if s.Device == device && s.Point == point {
				out = append(out, s)
			}
		}
	}
	return out
}

// runFor runs the poller for d and returns once Run has returned.
func runFor(t *testing.T, p *Poller, sink drivers.Sink, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, sink) }()
	time.Sleep(d)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// testProfile is a small pump profile over holding registers 0..5.
func testProfile() *drivers.Profile {
	return &drivers.Profile{Type: "pump", Points: []drivers.Point{
		{Name: "pressure", Register: drivers.Holding, Address: 0, Type: drivers.TypeFloat32},
		{Name: "temperature", Register: drivers.Holding, Address: 2, Type: drivers.TypeInt16, Scale: 0.1},
		{Name: "running", Register: drivers.Holding, Address: 3, Type: drivers.TypeBit, Bit: 1},
		{Name: "mode", Register: drivers.Holding, Address: 4, Type: drivers.TypeUint16, Enum: map[int64]string{0: "off", 1: "hand", 2: "auto"}},
		{Name: "starts", Register: drivers.Holding, Address: 5, Type: drivers.TypeUint16},
	}}
}

// testRegs holds pressure 4.25, temperature 21.5, running, mode auto, 7 starts.
func testRegs() []uint16 { return []uint16{0x4088, 0x0000, 215, 0x0002, 2, 7} }

func tcpDevice(id string, unit uint8, addr string, interval, timeout time.Duration) Device {
	return Device{ID: id, Profile: testProfile(), Config: Config{
		Address: addr, Transport: TCP, UnitID: unit, Interval: interval, Timeout: timeout,
	}}
}

// checkPump asserts the values of one poll of a testProfile device.
func checkPump(t *testing.T, samples []drivers.Sample, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, s := range samples {
		if s.Measurement != "pump" {
			t.Errorf("sample %s has measurement %q", s.Point, s.Measurement)
		}
		if s.Quality != drivers.Good {
			t.Errorf("sample %s: quality %s", s.Point, s.Quality)
		}
		got[s.Point] = s.Value.String()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

var pumpValues = map[string]string{"pressure": "4.25", "temperature": "21.5", "running": "true", "mode": "auto", "starts": "7"}
