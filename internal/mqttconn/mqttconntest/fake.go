// Package mqttconntest fakes the broker behind an mqttconn.Conn for unit
// tests: set Broker.Dial as the Conn's dialer and look at what each
// connection subscribed and published.
package mqttconntest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/mqttconn"
)

// Message is one message a fake client published.
type Message struct {
	Topic    string
	Retained bool
	Payload  string
}

var _ mqttconn.Client = (*Client)(nil)

// Client records what is done on one connection.
type Client struct {
	mu     sync.Mutex
	subs   []string
	pubs   []Message
	lost   chan struct{}
	err    error
	closed bool
}

// Subscribe records the filters.
func (s *Client) Subscribe(_ context.Context, f map[string]byte) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range f {
		s.subs = append(s.subs, k)
	}
	return nil, nil
}

// Publish records the message, or fails once the client is closed.
func (s *Client) Publish(_ context.Context, topic string, _ byte, retained bool, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("closed")
	}
	s.pubs = append(s.pubs, Message{topic, retained, string(payload)})
	return nil
}

// Lost is closed by Drop.
func (s *Client) Lost() <-chan struct{} { return s.lost }

// Err says why the connection dropped.
func (s *Client) Err() error { return s.err }

// Close marks the client closed.
func (s *Client) Close(time.Duration) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// Drop breaks the connection, as a reset would.
func (s *Client) Drop() { s.err = errors.New("connection reset"); close(s.lost) }

// Subscriptions returns the filters subscribed to.
func (s *Client) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.subs...)
}

// Published returns what was published, in order.
func (s *Client) Published() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.pubs...)
}

// Broker dials fake clients; while down, dialing fails.
type Broker struct {
	mu       sync.Mutex
	down     bool
	attempts []time.Time
	clients  []*Client
	handle   mqttconn.Handler
}

var _ mqttconn.Dialer = (*Broker)(nil).Dial

// Dial is an mqttconn.Dialer.
func (b *Broker) Dial(_ context.Context, _ *mqttconn.Config, handle mqttconn.Handler) (mqttconn.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts = append(b.attempts, time.Now())
	if b.down {
		return nil, errors.New("connection refused")
	}
	s := &Client{lost: make(chan struct{})}
	b.clients = append(b.clients, s)
	b.handle = handle
	return s, nil
}

// SetDown makes dialing fail (true) or succeed again.
func (b *Broker) SetDown(down bool) {
	b.mu.Lock()
	b.down = down
	b.mu.Unlock()
}

// Attempts returns when each dial was tried.
func (b *Broker) Attempts() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Time(nil), b.attempts...)
}

// Last returns the latest client dialed.
func (b *Broker) Last() *Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clients[len(b.clients)-1]
}

// Deliver hands a message to the latest connection's handler, as if the
// broker had routed it.
func (b *Broker) Deliver(topic string, payload []byte) {
	b.mu.Lock()
	h := b.handle
	b.mu.Unlock()
	h(topic, payload)
}
