// Package mqtt publishes facilityd's own events to the broker: alert
// transitions, ticket events, every device's status and latest values
// (retained), and Home Assistant discovery. It is the outbound half of MQTT;
// the input driver is drivers/mqtt, and both share one connection
// (internal/mqttconn) with one client id, so the broker sees one facilityd.
//
// Publishing never blocks the caller: while the broker is away events wait
// in a bounded queue (the oldest are dropped and counted), and the latest
// payload of every retained topic is sent again after each reconnect.
// Durable delivery is the job of the tickets outbox, not of this package.
package mqtt

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/internal/mqttconn"
)

// Publisher queues events and sends them whenever its connection is up.
type Publisher struct {
	cfg   Config
	conn  *mqttconn.Conn
	log   *slog.Logger
	out   *outbox
	state stateCache

	running atomic.Bool
}

// Stats count outbound messages: sent, and dropped because the queue was
// full while the broker was away.
type Stats struct {
	Published int64
	Dropped   int64
}

// New returns a Publisher of cfg (defaults applied) over conn. It must be
// called before conn runs: it asks conn to send the retained topics again
// after every connect and, with Home Assistant discovery, to subscribe to
// Home Assistant's status so that a restarted Home Assistant is announced
// to again. It does no I/O. A nil logger discards logs.
func New(cfg Config, conn *mqttconn.Conn, logger *slog.Logger) *Publisher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{cfg: cfg, conn: conn, log: logger, out: newOutbox(cfg.Queue)}
	conn.OnConnect(p.out.resendRetained)
	if cfg.HomeAssistant != "" {
		cc := conn.Config()
		conn.Subscribe(cfg.HomeAssistant+"/status", cc.QoSLevel(), func(_ string, payload []byte) {
			if string(payload) == "online" { // Home Assistant restarted: announce again
				p.out.resendRetained()
			}
		})
	}
	return p
}

// Run sends what is queued whenever the connection is up, and the device
// state every state_interval, until ctx is done. The connection is run by
// its owner (the input driver). Run may be called once; it returns nil when
// ctx is done.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("mqtt events: Run called twice")
	}
	p.publishLoop(ctx)
	return nil
}

// Stats returns the counts of outbound messages.
func (p *Publisher) Stats() Stats {
	published, dropped := p.out.counts()
	return Stats{Published: published, Dropped: dropped}
}

// publishLoop sends what the outbox holds whenever the connection is up.
func (p *Publisher) publishLoop(ctx context.Context) {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	state := time.NewTicker(p.cfg.StateInterval)
	defer state.Stop()
	timeout := p.conn.Config().ConnectTimeout
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.out.wake:
		case <-retry.C:
		case <-state.C:
			if p.cfg.DeviceState != "" {
				p.state.flush(func(dev string, b []byte) {
					p.out.retain(expand(p.cfg.DeviceState, "device", dev), b)
				})
			}
		}
		if !p.conn.Connected() {
			continue
		}
		for {
			m, ok := p.out.next()
			if !ok {
				break
			}
			pctx, cancel := context.WithTimeout(ctx, timeout)
			err := p.conn.Publish(pctx, m.topic, m.retained, m.payload)
			cancel()
			if err != nil {
				if failed++; failed == 1 || failed%100 == 0 {
					p.log.Warn("mqtt publish failed; will retry", "topic", m.topic, "err", err, "failures", failed)
				}
				break
			}
			failed = 0
			p.out.sent(m)
		}
	}
}
