package mqttconn

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/retry"
)

// ErrNotConnected is returned by Publish while no connection is up.
var ErrNotConnected = errors.New("mqtt: not connected")

// Conn is one connection to the broker that Run keeps up, shared by every
// part of facilityd that talks to that broker with the same client id (the
// input driver and the outbound events). On every connect it subscribes to
// every filter asked for, whatever the broker remembered, announces
// availability, and then calls the OnConnect functions.
type Conn struct {
	cfg  Config
	log  *slog.Logger
	dial Dialer

	subs      map[string]byte // every filter and its QoS
	routes    []route         // the subscriptions with a handler of their own
	fallback  Handler
	onConnect []func()

	running atomic.Bool
	link    link

	mu    sync.Mutex
	stats Stats
}

type route struct {
	filter string
	h      Handler
}

// Stats are the connection's counters since start.
type Stats struct {
	Connected bool
	// Connects counts successful connections; ConnectErrors failed attempts.
	Connects      int64
	ConnectErrors int64
	LastError     string
}

// New returns a Conn for cfg, which must have had its defaults applied; it
// does no I/O. A nil logger discards logs.
func New(cfg Config, logger *slog.Logger) *Conn {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Conn{cfg: cfg, log: logger, dial: Dial, subs: map[string]byte{}}
}

// SetDialer replaces paho (tests fake the broker with it); call it before
// Run.
func (c *Conn) SetDialer(d Dialer) { c.dial = d }

// Config returns the connection's config.
func (c *Conn) Config() Config { return c.cfg }

// Subscribe asks for filter at QoS qos on every connection; call it before
// Run. A message goes to the handler of the first subscription, in the
// order they were made, that has one and whose filter matches the topic;
// every other message (h nil, or a topic left over from an earlier session's
// subscriptions) goes to the default handler.
func (c *Conn) Subscribe(filter string, qos byte, h Handler) {
	c.subs[filter] = qos
	if h != nil {
		c.routes = append(c.routes, route{filter, h})
	}
}

// SetDefaultHandler sets the handler of the messages no subscription
// claims; call it before Run.
func (c *Conn) SetDefaultHandler(h Handler) { c.fallback = h }

// OnConnect adds a function called after every connect, once subscribed
// and announced online (the outbound events send their retained topics
// again); call it before Run. It must not block.
func (c *Conn) OnConnect(f func()) { c.onConnect = append(c.onConnect, f) }

// Subscriptions returns how many filters every connection subscribes to.
func (c *Conn) Subscriptions() int { return len(c.subs) }

func (c *Conn) handle(topic string, payload []byte) {
	for _, r := range c.routes {
		if Match(r.filter, topic) {
			r.h(topic, payload)
			return
		}
	}
	if c.fallback != nil {
		c.fallback(topic, payload)
	}
}

// Run connects, and reconnects for ever, backing off from reconnect_min up
// to reconnect_max, until ctx is done; it then announces offline and
// disconnects. Run may be called once; it returns nil when ctx is done.
func (c *Conn) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("mqtt: Conn.Run called twice")
	}
	b := backoff{min: c.cfg.ReconnectMin, max: c.cfg.ReconnectMax}
	lastErr := ""
	for ctx.Err() == nil {
		s, err := c.dial(ctx, &c.cfg, c.handle)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait := b.next()
			c.mu.Lock()
			c.stats.ConnectErrors++
			c.stats.LastError = err.Error()
			c.mu.Unlock()
			if msg := err.Error(); msg != lastErr {
				c.log.Warn("mqtt connect failed; retrying", "broker", redact.URL(c.cfg.Broker), "err", err, "retry_in", wait.Round(time.Millisecond))
				lastErr = msg
			} else {
				c.log.Debug("mqtt connect failed again", "err", err, "retry_in", wait.Round(time.Millisecond))
			}
			retry.Sleep(ctx, wait)
			continue
		}
		lastErr = ""
		up := time.Now()
		if err := c.setup(ctx, s); err != nil {
			s.Close(0)
			if ctx.Err() != nil {
				return nil
			}
			c.log.Warn("mqtt subscribe failed; reconnecting", "err", err)
			retry.Sleep(ctx, b.next())
			continue
		}
		c.link.set(s)
		for _, f := range c.onConnect {
			f()
		}
		c.mu.Lock()
		c.stats.Connects++
		c.stats.Connected = true
		c.mu.Unlock()
		c.log.Info("mqtt connected", "broker", redact.URL(c.cfg.Broker), "client_id", c.cfg.ClientID, "subscriptions", len(c.subs))
		select {
		case <-ctx.Done():
			c.link.set(nil)
			c.markDisconnected("")
			if c.cfg.AvailabilityTopic != "" {
				pctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = s.Publish(pctx, c.cfg.AvailabilityTopic, c.cfg.QoSLevel(), true, []byte("offline"))
				cancel()
			}
			s.Close(250 * time.Millisecond)
			return nil
		case <-s.Lost():
			c.link.set(nil)
			c.markDisconnected(s.Err().Error())
			s.Close(0)
			if time.Since(up) >= min(30*time.Second, c.cfg.ReconnectMax) {
				b.reset() // a connection that held starts the back-off afresh
			}
			wait := b.next()
			c.log.Warn("mqtt connection lost; reconnecting", "err", s.Err(), "retry_in", wait.Round(time.Millisecond))
			retry.Sleep(ctx, wait)
		}
	}
	return nil
}

func (c *Conn) markDisconnected(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Connected = false
	if reason != "" {
		c.stats.LastError = reason
	}
}

// setup subscribes on a new connection and announces facilityd online.
func (c *Conn) setup(ctx context.Context, s Client) error {
	sctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	refused, err := s.Subscribe(sctx, c.subs)
	if err != nil {
		return err
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		c.log.Error("mqtt broker refused subscriptions (check its ACL)", "filters", refused)
	}
	if c.cfg.AvailabilityTopic == "" {
		return nil
	}
	return s.Publish(sctx, c.cfg.AvailabilityTopic, c.cfg.QoSLevel(), true, []byte("online"))
}

// Publish sends one message at the configured QoS on the current
// connection, waiting for the broker's ack; without one it returns
// ErrNotConnected at once.
func (c *Conn) Publish(ctx context.Context, topic string, retained bool, payload []byte) error {
	s := c.link.get()
	if s == nil {
		return ErrNotConnected
	}
	return s.Publish(ctx, topic, c.cfg.QoSLevel(), retained, payload)
}

// Connected reports whether a connection is up and subscribed.
func (c *Conn) Connected() bool { return c.link.get() != nil }

// Stats returns the connection's counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// link holds the current connection, if any.
type link struct {
	mu sync.Mutex
	s  Client
}

func (l *link) set(s Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s = s
}

func (l *link) get() Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

// backoff is the wait between connection attempts: min, doubling to max,
// with ±20% jitter so that many clients do not return in step.
type backoff struct {
	min, max time.Duration
	failures int
}

func (b *backoff) next() time.Duration {
	b.failures++
	return retry.Jitter(retry.Backoff(b.failures, b.min, b.max), 0.2)
}

func (b *backoff) reset() { b.failures = 0 }

// Match reports whether an MQTT topic filter (with + and #) matches a
// topic. Topics starting with $ match no filter that starts with a
// wildcard, as brokers do.
func Match(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		t, trest, tmore := strings.Cut(topic, "/")
		switch {
		case f == "#":
			return true
		case f != "+" && f != t:
			return false
		case !fmore || !tmore:
			return fmore == tmore || (!tmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}
