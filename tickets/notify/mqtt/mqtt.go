// Package mqtt publishes ticket notifications to an MQTT broker, with QoS 1
// or 2 so that the outbox marks a notification delivered only once the
// broker has it.
package mqtt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"text/template"
	"time"

	"github.com/facilityd/facilityd/internal/mqttconn"
	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/secret"
	"github.com/facilityd/facilityd/tickets"
)

// Conn is the part of an MQTT client the notifier uses; internal/mqttconn
// provides the real one, tests may fake it.
type Conn interface {
	Publish(ctx context.Context, topic string, qos byte, payload []byte) error
	Close()
}

// Dialer connects to the broker.
type Dialer func(ctx context.Context) (Conn, error)

// Notifier publishes notifications of one receiver. It connects on the
// first notification and after a failure, never in between.
type Notifier struct {
	name  string
	topic *template.Template
	body  *template.Template
	qos   byte
	dial  Dialer
	red   *redact.Redactor // the password

	mu   sync.Mutex
	conn Conn
}

var _ tickets.Notifier = (*Notifier)(nil)

// New builds the notifier of receiver name over internal/mqttconn, the
// connection code of the MQTT driver (paho, TLS, credentials). It reads
// the password and CA file, and does no other I/O. Its connections use a
// clean session and no last will.
func New(name string, cfg tickets.MQTTConfig) (*Notifier, error) {
	password, err := secret.Read(cfg.PasswordFile, cfg.PasswordEnv)
	if err != nil {
		return nil, fmt.Errorf("mqtt %s: password: %w", name, err)
	}
	u, err := url.Parse(cfg.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mqtt %s: broker must be a URL such as tcp://host:1883", name)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cc := mqttconn.Config{
		Broker:         cfg.Broker,
		ClientID:       cmpOr(cfg.ClientID, "facilityd-tickets-"+randomHex()),
		Username:       cfg.Username,
		Password:       password,
		Session:        mqttconn.Clean,
		KeepAlive:      30 * time.Second, // paho's default
		ConnectTimeout: timeout,
	}
	if mqttconn.Secure(cfg.Broker) {
		cc.TLS.CAFile = cfg.CAFile
		if _, err := cc.TLS.Load(); err != nil { // a bad CA file fails now, not at the first ticket
			return nil, fmt.Errorf("mqtt %s: %w", name, err)
		}
	}
	dial := func(ctx context.Context) (Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := mqttconn.Dial(dctx, &cc, nil)
		if err != nil {
			return nil, timedOut(ctx, err, timeout)
		}
		return &client{c: c, timeout: timeout}, nil
	}
	m, err := NewWithDialer(name, cfg, dial)
	if m != nil {
		m.red = redact.New(password)
	}
	return m, err
}

// NewWithDialer is New with another connection factory.
func NewWithDialer(name string, cfg tickets.MQTTConfig, dial Dialer) (*Notifier, error) {
	topic, err := tickets.ParseTemplate("topic", cfg.Topic)
	if err != nil || topic == nil {
		return nil, fmt.Errorf("mqtt %s: topic: %v", name, cmpOr(err, errors.New("required")))
	}
	body, err := tickets.ParseTemplate("template", cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("mqtt %s: %w", name, err)
	}
	qos := byte(1)
	switch cfg.QoS {
	case 0, 1:
	case 2:
		qos = 2
	default:
		return nil, fmt.Errorf("mqtt %s: qos %d: want 1 or 2", name, cfg.QoS)
	}
	return &Notifier{name: name, topic: topic, body: body, qos: qos, dial: dial}, nil
}

// Notify publishes n: the Notification as JSON, or the template's output,
// to the topic template's output.
// Its errors, which may quote the broker, are redacted.
func (m *Notifier) Notify(ctx context.Context, n tickets.Notification) error {
	return m.red.Error(m.notify(ctx, n))
}

func (m *Notifier) notify(ctx context.Context, n tickets.Notification) error {
	var topic bytes.Buffer
	if err := m.topic.Execute(&topic, n); err != nil {
		return fmt.Errorf("mqtt %s: %w: topic: %v", m.name, tickets.ErrRejected, err)
	}
	var payload []byte
	if m.body == nil {
		payload, _ = json.Marshal(n)
	} else {
		var b bytes.Buffer
		if err := m.body.Execute(&b, n); err != nil {
			return fmt.Errorf("mqtt %s: %w: template: %v", m.name, tickets.ErrRejected, err)
		}
		payload = b.Bytes()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn == nil {
		c, err := m.dial(ctx)
		if err != nil {
			return fmt.Errorf("mqtt %s: connect: %w", m.name, err)
		}
		m.conn = c
	}
	if err := m.conn.Publish(ctx, topic.String(), m.qos, payload); err != nil {
		m.conn.Close()
		m.conn = nil // connect afresh next time
		return fmt.Errorf("mqtt %s: publish: %w", m.name, err)
	}
	return nil
}

// Close disconnects from the broker.
func (m *Notifier) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
	return nil
}

// client is a Conn over an mqttconn.Client, each publish bounded by the
// receiver's timeout.
type client struct {
	c       mqttconn.Client
	timeout time.Duration
}

func (p *client) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	pctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return timedOut(ctx, p.c.Publish(pctx, topic, qos, false, payload), p.timeout)
}

func (p *client) Close() { p.c.Close(250 * time.Millisecond) }

// timedOut says that the broker did not answer when err is the end of the
// receiver's timeout rather than of the caller's ctx.
func timedOut(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("no answer from the broker within %s", timeout)
	}
	return err
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func randomHex() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
