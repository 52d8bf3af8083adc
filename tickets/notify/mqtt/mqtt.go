// Package mqtt publishes ticket notifications to an MQTT broker, with QoS 1
// or 2 so that the outbox marks a notification delivered only once the
// broker has it.
package mqtt

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"text/template"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/secret"
	"github.com/facilityd/facilityd/tickets"
)

// Conn is the part of an MQTT client the notifier uses; paho provides the
// real one, tests may fake it.
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

// New builds the notifier of receiver name with paho; it reads the password
// and CA file, and does no other I/O.
func New(name string, cfg tickets.MQTTConfig) (*Notifier, error) {
	password, err := secret.Read(cfg.PasswordFile, cfg.PasswordEnv)
	if err != nil {
		return nil, fmt.Errorf("mqtt %s: password: %w", name, err)
	}
	u, err := url.Parse(cfg.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mqtt %s: broker must be a URL such as tcp://host:1883", name)
	}
	opts := paho.NewClientOptions().AddBroker(cfg.Broker).
		SetClientID(cmpOr(cfg.ClientID, "facilityd-tickets-"+randomHex())).
		SetUsername(cfg.Username).SetPassword(password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(true)
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	opts.SetConnectTimeout(timeout).SetWriteTimeout(timeout)
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "wss":
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pool, err := secret.CertPool(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("mqtt %s: ca_file: %w", name, err)
			}
			tc.RootCAs = pool
		}
		opts.SetTLSConfig(tc)
	}
	dial := func(ctx context.Context) (Conn, error) {
		c := paho.NewClient(opts)
		if err := wait(ctx, c.Connect(), timeout); err != nil {
			return nil, err
		}
		return &pahoConn{c: c, timeout: timeout}, nil
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

type pahoConn struct {
	c       paho.Client
	timeout time.Duration
}

func (p *pahoConn) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	return wait(ctx, p.c.Publish(topic, qos, false, payload), p.timeout)
}

func (p *pahoConn) Close() { p.c.Disconnect(250) }

// wait waits for a paho token, the context or the timeout.
func wait(ctx context.Context, tok paho.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %s", timeout)
	}
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
