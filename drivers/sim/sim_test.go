package sim

import (
	"context"
	"errors"
	"io"
	"log"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/simonvetter/modbus"
)

// meterProfile is the common three-phase meter layout of equipment.md:
// input registers, float32 ABCD.
func meterProfile() *drivers.Profile {
	p := &drivers.Profile{Type: "energy_meter"}
	for _, pt := range []struct {
		name string
		addr uint32
	}{
		{"voltage_l1", 0x00}, {"voltage_l2", 0x02}, {"voltage_l3", 0x04},
		{"current_l1", 0x06}, {"current_l2", 0x08}, {"current_l3", 0x0A},
		{"power_l1", 0x0C}, {"power_l2", 0x0E}, {"power_l3", 0x10},
		{"total_power", 0x34}, {"power_factor", 0x3E}, {"frequency", 0x46},
		{"import_energy", 0x48}, {"export_energy", 0x4A},
		{"demand", 0x54}, {"max_demand", 0x56}, {"total_energy", 0x156},
	} {
		p.Points = append(p.Points, drivers.Point{Name: pt.name, Register: drivers.Input,
			Address: pt.addr, Type: drivers.TypeFloat32, ByteOrder: drivers.ABCD})
	}
	return p
}

// pumpProfile is a pump controller written with 1-based references and a mix
// of scaled integers, bits, coils and a point the model does not know.
func pumpProfile() *drivers.Profile {
	return &drivers.Profile{Type: "pump", Addressing: drivers.Reference, Points: []drivers.Point{
		{Name: "discharge_pressure", Register: drivers.Holding, Address: 40001, Type: drivers.TypeUint16, Scale: 0.01},
		{Name: "suction_pressure", Register: drivers.Holding, Address: 40002, Type: drivers.TypeUint16, Scale: 0.01},
		{Name: "motor_current", Register: drivers.Holding, Address: 40003, Type: drivers.TypeUint16, Scale: 0.1},
		{Name: "frequency", Register: drivers.Holding, Address: 40004, Type: drivers.TypeUint16, Scale: 0.1},
		{Name: "run_hours", Register: drivers.Holding, Address: 40005, Type: drivers.TypeFloat32, ByteOrder: drivers.CDAB},
		{Name: "starts", Register: drivers.Holding, Address: 40007, Type: drivers.TypeUint32},
		{Name: "running", Register: drivers.Holding, Address: 40009, Type: drivers.TypeBit, Bit: 0},
		{Name: "fault", Register: drivers.Holding, Address: 40009, Type: drivers.TypeBit, Bit: 1},
		{Name: "vendor_register", Register: drivers.Holding, Address: 40010, Type: drivers.TypeInt16},
		{Name: "running", Register: drivers.Coil, Address: 1, Type: drivers.TypeBool},
		{Name: "fault", Register: drivers.Discrete, Address: 10001, Type: drivers.TypeBool},
	}}
}

const (
	pumpUnit  = 1
	meterUnit = 2
)

func building() []Device {
	return []Device{
		{ID: "pump-1", UnitID: pumpUnit, Profile: pumpProfile()},
		{ID: "meter-1", UnitID: meterUnit, Profile: meterProfile()},
	}
}

// fakeClock is the injected clock: tests move it and call Step.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// t0 is a weekday afternoon in the building's zone (14:00 CST), when the
// meter's load is high.
var t0 = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

// startSim runs a stepped simulation on a free loopback port and stops it
// when the test ends.
func startSim(t *testing.T, cfg Config, faults ...Fault) *Sim {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Devices == nil {
		cfg.Devices = building()
	}
	if cfg.Tick == 0 {
		cfg.Tick = -1
	}
	if cfg.Now == nil {
		cfg.Now = (&fakeClock{now: t0}).Now
	}
	s, err := New(cfg, faults, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	}
	return s
}

func dial(t *testing.T, addr string, unit uint8, timeout time.Duration) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL: "tcp://" + addr, Timeout: timeout, Logger: log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetUnitId(unit); err != nil {
		t.Fatal(err)
	}
	return c
}

// float32s decodes float32 ABCD by hand, as a poller that trusts nothing would.
func float32s(regs []uint16) []float64 {
	var out []float64
	for i := 0; i+1 < len(regs); i += 2 {
		out = append(out, float64(math.Float32frombits(uint32(regs[i])<<16|uint32(regs[i+1]))))
	}
	return out
}

func readFloats(t *testing.T, c *modbus.ModbusClient, addr, n uint16) []float64 {
	t.Helper()
	regs, err := c.ReadRegisters(addr, 2*n, modbus.INPUT_REGISTER)
	if err != nil {
		t.Fatalf("read input registers %#04x: %v", addr, err)
	}
	return float32s(regs)
}

func within(t *testing.T, what string, got, lo, hi float64) {
	t.Helper()
	if got < lo || got > hi || math.IsNaN(got) {
		t.Errorf("%s = %v, want %v to %v", what, got, lo, hi)
	}
}

func TestMeterOverTCP(t *testing.T) {
	s := startSim(t, Config{})
	s.Step(t0.Add(200 * time.Millisecond))
	c := dial(t, s.Addr(), meterUnit, time.Second)

	v := readFloats(t, c, 0x0000, 9) // voltages, currents, powers
	for i := range 3 {
		within(t, "voltage", v[i], 220, 240)
		within(t, "current", v[3+i], 20, 80)
		within(t, "power", v[6+i], 0.85*v[i]*v[3+i], 0.95*v[i]*v[3+i])
	}
	total := readFloats(t, c, 0x34, 1)[0]
	within(t, "total_power", total, v[6]+v[7]+v[8]-1, v[6]+v[7]+v[8]+1)
	within(t, "power_factor", readFloats(t, c, 0x3E, 1)[0], 0.9, 0.94)
	within(t, "frequency", readFloats(t, c, 0x46, 1)[0], 49.9, 50.1)
	e := readFloats(t, c, 0x48, 2)
	within(t, "import_energy", e[0], 10000, 90001)
	within(t, "export_energy", e[1], 0, 0)
	d := readFloats(t, c, 0x54, 2)
	within(t, "max_demand", d[1], d[0], math.Inf(1))
	within(t, "total_energy", readFloats(t, c, 0x156, 1)[0], e[0]-0.01, e[0]+0.01)

	// An hour later the import counter has integrated about an hour of power.
	s.Step(t0.Add(time.Hour))
	later := readFloats(t, c, 0x48, 1)[0]
	within(t, "energy in one hour, kWh", later-e[0], 0.5*total/1000, 1.5*total/1000)

	if _, err := c.ReadRegisters(0x156, 3, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("read past the map: err = %v, want illegal data address", err)
	}
	if err := c.WriteRegister(0, 1); !errors.Is(err, modbus.ErrIllegalFunction) {
		t.Errorf("write: err = %v, want illegal function", err)
	}
}

func TestPumpOverTCP(t *testing.T) {
	s := startSim(t, Config{})
	s.Step(t0.Add(200 * time.Millisecond))
	c := dial(t, s.Addr(), pumpUnit, time.Second)

	regs, err := c.ReadRegisters(0, 10, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	within(t, "discharge_pressure", float64(regs[0])*0.01, 3.0, 3.4)
	within(t, "suction_pressure", float64(regs[1])*0.01, 0.9, 1.1)
	within(t, "motor_current", float64(regs[2])*0.1, 11, 13)
	within(t, "frequency", float64(regs[3])*0.1, 44, 46)
	runHours := float64(math.Float32frombits(uint32(regs[5])<<16 | uint32(regs[4]))) // CDAB
	within(t, "run_hours", runHours, 1000, 6000)
	within(t, "starts", float64(uint32(regs[6])<<16|uint32(regs[7])), 100, 800)
	if regs[8] != 0b01 {
		t.Errorf("status word = %#b, want running and no fault", regs[8])
	}
	if regs[9] != 0 {
		t.Errorf("a point the model does not know reads %d, want 0", regs[9])
	}
	if on, err := c.ReadCoil(0); err != nil || !on {
		t.Errorf("running coil = %v, %v; want true", on, err)
	}
	if on, err := c.ReadDiscreteInput(0); err != nil || on {
		t.Errorf("fault input = %v, %v; want false", on, err)
	}
	if _, err := c.ReadCoils(0, 2); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("read past the coils: err = %v, want illegal data address", err)
	}
	if _, err := c.ReadRegisters(0, 1, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("read of an empty table: err = %v, want illegal data address", err)
	}

	// Run hours follow the clock while the pump runs.
	s.Step(t0.Add(90 * time.Minute))
	regs, _ = c.ReadRegisters(4, 2, modbus.HOLDING_REGISTER)
	later := float64(math.Float32frombits(uint32(regs[1])<<16 | uint32(regs[0])))
	within(t, "run hours gained", later-runHours, 1.499, 1.501)
}

func TestLowPressureFault(t *testing.T) {
	s := startSim(t, Config{}, Fault{Device: "pump-1", Kind: "low_pressure", After: 300 * time.Millisecond})
	c := dial(t, s.Addr(), pumpUnit, time.Second)
	pressure := func() (float64, uint16) {
		t.Helper()
		regs, err := c.ReadRegisters(0, 9, modbus.HOLDING_REGISTER)
		if err != nil {
			t.Fatal(err)
		}
		return float64(regs[0]) * 0.01, regs[8]
	}
	s.Step(t0.Add(200 * time.Millisecond))
	if p, _ := pressure(); p < 3.0 {
		t.Fatalf("pressure before the fault = %v bar, want about 3.2", p)
	}
	s.Step(t0.Add(300 * time.Millisecond))
	p, status := pressure()
	if p >= 1.5 {
		t.Errorf("pressure after the fault = %v bar, want below 1.5", p)
	}
	if status&1 == 0 {
		t.Error("pump stopped running; low pressure should leave it running")
	}
}

func TestTripAndDryRun(t *testing.T) {
	devs := append(building(), Device{ID: "pump-2", UnitID: 3, Profile: pumpProfile()})
	s := startSim(t, Config{Devices: devs},
		Fault{Device: "pump-1", Kind: "trip"}, Fault{Device: "pump-2", Kind: "dry_run"})
	regs, err := dial(t, s.Addr(), pumpUnit, time.Second).ReadRegisters(0, 9, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if regs[8] != 0b10 || regs[2] != 0 {
		t.Errorf("tripped pump: status %#b, current %d; want fault, not running, no current", regs[8], regs[2])
	}
	regs, err = dial(t, s.Addr(), 3, time.Second).ReadRegisters(0, 9, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if regs[8] != 0b01 || regs[0] > 100 || regs[2] > 60 {
		t.Errorf("dry pump: status %#b, pressure %d cbar, current %d dA; want running, low, low", regs[8], regs[0], regs[2])
	}
}

func TestUnknownUnitID(t *testing.T) {
	s := startSim(t, Config{})
	c := dial(t, s.Addr(), 99, time.Second)
	if _, err := c.ReadRegisters(0, 2, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrGWTargetFailedToRespond) {
		t.Errorf("unit 99: err = %v, want gateway target failed to respond", err)
	}
	c.SetUnitId(meterUnit) // same connection: the server is still serving it
	within(t, "voltage after a bad unit", readFloats(t, c, 0, 1)[0], 220, 240)
}

func TestOfflineFault(t *testing.T) {
	s := startSim(t, Config{OfflineHold: 300 * time.Millisecond}, Fault{Device: "meter-1", Kind: "offline"})
	c := dial(t, s.Addr(), meterUnit, 100*time.Millisecond)
	if _, err := c.ReadRegisters(0, 2, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrRequestTimedOut) {
		t.Errorf("offline meter: err = %v, want a timeout", err)
	}
	if _, err := dial(t, s.Addr(), pumpUnit, time.Second).ReadRegisters(0, 1, modbus.HOLDING_REGISTER); err != nil {
		t.Errorf("pump next to an offline meter: %v", err)
	}
}

func TestExceptionFault(t *testing.T) {
	s := startSim(t, Config{}, Fault{Device: "meter-1", Kind: "exception"})
	c := dial(t, s.Addr(), meterUnit, time.Second)
	if _, err := c.ReadRegisters(0, 2, modbus.INPUT_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("refused register: err = %v, want illegal data address", err)
	}
	within(t, "voltage_l2 next to the refused register", readFloats(t, c, 2, 1)[0], 220, 240)
}

func TestNaNFault(t *testing.T) {
	s := startSim(t, Config{}, Fault{Device: "meter-1", Kind: "nan"})
	s.Step(t0.Add(200 * time.Millisecond))
	c := dial(t, s.Addr(), meterUnit, time.Second)
	for i, v := range readFloats(t, c, 0, 9) {
		if !math.IsNaN(v) {
			t.Errorf("register pair %d = %v, want NaN", i, v)
		}
	}
}

func TestRunStops(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Devices: building()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	<-s.Ready()
	c := dial(t, s.Addr(), meterUnit, time.Second)
	readFloats(t, c, 0, 1)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := c.ReadRegisters(0, 2, modbus.INPUT_REGISTER); err == nil {
		t.Error("the connection still answers after Run returned")
	}
	if err := s.Run(t.Context()); err == nil {
		t.Error("a second Run succeeded")
	}
}
