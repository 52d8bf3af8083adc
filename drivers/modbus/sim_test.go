package modbus_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/drivers/sim"
	"gopkg.in/yaml.v3"
)

// These tests poll the simulator of drivers/sim over Modbus TCP on
// loopback with the profiles shipped in configs/profiles.

// shipped loads configs/profiles/NAME.yaml strictly, with the defaults
// config applies.
func shipped(t testing.TB, name string) *drivers.Profile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../configs/profiles", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p drivers.Profile
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i := range p.Points {
		if p.Points[i].Type == "" && p.Points[i].Register.IsBit() {
			p.Points[i].Type = drivers.TypeBool
		}
	}
	return &p
}

// startSim serves devices on a free loopback port until the test ends. Its
// models stand still (time advances only when the test steps them), so a
// poller reads exactly what Value reports.
func startSim(t *testing.T, devs []sim.Device, hold time.Duration, faults ...sim.Fault) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Devices: devs, Seed: 3, Tick: -1, OfflineHold: hold}, faults, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("sim: %v", err)
	}
	return s
}

// sink keeps every sample, by device and point.
type sink struct {
	mu   sync.Mutex
	last map[string]drivers.Sample
	all  map[string][]drivers.Sample
}

func newSink() *sink {
	return &sink{last: map[string]drivers.Sample{}, all: map[string][]drivers.Sample{}}
}

func (s *sink) Put(_ context.Context, samples []drivers.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range samples {
		s.last[x.Device+"."+x.Point] = x
		s.all[x.Device+"."+x.Point] = append(s.all[x.Device+"."+x.Point], x)
	}
}

func (s *sink) get(dev, point string) (drivers.Sample, []drivers.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[dev+"."+point], s.all[dev+"."+point]
}

// run polls devs until d has passed.
func run(t *testing.T, devs []modbus.Device, d time.Duration) (*modbus.Poller, *sink) {
	t.Helper()
	p, err := modbus.New(devs, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := newSink()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.Run(ctx, out); err != nil {
		t.Fatal(err)
	}
	return p, out
}

func cfg(addr string, unit uint8, interval, timeout time.Duration) modbus.Config {
	return modbus.Config{Address: addr, UnitID: unit, Interval: interval, Timeout: timeout}
}

// TestSimOneGatewayAllProfiles polls every shipped profile as a unit id of
// one simulated gateway and compares each point with the simulator's model.
func TestSimOneGatewayAllProfiles(t *testing.T) {
	names := []string{"booster_pump", "energy_meter", "elevator", "fire_panel", "water_meter", "gas_meter"}
	var simDevs []sim.Device
	for i, n := range names {
		simDevs = append(simDevs, sim.Device{ID: n, UnitID: uint8(i + 1), Profile: shipped(t, n)})
	}
	s := startSim(t, simDevs, time.Second)
	var devs []modbus.Device
	for _, d := range simDevs {
		devs = append(devs, modbus.Device{ID: d.ID, Profile: d.Profile, Config: cfg(s.Addr(), d.UnitID, 100*time.Millisecond, time.Second)})
	}
	p, out := run(t, devs, 450*time.Millisecond)

	for _, d := range simDevs {
		st := p.States()[d.ID]
		if st.Status != drivers.StatusOnline || st.Skipped != 0 {
			t.Errorf("%s: state %+v", d.ID, st)
		}
		polls := int64(len(must(out.get(d.ID, "up"))))
		if polls < 4 || st.Requests != s.Requests(d.ID) || st.Requests%polls != 0 {
			t.Errorf("%s: %d polls, %d requests sent, %d served", d.ID, polls, st.Requests, s.Requests(d.ID))
		}
		for _, pt := range d.Profile.Points {
			got, _ := out.get(d.ID, pt.Name)
			if got.Quality != drivers.Good || got.Measurement != d.Profile.Type {
				t.Errorf("%s.%s: %+v", d.ID, pt.Name, got)
				continue
			}
			if pt.Type == drivers.TypeString {
				if got.Value.S != d.ID[:min(len(d.ID), 2*pt.Length)] {
					t.Errorf("%s.%s = %q, want the device id", d.ID, pt.Name, got.Value.S)
				}
				continue
			}
			want, ok := s.Value(d.ID, pt.Name)
			if !ok {
				t.Errorf("%s.%s: the model has no such point", d.ID, pt.Name)
				continue
			}
			if !matches(&pt, got.Value, want) {
				t.Errorf("%s.%s = %v, model says %v", d.ID, pt.Name, got.Value, want)
			}
		}
	}
	if v, _ := out.get("fire_panel", "auto_mode"); !v.Value.B {
		t.Error("fire panel not in automatic mode")
	}
	if v, _ := out.get("elevator", "service_mode"); v.Value.S != "normal" {
		t.Errorf("elevator service mode %v", v.Value)
	}
}

func must(_ drivers.Sample, all []drivers.Sample) []drivers.Sample { return all }

// matches compares a decoded value with the model's within what the
// point's type and scale can carry.
func matches(p *drivers.Point, got drivers.Value, want float64) bool {
	switch {
	case len(p.Enum) > 0:
		return got.S == p.Enum[int64(want)]
	case got.Kind == drivers.KindBool:
		return got.B == (want != 0)
	}
	tol := math.Abs(want) * 1e-6 // float32
	if p.Scale != 0 && p.Scale != 1 {
		tol = math.Abs(p.Scale) / 2
	} else if p.Type != drivers.TypeFloat32 && p.Type != drivers.TypeFloat64 {
		tol = 0.5 // integers are rounded
	}
	return math.Abs(got.Float64()-want) <= tol+1e-9
}

// TestSimOfflineNeighbour: a meter that stops answering sits behind the same
// gateway as a pump. The pump is read every tick; the meter costs at most
// one timeout now and then (back-off), reports up=false every tick and is
// offline.
func TestSimOfflineNeighbour(t *testing.T) {
	s := startSim(t, []sim.Device{
		{ID: "pump-1", UnitID: 1, Profile: shipped(t, "booster_pump")},
		{ID: "meter-1", UnitID: 2, Profile: shipped(t, "energy_meter")},
	}, 2*time.Second, sim.Fault{Device: "meter-1", Kind: sim.FaultOffline})
	const interval, timeout = 200 * time.Millisecond, 80 * time.Millisecond
	p, out := run(t, []modbus.Device{
		{ID: "meter-1", Profile: shipped(t, "energy_meter"), Config: cfg(s.Addr(), 2, interval, timeout)},
		{ID: "pump-1", Profile: shipped(t, "booster_pump"), Config: cfg(s.Addr(), 1, interval, timeout)},
	}, 11*interval+interval/2)

	_, pump := out.get("pump-1", "discharge_pressure")
	if len(pump) < 11 {
		t.Errorf("pump read %d times in 12 ticks", len(pump))
	}
	for _, x := range pump {
		if x.Quality != drivers.Good {
			t.Errorf("pump sample %+v", x)
		}
	}
	_, ups := out.get("meter-1", "up")
	if len(ups) < 11 {
		t.Errorf("meter: %d health reports in 12 ticks", len(ups))
	}
	for _, u := range ups {
		if u.Value.B {
			t.Errorf("offline meter up at %v", u.Time)
		}
	}
	if _, data := out.get("meter-1", "voltage_l1"); len(data) != 0 {
		t.Errorf("offline meter gave %d samples", len(data))
	}
	// back-off: tried at ticks 0, 2, 5 and 10, one request each
	if n := s.Requests("meter-1"); n < 3 || n > 4 {
		t.Errorf("offline meter asked %d times in 12 ticks, want 3 or 4", n)
	}
	st := p.States()
	if st["meter-1"].Status != drivers.StatusOffline || st["pump-1"].Status != drivers.StatusOnline || st["pump-1"].Skipped != 0 {
		t.Errorf("states %+v", st)
	}
	if state, _ := out.get("meter-1", "state"); state.Value.S != "offline" {
		t.Errorf("health state %v", state.Value)
	}
}

// TestSimExceptionRegister: the meter answers exception 2 for its first
// register. Its merged read is split once, voltage_l1 is reported Bad, every
// other point Good in the same poll, and later polls leave the register out.
func TestSimExceptionRegister(t *testing.T) {
	s := startSim(t, []sim.Device{{ID: "meter-1", UnitID: 2, Profile: shipped(t, "energy_meter")}},
		time.Second, sim.Fault{Device: "meter-1", Kind: sim.FaultException})
	p, out := run(t, []modbus.Device{
		{ID: "meter-1", Profile: shipped(t, "energy_meter"), Config: cfg(s.Addr(), 2, 100*time.Millisecond, time.Second)},
	}, 550*time.Millisecond)

	_, v1 := out.get("meter-1", "voltage_l1")
	_, v2 := out.get("meter-1", "voltage_l2")
	if len(v1) < 5 || len(v2) != len(v1) {
		t.Fatalf("%d polls of voltage_l1, %d of voltage_l2", len(v1), len(v2))
	}
	for i := range v1 {
		if v1[i].Quality != drivers.Bad || v2[i].Quality != drivers.Good || v2[i].Value.F < 200 {
			t.Errorf("poll %d: voltage_l1 %+v, voltage_l2 %+v", i, v1[i], v2[i])
		}
	}
	st := p.States()["meter-1"]
	if st.Status != drivers.StatusDegraded || !strings.Contains(st.LastError, `point "voltage_l1" (input 0x0000): refused by the device`) {
		t.Errorf("state %+v", st)
	}
	// First poll: 3 planned reads, the first refused and split in halves
	// three times down to voltage_l1 (6 more requests); then 3 reads per poll.
	polls := int64(len(v1))
	if want := 3 + 6 + 3*(polls-1); s.Requests("meter-1") != want || st.Requests != want {
		t.Errorf("%d polls: %d requests served, %d sent, want %d", polls, s.Requests("meter-1"), st.Requests, want)
	}
}
