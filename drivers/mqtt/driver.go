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
	"github.com/facilityd/facilityd/internal/redact"
)

// Driver reads the MQTT devices of a config and publishes facilityd's
// events, over one connection to the broker that Run keeps up.
type Driver struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	dial   dialFunc
	routes []*route
	subs   map[string]byte // subscription filters and their QoS
	byID   map[string]*device
	order  []*device

	running atomic.Bool
	link    link
	out     *outbox
	state   stateCache

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
	// Published and Dropped count outbound messages: sent, and dropped
	// because the queue was full while the broker was away.
	Published int64
	Dropped   int64
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
		dial:   dialPaho,
		subs:   map[string]byte{},
		byID:   map[string]*device{},
		topics: newTopicStats(logger),
		out:    newOutbox(cfg.Publish.Queue),
	}
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
		d.subs[dv.filter.sub] = cfg.qos()
	}
	if cfg.Publish.HomeAssistant != "" {
		d.subs[cfg.Publish.HomeAssistant+"/status"] = cfg.qos()
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// Run connects to the broker, subscribes, and puts the samples of every
// message into sink until ctx is done; it reconnects for ever, backing off
// up to reconnect_max. It also publishes the outbound events queued with
// the Publish methods. Run may be called once; it returns nil when ctx is
// done.
func (d *Driver) Run(ctx context.Context, sink drivers.Sink) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("mqtt: Run called twice")
	}
	d.mu.Lock()
	d.ctx, d.sink, d.started = ctx, sink, d.now()
	d.mu.Unlock()
	d.log.Info("mqtt starting", "config", d.cfg, "devices", len(d.order), "subscriptions", len(d.subs))
	var wg sync.WaitGroup
	wg.Go(func() { d.healthLoop(ctx) })
	wg.Go(func() { d.publishLoop(ctx) })
	d.connectLoop(ctx)
	wg.Wait()
	return nil
}

// connectLoop keeps one session up until ctx is done.
func (d *Driver) connectLoop(ctx context.Context) {
	b := backoff{min: d.cfg.ReconnectMin, max: d.cfg.ReconnectMax}
	lastErr := ""
	for ctx.Err() == nil {
		s, err := d.dial(ctx, &d.cfg, d.onMessage)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := b.next()
			d.mu.Lock()
			d.stats.ConnectErrors++
			d.stats.LastError = err.Error()
			d.mu.Unlock()
			if msg := err.Error(); msg != lastErr {
				d.log.Warn("mqtt connect failed; retrying", "broker", redact.URL(d.cfg.Broker), "err", err, "retry_in", wait.Round(time.Millisecond))
				lastErr = msg
			} else {
				d.log.Debug("mqtt connect failed again", "err", err, "retry_in", wait.Round(time.Millisecond))
			}
			drivers.Sleep(ctx, wait)
			continue
		}
		lastErr = ""
		up := d.now()
		if err := d.setup(ctx, s); err != nil {
			s.Close(0)
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("mqtt subscribe failed; reconnecting", "err", err)
			drivers.Sleep(ctx, b.next())
			continue
		}
		d.link.set(s)
		d.out.resendRetained()
		d.mu.Lock()
		d.stats.Connects++
		d.stats.Connected = true
		d.mu.Unlock()
		d.log.Info("mqtt connected", "broker", redact.URL(d.cfg.Broker), "client_id", d.cfg.ClientID, "subscriptions", len(d.subs))
		select {
		case <-ctx.Done():
			d.link.set(nil)
			d.markDisconnected("")
			pctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.Publish(pctx, d.cfg.AvailabilityTopic, d.cfg.qos(), true, []byte("offline"))
			cancel()
			s.Close(250 * time.Millisecond)
			return
		case <-s.Lost():
			d.link.set(nil)
			d.markDisconnected(s.Err().Error())
			s.Close(0)
			if d.now().Sub(up) >= min(30*time.Second, d.cfg.ReconnectMax) {
				b.reset() // a connection that held starts the back-off afresh
			}
			wait := b.next()
			d.log.Warn("mqtt connection lost; reconnecting", "err", s.Err(), "retry_in", wait.Round(time.Millisecond))
			drivers.Sleep(ctx, wait)
		}
	}
}

func (d *Driver) markDisconnected(reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Connected = false
	if reason != "" {
		d.stats.LastError = reason
	}
}

// setup subscribes on a new session and announces facilityd online.
func (d *Driver) setup(ctx context.Context, s session) error {
	sctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
	defer cancel()
	refused, err := s.Subscribe(sctx, d.subs)
	if err != nil {
		return err
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		d.log.Error("mqtt broker refused subscriptions (check its ACL)", "filters", refused)
	}
	return s.Publish(sctx, d.cfg.AvailabilityTopic, d.cfg.qos(), true, []byte("online"))
}

// onMessage routes one message to the devices whose topic it matches and
// puts their samples into the sink. Nothing in it may stop the consumer:
// problems are counted and logged, never returned.
func (d *Driver) onMessage(topic string, payload []byte) {
	if d.cfg.Publish.HomeAssistant != "" && topic == d.cfg.Publish.HomeAssistant+"/status" {
		if string(payload) == "online" { // Home Assistant restarted: announce again
			d.out.resendRetained()
		}
		return
	}
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

// Stats returns the driver's counters and the problems of each topic.
func (d *Driver) Stats() Stats {
	d.mu.Lock()
	st := d.stats
	st.Topics = d.topics.snapshot()
	d.mu.Unlock()
	st.Published, st.Dropped = d.out.counts()
	return st
}

// Connected reports whether a session is up and subscribed.
func (d *Driver) Connected() bool { return d.link.get() != nil }

// Devices returns the ids of the driver's devices, sorted.
func (d *Driver) Devices() []string { return slices.Sorted(maps.Keys(d.byID)) }

// link holds the current session, if any.
type link struct {
	mu sync.Mutex
	s  session
}

func (l *link) set(s session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s = s
}

func (l *link) get() session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}
