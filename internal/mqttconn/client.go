package mqttconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/internal/redact"
)

// Client is one connection to the broker. Whoever holds it owns
// reconnecting: a lost Client is closed and a new one dialed, so every
// connection subscribes afresh whatever the broker remembered.
type Client interface {
	// Subscribe subscribes to every filter and waits for the broker's
	// answer; refused lists the filters the broker refused.
	Subscribe(ctx context.Context, filters map[string]byte) (refused []string, err error)
	// Publish sends one message and, for QoS 1 and 2, waits for its ack.
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
	// Lost is closed when the connection drops; Err then says why.
	Lost() <-chan struct{}
	Err() error
	// Close disconnects cleanly, waiting up to quiesce for work in flight.
	Close(quiesce time.Duration)
}

// Handler receives a message; it must not keep the payload after it
// returns.
type Handler func(topic string, payload []byte)

// Dialer opens a Client; handle receives every message (it may be nil for a
// client that only publishes).
type Dialer func(ctx context.Context, c *Config, handle Handler) (Client, error)

var _ Client = (*pahoClient)(nil)

// pahoClient is a Client over eclipse/paho.mqtt.golang with paho's own
// reconnect switched off.
type pahoClient struct {
	c    paho.Client
	once sync.Once
	lost chan struct{}
	err  error
}

// Dial connects with paho; it is the Dialer of the daemon. Credentials and
// TLS files are read here, at every connect, so rotated secrets are picked
// up. With an availability topic, the last will marks it offline.
func Dial(ctx context.Context, c *Config, handle Handler) (Client, error) {
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
		SetStore(newLeanStore())
	if buffered(c.Broker) {
		opts.SetCustomOpenConnectionFn(openBuffered)
	}
	if c.AvailabilityTopic != "" {
		opts.SetWill(c.AvailabilityTopic, "offline", c.QoSLevel(), true)
	}
	if c.Username != "" {
		pw, err := c.Secret()
		if err != nil {
			return nil, err
		}
		opts.SetUsername(c.Username).SetPassword(pw)
	}
	if c.TLS.Enabled() || Secure(c.Broker) {
		tc, err := c.TLS.Load()
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	s := &pahoClient{lost: make(chan struct{})}
	if handle != nil {
		opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { handle(m.Topic(), m.Payload()) })
	}
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

func (s *pahoClient) drop(err error) {
	s.once.Do(func() {
		if err == nil {
			err = errors.New("connection closed")
		}
		s.err = err
		close(s.lost)
	})
}

func (s *pahoClient) Lost() <-chan struct{} { return s.lost }

func (s *pahoClient) Err() error {
	select {
	case <-s.lost:
		return s.err
	default:
		return nil
	}
}

// wait waits for a token, the connection's loss or ctx.
func (s *pahoClient) wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-s.lost:
		return fmt.Errorf("connection lost: %w", s.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *pahoClient) Subscribe(ctx context.Context, filters map[string]byte) ([]string, error) {
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

func (s *pahoClient) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	return s.wait(ctx, s.c.Publish(topic, qos, retained, payload))
}

func (s *pahoClient) Close(quiesce time.Duration) {
	s.c.Disconnect(uint(quiesce / time.Millisecond))
	s.drop(errors.New("closed"))
}
