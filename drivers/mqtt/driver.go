package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/mqttconn"
)

// Driver reads the MQTT devices of a config over one connection to the
// broker that Run keeps up. The outbound events (events/mqtt) share that
// connection: see Conn.
type Driver struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	conn   *mqttconn.Conn
	routes []*route
	byID   map[string]*device
	order  []*device

	running atomic.Bool

	mu      sync.Mutex // guards what message handling and the health tick touch
	ctx     context.Context
	sink    drivers.Sink
	started time.Time
	samples []drivers.Sample // reused for every message; the sink must not keep it
	topics  *topicStats
	stats   Stats
}

// route is the devices behind one topic filter.
type route struct {
	f     *filter
	byKey map[string]*device // when the filter has +device
	only  *device            // when it has not
}

// Stats are the driver's counters since start, for /metrics and the API.
type Stats struct {
	Connected bool
	// Connects counts successful connections; ConnectErrors failed attempts.
	Connects      int64
	ConnectErrors int64
	LastError     string
	// Messages counts every message received; Samples what they gave.
	Messages  int64
	Samples   int64
	Malformed int64
	Oversize  int64
	Unmatched int64
	Topics    map[string]TopicStats
}

// New checks the connection settings and the devices and compiles their
// topics and payload readers; it does no I/O. cfg must have had its
// defaults applied (Config.WithDefaults). Every problem is reported, each
// naming its device. A nil logger discards logs.
func New(cfg Config, devices []Device, logger *slog.Logger) (*Driver, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	errs := cfg.Check()
	d := &Driver{
		cfg:    cfg,
		log:    logger,
		now:    time.Now,
		conn:   mqttconn.New(cfg.Config, logger),
		byID:   map[string]*device{},
		topics: newTopicStats(logger),
	}
	d.conn.SetDefaultHandler(d.onMessage)
	byFilter := map[string]*route{}
	for _, dev := range devices {
		dv, err := newDevice(dev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d.byID[dv.ID] != nil {
			errs = append(errs, fmt.Errorf("device %q: defined twice", dv.ID))
			continue
		}
		r := byFilter[dv.filter.raw]
		if r == nil {
			r = &route{f: dv.filter, byKey: map[string]*device{}}
			byFilter[dv.filter.raw] = r
			d.routes = append(d.routes, r)
		}
		switch {
		case dv.filter.device >= 0 && r.byKey[dv.key] != nil:
			errs = append(errs, fmt.Errorf("device %q: topic %q with +device %q is device %q's already: set topic_id", dv.ID, dv.filter.raw, dv.key, r.byKey[dv.key].ID))
			continue
		case dv.filter.device < 0 && r.only != nil:
			errs = append(errs, fmt.Errorf("device %q: topic %q is device %q's already: put +device in the topic, or give each device its own topic", dv.ID, dv.filter.raw, r.only.ID))
			continue
		case dv.filter.device >= 0:
			r.byKey[dv.key] = dv
		default:
			r.only = dv
		}
		d.byID[dv.ID] = dv
		d.order = append(d.order, dv)
		d.conn.Subscribe(dv.filter.sub, cfg.QoSLevel(), nil) // to the default handler, onMessage
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// Run connects to the broker, subscribes, and puts the samples of every
// message into sink until ctx is done; it reconnects for ever, backing off
// up to reconnect_max. The connection also carries what the outbound
// events built over Conn publish. Run may be called once; it returns nil
// when ctx is done.
func (d *Driver) Run(ctx context.Context, sink drivers.Sink) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("mqtt: Run called twice")
	}
	d.mu.Lock()
	d.ctx, d.sink, d.started = ctx, sink, d.now()
	d.mu.Unlock()
	d.log.Info("mqtt starting", "config", d.cfg, "devices", len(d.order), "subscriptions", d.conn.Subscriptions())
	var wg sync.WaitGroup
	wg.Go(func() { d.healthLoop(ctx) })
	err := d.conn.Run(ctx)
	wg.Wait()
	return err
}

// Conn is the driver's connection, which Run keeps up. The outbound events
// publish over it, so that the broker sees one client with one availability
// topic; build them (events/mqtt.New) before Run.
func (d *Driver) Conn() *mqttconn.Conn { return d.conn }

// onMessage routes one message to the devices whose topic it matches and
// puts their samples into the sink. Nothing in it may stop the consumer:
// problems are counted and logged, never returned.
func (d *Driver) onMessage(topic string, payload []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.stats.Messages++
	d.samples = d.samples[:0]
	oversize := len(payload) > d.cfg.MaxPayload
	matched := false
	for _, r := range d.routes {
		key, pointName, ok := r.f.match(topic)
		if !ok {
			continue
		}
		dev := r.only
		if r.f.device >= 0 {
			dev = r.byKey[key]
		}
		if dev == nil {
			continue
		}
		matched = true
		var res parsed
		if oversize {
			res.err = fmt.Errorf("payload of %d bytes is larger than max_payload %d", len(payload), d.cfg.MaxPayload)
			dev.health.observe(now, res)
			d.stats.Oversize++
			d.topics.problem(now, "oversize", topic, dev.ID, res.err.Error(), len(payload))
			continue
		}
		d.samples, res = dev.parse(payload, pointName, now, d.samples)
		dev.health.observe(now, res)
		if res.err != nil {
			d.stats.Malformed++
			d.topics.problem(now, "malformed", topic, dev.ID, res.err.Error(), len(payload))
		}
	}
	if !matched {
		d.stats.Unmatched++
		d.topics.problem(now, "unmatched", topic, "", "no configured device for this topic", len(payload))
		return
	}
	if len(d.samples) > 0 {
		d.stats.Samples += int64(len(d.samples))
		d.sink.Put(d.ctx, d.samples)
	}
}

// healthLoop emits device_health samples and logs status changes.
func (d *Driver) healthLoop(ctx context.Context) {
	t := time.NewTicker(d.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.healthTick()
		}
	}
}

func (d *Driver) healthTick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.samples = d.samples[:0]
	for _, dev := range d.order {
		st := dev.health.state(now, d.started, dev.Config.StaleAfter)
		if st.Status != dev.health.reported {
			level := slog.LevelInfo
			if st.Status == drivers.StatusOffline || st.Status == drivers.StatusDegraded {
				level = slog.LevelWarn
			}
			d.log.Log(d.ctx, level, "mqtt device status", "device", dev.ID, "status", st.Status, "was", dev.health.reported, "reason", st.LastError)
			dev.health.reported = st.Status
		}
		d.samples = dev.healthSamples(st, now, d.samples)
	}
	if len(d.samples) > 0 {
		d.sink.Put(d.ctx, d.samples)
	}
}

// States returns the state of every MQTT device by id.
func (d *Driver) States() map[string]DeviceState {
	d.mu.Lock()
	defer d.mu.Unlock()
	now, started := d.now(), d.started
	if started.IsZero() {
		started = now
	}
	out := make(map[string]DeviceState, len(d.order))
	for _, dev := range d.order {
		out[dev.ID] = dev.health.state(now, started, dev.Config.StaleAfter)
	}
	return out
}

// Stats returns the driver's counters, its connection's, and the problems
// of each topic.
func (d *Driver) Stats() Stats {
	d.mu.Lock()
	st := d.stats
	st.Topics = d.topics.snapshot()
	d.mu.Unlock()
	cs := d.conn.Stats()
	st.Connected, st.Connects, st.ConnectErrors, st.LastError = cs.Connected, cs.Connects, cs.ConnectErrors, cs.LastError
	return st
}

// Connected reports whether a connection is up and subscribed.
func (d *Driver) Connected() bool { return d.conn.Connected() }

// Devices returns the ids of the driver's devices, sorted.
func (d *Driver) Devices() []string { return slices.Sorted(maps.Keys(d.byID)) }
