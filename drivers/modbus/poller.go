package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// healthState is the point of drivers.HealthMeasurement that holds the
// device's status as text. The poller writes the health samples once per
// device per tick: drivers.HealthUp, healthState, drivers.HealthLatency (the
// whole poll, only when up), and drivers.HealthErrors (failed requests and
// points) and drivers.HealthSkipped (ticks missed because a poll overran),
// both cumulative since start.
const healthState = drivers.HealthState

// DeviceState is the polling health of one device, for the API.
type DeviceState struct {
	// Status is unknown before the first poll; online when every request
	// was answered and every point decoded; degraded when the device
	// answered but some requests failed (an exception, a short response, a
	// timeout after earlier answers) or some points did not decode; offline
	// when it did not answer, or while it sits out a backoff.
	Status drivers.Status
	// LastPoll is when the last poll started; LastAnswer when the last poll
	// that got an answer started.
	LastPoll   time.Time
	LastAnswer time.Time
	// Latency is how long the last answered poll took.
	Latency time.Duration
	// LastError is the first problem of the last poll, empty if none.
	LastError string
	// Errors counts failed requests and points; Skipped counts ticks missed
	// because a poll was still running. Both are cumulative.
	Errors  int64
	Skipped int64
	// Requests counts the requests sent, retries included; cumulative.
	Requests int64
	// Failures counts consecutive polls without an answer; Backoff is how
	// many ticks the device still sits out because of them.
	Failures int
	Backoff  int
}

// Poller polls Modbus devices. Devices that share a transport and address
// (a TCP gateway, a serial line) share one connection, used by one
// goroutine one request at a time; different gateways are polled in
// parallel.
type Poller struct {
	logger   *slog.Logger
	gateways []*gateway
	byID     map[string]*device
	newConn  connFactory
	running  atomic.Bool
	stopped  chan struct{} // closed when Run returns
	// jitter returns a random delay below its argument (0 for 0).
	jitter func(time.Duration) time.Duration

	sinkMu sync.Mutex // Put is called by one gateway at a time

	mu     sync.Mutex
	states map[string]*DeviceState // each also device.state; both guarded by mu
}

// gateway is the devices behind one connection.
type gateway struct {
	cfg     Config // transport, address and line settings of its first device
	devices []*device
	writes  chan *writeReq   // served between polls
	buf     []drivers.Sample // the samples of the device being polled (device.buf)
}

// New checks the devices and plans their requests; it does no I/O. It
// reports every problem, each naming the device and, where it applies,
// the point. A nil logger discards logs.
func New(devices []Device, logger *slog.Logger) (*Poller, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Poller{
		logger:  logger,
		byID:    map[string]*device{},
		newConn: newConn,
		states:  map[string]*DeviceState{},
		stopped: make(chan struct{}),
		jitter:  randomJitter,
	}
	var errs []error
	byKey := map[string]*gateway{}
	shared := plans{}
	for _, dev := range devices {
		d, err := newDeviceWith(dev, shared)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := p.byID[d.ID]; dup {
			errs = append(errs, fmt.Errorf("device %q: defined twice", d.ID))
			continue
		}
		p.byID[d.ID] = d
		key := string(d.Config.Transport) + " " + d.Config.Address
		g := byKey[key]
		if g == nil {
			g = &gateway{cfg: d.Config, writes: make(chan *writeReq)}
			byKey[key] = g
			p.gateways = append(p.gateways, g)
		} else if err := sameLine(g.cfg, d.Config); err != nil {
			errs = append(errs, fmt.Errorf("device %q: %w", d.ID, err))
			continue
		}
		g.devices = append(g.devices, d)
		d.buf = &g.buf
		d.state = &DeviceState{Status: drivers.StatusUnknown}
		p.states[d.ID] = d.state
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// sameLine checks that devices on one serial line agree on its settings.
func sameLine(a, b Config) error {
	if a.Transport != RTU {
		return nil
	}
	if a.BaudRate != b.BaudRate || a.DataBits != b.DataBits || a.Parity != b.Parity || a.StopBits != b.StopBits {
		return fmt.Errorf("serial line %s: settings %d %d%s%d differ from %d %d%s%d of the devices before",
			b.Address, b.BaudRate, b.DataBits, b.Parity, b.StopBits, a.BaudRate, a.DataBits, a.Parity, a.StopBits)
	}
	return nil
}

// Run polls every device at its interval and puts the samples into sink
// until ctx is done; then it waits for its goroutines and returns nil.
// Shutdown can take up to one request timeout, since a request in flight
// cannot be cancelled. Run may be called once.
func (p *Poller) Run(ctx context.Context, sink drivers.Sink) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("modbus: Run called twice")
	}
	defer close(p.stopped)
	var wg sync.WaitGroup
	for _, g := range p.gateways {
		wg.Go(func() { p.runGateway(ctx, g, sink) })
	}
	wg.Wait()
	return nil
}

// randomJitter returns a random delay in [0, max).
func randomJitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// States returns the polling state of every device by id.
func (p *Poller) States() map[string]DeviceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]DeviceState, len(p.states))
	for id, st := range p.states {
		out[id] = *st
	}
	return out
}
