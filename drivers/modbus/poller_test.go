package modbus

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	mbserver "github.com/simonvetter/modbus"
)

// regServer is a Modbus TCP server on loopback serving a register map per
// unit id. Silent units hold the request past the client's timeout; units
// without a map answer exception 11 like a gateway whose target is gone.
type regServer struct {
	mu      sync.Mutex
	holding map[uint8][]uint16
	input   map[uint8][]uint16
	coils   map[uint8][]bool
	silent  map[uint8]bool
	calls   map[uint8]int
	release chan struct{}

	addr string
	srv  *mbserver.ModbusServer
}

func newRegServer(t *testing.T, addr string) *regServer {
	t.Helper()
	s := &regServer{
		holding: map[uint8][]uint16{}, input: map[uint8][]uint16{}, coils: map[uint8][]bool{},
		silent: map[uint8]bool{}, calls: map[uint8]int{}, release: make(chan struct{}),
	}
	if addr == "" {
		addr = freeAddr(t)
	}
	s.addr = addr
	t.Cleanup(func() { close(s.release) })
	return s
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *regServer) start(t *testing.T) {
	t.Helper()
	srv, err := mbserver.NewServer(&mbserver.ServerConfiguration{
		URL: "tcp://" + s.addr, MaxClients: 100, Timeout: 10 * time.Second,
		Logger: log.New(io.Discard, "", 0),
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	t.Cleanup(func() { srv.Stop() })
}

func (s *regServer) set(unit uint8, regs []uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holding[unit] = regs
}

func (s *regServer) callsOf(unit uint8) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[unit]
}

// serve looks a unit up; it stalls silent units for a while.
func (s *regServer) serve(unit uint8, table map[uint8][]uint16, addr, qty uint16) ([]uint16, error) {
	s.mu.Lock()
	s.calls[unit]++
	silent := s.silent[unit]
	regs, ok := table[unit]
	s.mu.Unlock()
	if silent {
		select {
		case <-s.release:
		case <-time.After(time.Second):
		}
		return nil, mbserver.ErrServerDeviceFailure
	}
	if !ok {
		return nil, mbserver.ErrGWTargetFailedToRespond
	}
	if int(addr)+int(qty) > len(regs) {
		return nil, mbserver.ErrIllegalDataAddress
	}
	return append([]uint16(nil), regs[addr:addr+qty]...), nil
}

func (s *regServer) HandleHoldingRegisters(r *mbserver.HoldingRegistersRequest) ([]uint16, error) {
	if r.IsWrite {
		return nil, mbserver.ErrIllegalFunction
	}
	return s.serve(r.UnitId, s.holding, r.Addr, r.Quantity)
}

func (s *regServer) HandleInputRegisters(r *mbserver.InputRegistersRequest) ([]uint16, error) {
	return s.serve(r.UnitId, s.input, r.Addr, r.Quantity)
}

func (s *regServer) HandleCoils(r *mbserver.CoilsRequest) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bits, ok := s.coils[r.UnitId]
	if r.IsWrite || !ok || int(r.Addr)+int(r.Quantity) > len(bits) {
		return nil, mbserver.ErrIllegalDataAddress
	}
	return append([]bool(nil), bits[r.Addr:r.Addr+r.Quantity]...), nil
}

func (s *regServer) HandleDiscreteInputs(r *mbserver.DiscreteInputsRequest) ([]bool, error) {
	return nil, mbserver.ErrIllegalFunction
}

// meterProfile reads input registers in CDAB order plus a coil.
func meterProfile() *drivers.Profile {
	return &drivers.Profile{Type: "energy_meter", Addressing: drivers.Reference, Points: []drivers.Point{
		{Name: "voltage", Register: drivers.Input, Address: 30001, Type: drivers.TypeFloat32, ByteOrder: drivers.CDAB},
		{Name: "energy", Register: drivers.Input, Address: 30073, Type: drivers.TypeUint32, Scale: 0.01, Unit: "kWh"},
		{Name: "breaker", Register: drivers.Coil, Address: 4, Type: drivers.TypeBool},
		{Name: "serial", Register: drivers.Holding, Address: 40011, Type: drivers.TypeString, Length: 4},
	}}
}

// TestPollerTCP polls four devices behind one Modbus TCP server and one
// behind a listener that never answers. The silent and the missing unit
// must not cost the healthy ones a single tick.
func TestPollerTCP(t *testing.T) {
	srv := newRegServer(t, "")
	srv.set(1, testRegs())
	meter := make([]uint16, 80)
	meter[0], meter[1] = 0x8000, 0x4366 // 230.5 V, low word first
	meter[72], meter[73] = 0x0001, 0xE240
	srv.input[2] = meter
	srv.holding[2] = make([]uint16, 14)
	copy(srv.holding[2][10:], []uint16{0x4D31, 0x3233, 0x2020, 0x2020}) // "M123"
	srv.coils[2] = []bool{false, false, false, true}
	srv.silent[3] = true
	srv.start(t)

	lost := freeAddr(t) // accepts and never answers
	l, err := net.Listen("tcp", lost)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	const interval, timeout = 200 * time.Millisecond, 60 * time.Millisecond
	devs := []Device{
		tcpDevice("silent", 3, srv.addr, interval, timeout),
		tcpDevice("gone", 4, srv.addr, interval, timeout),
		tcpDevice("pump", 1, srv.addr, interval, timeout),
		{ID: "meter", Profile: meterProfile(), Config: Config{Address: srv.addr, UnitID: 2, Interval: interval, Timeout: timeout}},
		tcpDevice("lost", 1, lost, interval, timeout),
	}
	p, err := New(devs, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sink := &collector{}
	const cycles = 6
	start := time.Now()
	runFor(t, p, sink, cycles*interval-interval/2)

	// Every tick of the pump is served, late by at most the one timeout the
	// silent neighbour may cost.
	pump := sink.series("pump", "pressure")
	if len(pump) != cycles {
		t.Errorf("pump polled %d times in %d cycles", len(pump), cycles)
	}
	for i, s := range pump {
		tick := time.Duration(i) * interval
		if late := s.Time.Sub(start) - tick; late < 0 || late > timeout+50*time.Millisecond {
			t.Errorf("pump poll %d started %v after its tick", i, late)
		}
	}
	last := func(dev, point string) drivers.Sample {
		s := sink.series(dev, point)
		if len(s) == 0 {
			t.Fatalf("no %s of %s", point, dev)
		}
		return s[len(s)-1]
	}
	for name, want := range pumpValues {
		if got := last("pump", name); got.Value.String() != want || got.Quality != drivers.Good {
			t.Errorf("pump %s = %v (%s), want %s", name, got.Value, got.Quality, want)
		}
	}
	for name, want := range map[string]string{"voltage": "230.5", "energy": "1234.56", "breaker": "true", "serial": "M123"} {
		if got := last("meter", name); got.Value.String() != want || got.Quality != drivers.Good || got.Measurement != "energy_meter" {
			t.Errorf("meter %s = %+v, want %s", name, got, want)
		}
	}
	for _, dev := range []string{"pump", "meter"} {
		if up := last(dev, "up"); !up.Value.B || up.Measurement != drivers.HealthMeasurement {
			t.Errorf("%s: up = %+v", dev, up)
		}
		if sk := last(dev, "skipped"); sk.Value.I != 0 {
			t.Errorf("%s skipped %d ticks", dev, sk.Value.I)
		}
		if lat := last(dev, "latency_ms"); lat.Value.F <= 0 || lat.Value.F > float64(timeout/time.Millisecond) {
			t.Errorf("%s latency %v ms", dev, lat.Value)
		}
	}
	for _, dev := range []string{"silent", "gone", "lost"} {
		ups := sink.series(dev, "up")
		if len(ups) != cycles {
			t.Errorf("%s: %d health reports in %d cycles", dev, len(ups), cycles)
		}
		for _, s := range ups {
			if s.Value.B {
				t.Errorf("%s up at %v", dev, s.Time)
			}
		}
		if n := len(sink.series(dev, "pressure")); n != 0 {
			t.Errorf("%s: %d data samples from a device that never answered", dev, n)
		}
	}
	// Back-off: tried at cycles 0, 2 and 5 only.
	if n := srv.callsOf(3); n != 3 {
		t.Errorf("silent unit asked %d times in %d cycles, want 3", n, cycles)
	}
	if n := srv.callsOf(4); n != 3 {
		t.Errorf("missing unit asked %d times in %d cycles, want 3", n, cycles)
	}
	st := p.States()
	for dev, want := range map[string]drivers.Status{"pump": drivers.StatusOnline, "meter": drivers.StatusOnline, "silent": drivers.StatusOffline, "gone": drivers.StatusOffline, "lost": drivers.StatusOffline} {
		if st[dev].Status != want {
			t.Errorf("%s: %+v, want %s", dev, st[dev], want)
		}
	}
}

// TestPollerReconnect stops the server under a running poller and starts
// a new one on the same address: the device goes down and comes back with
// the new server's values.
func TestPollerReconnect(t *testing.T) {
	srv := newRegServer(t, "")
	srv.set(1, testRegs())
	srv.start(t)

	p, err := New([]Device{tcpDevice("pump", 1, srv.addr, 50*time.Millisecond, 200*time.Millisecond)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &collector{ch: make(chan []drivers.Sample, 16)}
	done := make(chan error)
	go func() { done <- p.Run(ctx, sink) }()

	waitFor := func(what string, ok func(drivers.Sample) bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case put := <-sink.ch:
				for _, s := range put {
					if ok(s) {
						return
					}
				}
			case <-deadline:
				t.Fatalf("no %s within 5s; state %+v", what, p.States()["pump"])
			}
		}
	}
	starts := func(n int64) func(drivers.Sample) bool {
		return func(s drivers.Sample) bool {
			return s.Point == "starts" && s.Quality == drivers.Good && s.Value.I == n
		}
	}
	waitFor("reading from the first server", starts(7))
	srv.srv.Stop()
	waitFor("down report", func(s drivers.Sample) bool { return s.Point == "up" && !s.Value.B })
	if st := p.States()["pump"]; st.Status != drivers.StatusOffline {
		t.Errorf("state while down: %+v", st)
	}

	again := newRegServer(t, srv.addr)
	regs := testRegs()
	regs[5] = 8
	again.set(1, regs)
	again.start(t)
	waitFor("reading from the restarted server", starts(8))
	if st := p.States()["pump"]; st.Status != drivers.StatusOnline || st.Failures != 0 {
		t.Errorf("state after restart: %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
