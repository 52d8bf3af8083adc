package modbus_test

// The benchmarks against the simulator live outside package modbus: the
// simulator encodes its registers with modbus.EncodeSaturating, so package
// modbus, even in its own tests, cannot import it.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/drivers/sim"
)

// BenchmarkSim200Meters is Benchmark200MetersOneGateway through goburrow
// and loopback TCP against the simulator, in this process: ns/op is the
// wall time of a cycle (200 × 3 request round trips), cpu%@1s the CPU of
// poller and simulator together, so an upper bound for the poller's.
func BenchmarkSim200Meters(b *testing.B) { benchSim(b, 1, 200, simMeter) }

// BenchmarkSim1000Devices40Points is the target load through goburrow and
// loopback TCP: five simulated gateways of 200 devices of 40 points, polled
// in parallel as Run does. cpu%@1s counts poller and simulator together.
func BenchmarkSim1000Devices40Points(b *testing.B) {
	benchSim(b, 5, 200, func() *drivers.Profile {
		p := modbus.FortyPoints()
		p.Type = "energy_meter" // a model the simulator plays; unknown points read 0
		return p
	})
}

// benchSim runs one op = one full cycle of gateways × perGateway devices.
func benchSim(b *testing.B, gateways, perGateway int, prof func() *drivers.Profile) {
	var devs []modbus.Device
	for gw := range gateways {
		var simDevs []sim.Device
		for i := range perGateway {
			simDevs = append(simDevs, sim.Device{ID: fmt.Sprintf("g%d-m%d", gw, i), UnitID: uint8(i + 1), Profile: prof()})
		}
		s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Devices: simDevs, Tick: -1}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		defer func() { cancel(); <-done }()
		<-s.Ready()
		for _, sd := range simDevs {
			devs = append(devs, modbus.Device{ID: sd.ID, Profile: sd.Profile, Config: modbus.Config{Address: s.Addr(), UnitID: sd.UnitID, Interval: time.Second}})
		}
	}
	p, err := modbus.New(devs, nil)
	if err != nil {
		b.Fatal(err)
	}
	cycle := modbus.NewCycler(p)
	defer cycle.Close()
	sink := drivers.SinkFunc(func(context.Context, []drivers.Sample) {})
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := modbus.CPUTime()
	for b.Loop() {
		cycle.Cycle(ctx, sink)
	}
	cpu := modbus.CPUTime() - cpu0
	var sent int64
	for _, st := range p.States() {
		if st.Status != drivers.StatusOnline {
			b.Fatalf("state %+v", st)
		}
		sent += st.Requests
	}
	b.ReportMetric(float64(sent)/float64(b.N), "requests/cycle")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(time.Second)*100, "cpu%@1s")
}

// simMeter is referenceMeter with the point names the simulator plays.
func simMeter() *drivers.Profile {
	p := modbus.ReferenceMeter()
	names := []string{"voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "current_l2", "current_l3",
		"power_l1", "power_l2", "power_l3", "total_power", "power_factor", "frequency",
		"import_energy", "export_energy", "demand", "max_demand", "total_energy"}
	for i := range p.Points {
		p.Points[i].Name = names[i]
	}
	return p
}
