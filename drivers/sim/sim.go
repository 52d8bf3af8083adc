// Package sim plays a building's equipment over Modbus TCP for the demo and
// for tests: one listener serves several devices, told apart by unit id, each
// a model of its equipment type (pump, energy_meter, elevator, fire_panel,
// water_meter, gas_meter) whose values are encoded into registers through the
// device's own profile, so that a poller reading the profile reads the
// model's values back. Faults (low pressure, trips, a device going offline,
// ...) can be injected at chosen times.
//
// Time comes from an injected clock and randomness from a seeded source, so
// a simulation stepped through the same times produces the same registers.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Defaults used when a Config leaves a field empty.
const (
	// DefaultTick is how often models advance; pollers read every second or
	// so, and a few steps between reads make counters move smoothly.
	DefaultTick = 200 * time.Millisecond
	// DefaultOfflineHold is how long an offline device keeps a request before
	// dropping the connection: longer than a poller's usual 1 s timeout, so the
	// poller sees what a dead device gives, a timeout.
	DefaultOfflineHold = 3 * time.Second
)

// Device is one simulated device.
type Device struct {
	// ID names the device in faults and logs, as in the daemon's config.
	ID string
	// UnitID is the Modbus unit id (slave id) that requests carry to reach it.
	UnitID uint8
	// Profile lays out its registers; Profile.Type chooses its model.
	Profile *drivers.Profile
}

// Config is what a simulation serves and how its time runs.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port (see Sim.Addr).
	Addr    string
	Devices []Device
	// Seed makes the noise of the models repeatable.
	Seed int64
	// Tick is how often Run advances the models (DefaultTick when 0). A
	// negative Tick turns the ticker off: the caller advances time with Step,
	// as tests do.
	Tick time.Duration
	// Now is the clock (time.Now when nil). Fault delays count from its
	// reading when Run starts.
	Now func() time.Time
	// OfflineHold is how long an offline device keeps each request before
	// closing the connection unanswered (DefaultOfflineHold when 0).
	OfflineHold time.Duration
	// State holds starting point values by device id, such as
	// Backfill.State gives, so that counters carry on from a backfilled
	// history instead of from the models' random initial readings.
	State map[string]map[string]float64
}

// Sim is a running (or ready to run) simulated building.
type Sim struct {
	cfg     Config
	logger  *slog.Logger
	devices []*device
	units   map[uint8]*device // read-only after New
	ready   chan struct{}
	done    chan struct{} // closed when Run stops, to release held requests
	running atomic.Bool

	mu    sync.RWMutex // guards start, addr and the devices' state
	start time.Time
	addr  string
}

// device is a Device with its model, registers and faults.
type device struct {
	Device
	model   model
	regs    *registerMap
	faults  []Fault
	active  map[string]bool
	last    time.Time
	stepped bool
	refuse  mappedPoint  // the point whose first register the exception fault refuses
	served  atomic.Int64 // requests addressed to the device, answered or not
}

// New validates the configuration and the faults and builds the simulation;
// it does no I/O. Every problem is reported, each naming its device.
func New(cfg Config, faults []Fault, logger *slog.Logger) (*Sim, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OfflineHold == 0 {
		cfg.OfflineHold = DefaultOfflineHold
	}
	s := &Sim{
		cfg:    cfg,
		logger: logger,
		units:  map[uint8]*device{},
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	var errs []error
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("sim: listen address %q: want host:port, e.g. 127.0.0.1:5020: %w", cfg.Addr, err))
	}
	if cfg.OfflineHold < 0 {
		errs = append(errs, fmt.Errorf("sim: offline hold %s is negative", cfg.OfflineHold))
	}
	if len(cfg.Devices) == 0 {
		errs = append(errs, errors.New("sim: no devices to simulate"))
	}
	byID := map[string]*device{}
	for _, dc := range cfg.Devices {
		d, err := newDevice(dc, cfg.Seed)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if byID[dc.ID] != nil {
			errs = append(errs, fmt.Errorf("device %q: the id is used twice", dc.ID))
			continue
		}
		if other := s.units[dc.UnitID]; other != nil {
			errs = append(errs, fmt.Errorf("device %q: unit id %d is already device %q's", dc.ID, dc.UnitID, other.ID))
			continue
		}
		d.model.restore(cfg.State[dc.ID])
		byID[dc.ID], s.units[dc.UnitID] = d, d
		s.devices = append(s.devices, d)
	}
	for _, f := range faults {
		d := byID[f.Device]
		if d == nil {
			if !slices.ContainsFunc(cfg.Devices, func(dc Device) bool { return dc.ID == f.Device }) {
				errs = append(errs, fmt.Errorf("fault %s: no device %q", f, f.Device))
			}
			continue // a device that failed validation has said so already
		}
		if err := checkFault(f, d.Profile.Type, len(d.regs.points) > 0); err != nil {
			errs = append(errs, fmt.Errorf("device %q: %w", d.ID, err))
			continue
		}
		d.faults = append(d.faults, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// newDevice checks one device and builds its model and register map.
func newDevice(dc Device, seed int64) (*device, error) {
	switch {
	case dc.ID == "":
		return nil, fmt.Errorf("device with unit id %d: missing id", dc.UnitID)
	case dc.UnitID == 0:
		return nil, fmt.Errorf("device %q: unit id 0 is the broadcast address: use 1 to 255", dc.ID)
	case dc.Profile == nil:
		return nil, fmt.Errorf("device %q: missing profile", dc.ID)
	}
	m := deviceModel(dc.Profile.Type, seed, dc.ID)
	if m == nil {
		return nil, fmt.Errorf("device %q: no model for equipment type %q: use one of %s",
			dc.ID, dc.Profile.Type, strings.Join(Models(), ", "))
	}
	regs, err := newRegisterMap(dc.Profile)
	if err != nil {
		return nil, fmt.Errorf("device %q: %w", dc.ID, err)
	}
	d := &device{Device: dc, model: m, regs: regs, active: map[string]bool{}}
	if len(regs.points) > 0 {
		d.refuse = regs.points[0]
	}
	for _, p := range regs.points {
		if p.Type == drivers.TypeString {
			regs.writeString(p, dc.ID) // models give numbers; a text point shows the device id
		}
	}
	return d, nil
}

// Value returns what the model of a device gives for a point now (booleans
// are 0 or 1), so that tests can compare it with what a poller read.
func (s *Sim) Value(device, point string) (float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, d := range s.devices {
		if d.ID == device {
			return d.model.value(point)
		}
	}
	return 0, false
}

// Requests returns how many requests reached a device so far, answered or
// not, so that tests can count what a poller sends.
func (s *Sim) Requests(device string) int64 {
	for _, d := range s.devices {
		if d.ID == device {
			return d.served.Load()
		}
	}
	return 0
}

// Ready is closed once Run listens and answers requests; Addr is valid from
// then on. It stays open if Run fails to listen, so wait on Run's result too.
func (s *Sim) Ready() <-chan struct{} { return s.ready }

// Addr returns the address Run listens on, with the port it picked when the
// configured port was 0; "" before Ready.
func (s *Sim) Addr() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.addr
}

// Run steps the models once, listens, serves until ctx is done, then closes
// the listener and every connection. It may be called once.
func (s *Sim) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sim: Run called twice")
	}
	s.Step(s.cfg.Now())
	srv, addr, err := s.listen()
	if err != nil {
		close(s.done)
		return err
	}
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
	close(s.ready)
	s.logger.Info("modbus simulator listening", "addr", addr, "devices", len(s.devices))

	var tick <-chan time.Time
	if s.cfg.Tick > 0 {
		t := time.NewTicker(s.cfg.Tick)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			s.Step(s.cfg.Now())
		case <-ctx.Done():
			close(s.done) // first, so that held requests let their connections go
			if err := srv.Stop(); err != nil {
				return fmt.Errorf("sim: stop: %w", err)
			}
			s.logger.Info("modbus simulator stopped", "addr", addr)
			return nil
		}
	}
}

// Step advances every model to now and re-encodes the registers. Run calls
// it on every tick; with a negative Tick the caller does. The first step
// (Run's, or the caller's first) marks the start that fault delays count from.
// A now earlier than the previous step leaves the simulation as it is.
func (s *Sim) Step(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.start.IsZero() {
		s.start = now
	}
	elapsed := now.Sub(s.start)
	for _, d := range s.devices {
		d.step(now, elapsed, s.logger)
	}
}

func (d *device) step(now time.Time, elapsed time.Duration, logger *slog.Logger) {
	var dt time.Duration
	if d.stepped {
		dt = now.Sub(d.last)
	}
	if dt < 0 {
		return
	}
	if !d.stepped {
		startFaults(d.model, d.ID, d.faults, now.Add(-elapsed), logger)
	}
	d.last, d.stepped = now, true
	for _, f := range d.faults {
		if !d.active[f.Kind] && !IsEnergyFault(f.Kind) && elapsed >= f.After {
			d.active[f.Kind] = true
			logger.Info("fault injected", "device", d.ID, "kind", f.Kind, "after", f.After)
		}
	}
	d.model.step(now, dt, d.active)
	for _, p := range d.regs.points {
		if v, ok := d.model.value(p.Name); ok {
			if d.active[FaultNaN] && (p.Type == drivers.TypeFloat32 || p.Type == drivers.TypeFloat64) {
				v = math.NaN()
			}
			d.regs.write(p, v)
		}
	}
}
