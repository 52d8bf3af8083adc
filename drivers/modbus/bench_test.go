package modbus

import (
	"context"
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// benchConn answers every read at once from two fixed tables, handing out
// a fresh response buffer per read as goburrow does. It measures the
// poller's own cost: planning, decoding, samples, health, scheduling.
type benchConn struct {
	regs  [1 << 10]uint16
	reads int
}

func (c *benchConn) regsAt(addr, qty uint16) ([]byte, error) {
	c.reads++
	b := make([]byte, 2*int(qty))
	for i := range int(qty) {
		binary.BigEndian.PutUint16(b[2*i:], c.regs[(int(addr)+i)%len(c.regs)])
	}
	return b, nil
}
func (c *benchConn) ReadHoldingRegisters(a, q uint16) ([]byte, error) { return c.regsAt(a, q) }
func (c *benchConn) ReadInputRegisters(a, q uint16) ([]byte, error)   { return c.regsAt(a, q) }
func (c *benchConn) ReadCoils(a, q uint16) ([]byte, error) {
	c.reads++
	return make([]byte, (q+7)/8), nil
}
func (c *benchConn) ReadDiscreteInputs(a, q uint16) ([]byte, error) { return c.ReadCoils(a, q) }
func (c *benchConn) WriteSingleCoil(a, v uint16) ([]byte, error)    { return nil, nil }
func (c *benchConn) WriteSingleRegister(a, v uint16) ([]byte, error) {
	return nil, nil
}
func (c *benchConn) WriteMultipleRegisters(a, q uint16, v []byte) ([]byte, error) {
	return nil, nil
}
func (c *benchConn) SetUnit(uint8, time.Duration) {}
func (c *benchConn) Close() error                 { return nil }

func newBenchConn() *benchConn {
	c := &benchConn{}
	for i := 0; i < len(c.regs); i += 2 {
		c.regs[i], c.regs[i+1] = 0x4366, 0x199a // 230.1 as float32 ABCD
	}
	return c
}

// referenceMeter is the three-phase meter of equipment.md: 17 float32
// input registers in three reads.
func referenceMeter() *drivers.Profile {
	p := &drivers.Profile{Type: "energy_meter"}
	for i, a := range []uint32{0x00, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0E, 0x10, 0x34, 0x3E, 0x46, 0x48, 0x4A, 0x54, 0x56, 0x156} {
		p.Points = append(p.Points, drivers.Point{Name: fmt.Sprintf("p%d", i), Register: drivers.Input, Address: a, Type: drivers.TypeFloat32})
	}
	return p
}

// fortyPoints is a typical 40-point device: 24 float32 measurements, 8
// scaled integers and 8 status bits, in two reads.
func fortyPoints() *drivers.Profile {
	p := &drivers.Profile{Type: "ahu"}
	for i := range 24 {
		p.Points = append(p.Points, drivers.Point{Name: fmt.Sprintf("f%d", i), Register: drivers.Input, Address: uint32(2 * i), Type: drivers.TypeFloat32})
	}
	for i := range 8 {
		p.Points = append(p.Points, drivers.Point{Name: fmt.Sprintf("i%d", i), Register: drivers.Holding, Address: uint32(i), Type: drivers.TypeInt16, Scale: 0.1})
		p.Points = append(p.Points, drivers.Point{Name: fmt.Sprintf("b%d", i), Register: drivers.Holding, Address: 8, Type: drivers.TypeBit, Bit: i})
	}
	return p
}

// benchCycles runs b.N cycles over n devices of profile prof, each op one
// full cycle (every device polled once, samples and health put into a sink
// that drops them), and reports requests, samples and CPU per cycle. CPU%
// is the cycle's CPU time against a 1 s interval on one core.
func benchCycles(b *testing.B, n int, prof func() *drivers.Profile) {
	devs := make([]Device, n)
	for i := range devs {
		devs[i] = Device{ID: fmt.Sprintf("d%d", i), Profile: prof(), Config: Config{Address: "gw:502", UnitID: uint8(i%247 + 1), Interval: time.Second}}
	}
	p, err := New(devs, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := newBenchConn()
	var samples int
	sink := drivers.SinkFunc(func(_ context.Context, s []drivers.Sample) { samples += len(s) })
	ctx := context.Background()
	var all []*device
	for _, g := range p.gateways {
		all = append(all, g.devices...)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		now := time.Now()
		for _, d := range all {
			d.next = now
			p.cycle(ctx, c, d, sink)
		}
	}
	cpu := cpuTime() - cpu0
	ops := float64(b.N)
	b.ReportMetric(float64(c.reads)/ops, "requests/cycle")
	b.ReportMetric(float64(samples)/ops, "samples/cycle")
	b.ReportMetric(float64(cpu.Nanoseconds())/ops/float64(time.Second)*100, "cpu%@1s")
}

// cpuTime is the CPU (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Benchmark200MetersOneGateway is the reference meter ×200 behind one
// gateway, polled at 1 s.
func Benchmark200MetersOneGateway(b *testing.B) { benchCycles(b, 200, referenceMeter) }

// Benchmark1000Devices40Points is the target load: 1,000 devices of 40
// points at 1 s.
func Benchmark1000Devices40Points(b *testing.B) { benchCycles(b, 1000, fortyPoints) }

// BenchmarkPollMeter is one poll of the reference meter; allocs/op is the
// allocations per poll (three of them are the response buffers the fake
// hands out, as goburrow does).
func BenchmarkPollMeter(b *testing.B) {
	d, err := newDevice(Device{ID: "m", Profile: referenceMeter(), Config: Config{Address: "gw:502"}})
	if err != nil {
		b.Fatal(err)
	}
	c := newBenchConn()
	ctx, now := context.Background(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if res := d.poll(ctx, c, now); !res.answered || len(res.problems) > 0 {
			b.Fatalf("poll: %+v", res)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(d.samples))/b.Elapsed().Seconds(), "samples/s")
}
