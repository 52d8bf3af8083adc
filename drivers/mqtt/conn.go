package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/retry"
	"github.com/facilityd/facilityd/internal/secret"
)

// session is one connection to the broker. The driver owns reconnecting:
// a lost session is closed and a new one dialed, so every connection
// subscribes afresh whatever the broker remembered.
type session interface {
	// Subscribe subscribes to every filter and waits for the broker's
	// answer; refused lists the filters the broker refused.
	Subscribe(ctx context.Context, filters map[string]byte) (refused []string, err error)
	// Publish sends one message and, for QoS 1, waits for its ack.
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
	// Lost is closed when the connection drops; Err then says why.
	Lost() <-chan struct{}
	Err() error
	// Close disconnects cleanly, waiting up to quiesce for work in flight.
	Close(quiesce time.Duration)
}

// dialFunc opens a session. handle receives every message; it must not keep
// the payload after it returns.
type dialFunc func(ctx context.Context, c *Config, handle func(topic string, payload []byte)) (session, error)

var _ session = (*pahoSession)(nil)

// pahoSession is a session over eclipse/paho.mqtt.golang with its own
// reconnect switched off.
type pahoSession struct {
	c    paho.Client
	once sync.Once
	lost chan struct{}
	err  error
}

// dialPaho connects with paho. Credentials and TLS files are read here, at
// every connect, so rotated secrets are picked up.
func dialPaho(ctx context.Context, c *Config, handle func(topic string, payload []byte)) (session, error) {
	opts := paho.NewClientOptions().
		AddBroker(c.Broker).
		SetClientID(c.ClientID).
		SetCleanSession(c.Session == Clean).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetKeepAlive(c.KeepAlive).
		SetPingTimeout(min(c.KeepAlive, 10*time.Second)).
		SetConnectTimeout(c.ConnectTimeout).
		SetWriteTimeout(c.ConnectTimeout).
		SetOrderMatters(true).
		SetWill(c.AvailabilityTopic, "offline", c.qos(), true)
	if c.Username != "" {
		pw, err := c.password()
		if err != nil {
			return nil, err
		}
		opts.SetUsername(c.Username).SetPassword(pw)
	}
	if c.TLS.Enabled() || isSecure(c.Broker) {
		tc, err := c.TLS.load()
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	s := &pahoSession{lost: make(chan struct{})}
	opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { handle(m.Topic(), m.Payload()) })
	opts.SetConnectionLostHandler(func(_ paho.Client, err error) { s.drop(err) })
	s.c = paho.NewClient(opts)
	tok := s.c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		s.c.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact.URL(c.Broker), err)
	}
	return s, nil
}

func isSecure(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	return secureSchemes[scheme]
}

func (s *pahoSession) drop(err error) {
	s.once.Do(func() {
		if err == nil {
			err = errors.New("connection closed")
		}
		s.err = err
		close(s.lost)
	})
}

func (s *pahoSession) Lost() <-chan struct{} { return s.lost }

func (s *pahoSession) Err() error {
	select {
	case <-s.lost:
		return s.err
	default:
		return nil
	}
}

// wait waits for a token, the session's loss or ctx.
func (s *pahoSession) wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-s.lost:
		return fmt.Errorf("connection lost: %w", s.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *pahoSession) Subscribe(ctx context.Context, filters map[string]byte) ([]string, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	tok := s.c.SubscribeMultiple(filters, nil)
	if err := s.wait(ctx, tok); err != nil {
		return nil, err
	}
	var refused []string
	for f, q := range tok.(*paho.SubscribeToken).Result() {
		if q == 0x80 {
			refused = append(refused, f)
		}
	}
	return refused, nil
}

func (s *pahoSession) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	return s.wait(ctx, s.c.Publish(topic, qos, retained, payload))
}

func (s *pahoSession) Close(quiesce time.Duration) {
	s.c.Disconnect(uint(quiesce / time.Millisecond))
	s.drop(errors.New("closed"))
}

// password returns the configured password, reading password_file if set.
// Errors name the file, never its content.
func (c *Config) password() (string, error) {
	if c.PasswordFile == "" {
		return c.Password, nil
	}
	pw, err := secret.Read(c.PasswordFile, "")
	if err != nil {
		return "", fmt.Errorf("password_file: %w", err)
	}
	return pw, nil
}

// load builds the tls.Config from the files.
func (t TLSConfig) load() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pool, err := secret.CertPool(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
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

// Secret returns the configured password, reading password_file if set, for
// other clients of the same broker (the simulator). Errors name the file,
// never its content.
func (c *Config) Secret() (string, error) { return c.password() }
