package mqtt

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

var _ session = (*fakeSession)(nil)

// fakeSession records what the driver does on one connection.
type fakeSession struct {
	mu     sync.Mutex
	subs   []string
	pubs   []fakePub
	lost   chan struct{}
	err    error
	closed bool
}

type fakePub struct {
	topic    string
	retained bool
	payload  string
}

func (s *fakeSession) Subscribe(_ context.Context, f map[string]byte) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range f {
		s.subs = append(s.subs, k)
	}
	return nil, nil
}

func (s *fakeSession) Publish(_ context.Context, topic string, _ byte, retained bool, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("closed")
	}
	s.pubs = append(s.pubs, fakePub{topic, retained, string(payload)})
	return nil
}

func (s *fakeSession) Lost() <-chan struct{} { return s.lost }
func (s *fakeSession) Err() error            { return s.err }
func (s *fakeSession) Close(time.Duration) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *fakeSession) drop() { s.err = errors.New("connection reset"); close(s.lost) }

func (s *fakeSession) published() []fakePub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakePub(nil), s.pubs...)
}

// fakeBroker dials fake sessions; while down, dialing fails.
type fakeBroker struct {
	mu       sync.Mutex
	down     bool
	attempts []time.Time
	sessions []*fakeSession
	handle   func(topic string, payload []byte)
}

func (b *fakeBroker) dial(_ context.Context, _ *Config, handle func(string, []byte)) (session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts = append(b.attempts, time.Now())
	if b.down {
		return nil, errors.New("connection refused")
	}
	s := &fakeSession{lost: make(chan struct{})}
	b.sessions = append(b.sessions, s)
	b.handle = handle
	return s, nil
}

func (b *fakeBroker) last() *fakeSession {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions[len(b.sessions)-1]
}

func newFakeDriver(t *testing.T, cfg Config, devs ...Device) (*Driver, *fakeBroker) {
	t.Helper()
	d, err := New(cfg, devs, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{}
	d.dial = b.dial
	return d, b
}

// TestLongOutage keeps the broker away for two hours: the driver keeps
// trying, never waits longer than reconnect_max, and subscribes on every
// new session.
func TestLongOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("tcp://127.0.0.1:1883")
		cfg.ReconnectMin, cfg.ReconnectMax = time.Second, time.Minute
		d, b := newFakeDriver(t, cfg, valueDevice("s1"))
		b.down = true
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx, newCollector()) }()
		time.Sleep(2 * time.Hour)
		b.mu.Lock()
		b.down = false
		n := len(b.attempts)
		for i := 1; i < n; i++ {
			if gap := b.attempts[i].Sub(b.attempts[i-1]); gap > time.Minute*12/10 {
				t.Errorf("attempt %d came %v after the one before; the cap is 1m (+20%% jitter)", i, gap)
			}
		}
		b.mu.Unlock()
		if n < 100 {
			t.Errorf("%d attempts in two hours, want one at least every minute", n)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if !d.Connected() {
			t.Fatal("not connected after the broker came back")
		}
		first := b.last()
		first.drop()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		second := b.last()
		if second == first || !d.Connected() {
			t.Fatal("no new session after the connection dropped")
		}
		for _, s := range []*fakeSession{first, second} {
			if strings.Join(s.subs, ",") != "site/+/+" {
				t.Errorf("session subscribed to %v, want site/+/+", s.subs)
			}
			if p := s.published(); len(p) == 0 || p[0].topic != cfg.AvailabilityTopic || p[0].payload != "online" || !p[0].retained {
				t.Errorf("session did not announce online first: %v", p)
			}
		}
		cancel()
		<-done
		if p := second.published(); p[len(p)-1].payload != "offline" {
			t.Errorf("no offline announcement at stop: %v", p)
		}
	})
}

// TestStale lets a device stop publishing: it goes offline after
// stale_after, and its health samples say so.
func TestStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("tcp://127.0.0.1:1883")
		cfg.HealthInterval = 10 * time.Second
		dev := valueDevice("s1")
		dev.Config.StaleAfter = time.Minute
		d, b := newFakeDriver(t, cfg, dev)
		got := newCollector()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = d.Run(ctx, got) }()
		synctest.Wait()
		if st := d.States()["s1"].Status; st != drivers.StatusUnknown {
			t.Errorf("before any message: %s, want unknown", st)
		}
		b.handle("site/s1/temperature", []byte("20.5"))
		if st := d.States()["s1"]; st.Status != drivers.StatusOnline || st.Messages != 1 {
			t.Errorf("after a message: %+v, want online", st)
		}
		b.handle("site/s1/temperature", []byte("warm"))
		if st := d.States()["s1"].Status; st != drivers.StatusDegraded {
			t.Errorf("after a malformed message: %s, want degraded", st)
		}
		time.Sleep(61 * time.Second)
		synctest.Wait()
		st := d.States()["s1"]
		if st.Status != drivers.StatusOffline || !strings.Contains(st.LastError, "no message for") {
			t.Errorf("after a silent minute: %+v, want offline", st)
		}
		up := got.health("up")
		if len(up) < 6 || up[0].Value.B != true || up[len(up)-1].Value.B != false {
			t.Errorf("health up samples = %v, want true then false", up)
		}
		cancel()
	})
}

// TestOutbox queues events while the broker is away, drops the oldest
// when the queue is full, and sends retained status again after a
// reconnect.
func TestOutbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("tcp://127.0.0.1:1883")
		cfg.Publish = PublishConfig{Alerts: "fd/alerts/{device}/{rule}", Tickets: "fd/tickets", DeviceStatus: "fd/devices/{device}/status", Queue: 3}
		cfg = cfg.WithDefaults("test")
		d, b := newFakeDriver(t, cfg)
		b.down = true
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = d.Run(ctx, newCollector()) }()
		for i, rule := range []string{"r1", "r2", "r3", "r4"} {
			d.PublishAlert(AlertEvent{Rule: rule, Device: "pump/1", State: "firing", At: time.Unix(int64(i), 0)})
		}
		d.PublishDeviceStatus(DeviceStatus{Device: "pump-1", Status: "online"})
		d.PublishDeviceStatus(DeviceStatus{Device: "pump-1", Status: "offline"})
		b.mu.Lock()
		b.down = false
		b.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		var topics []string
		for _, p := range b.last().published() {
			topics = append(topics, p.topic)
		}
		want := "test-avail fd/devices/pump-1/status fd/alerts/pump_1/r2 fd/alerts/pump_1/r3 fd/alerts/pump_1/r4"
		if got := strings.Replace(strings.Join(topics, " "), cfg.AvailabilityTopic, "test-avail", 1); got != want {
			t.Errorf("published %s\nwant      %s", got, want)
		}
		if st := d.Stats(); st.Dropped != 1 || st.Published != 4 {
			t.Errorf("dropped %d, published %d; want 1 and 4", st.Dropped, st.Published)
		}
		b.last().drop()
		time.Sleep(time.Second)
		synctest.Wait()
		p := b.last().published()
		if len(p) != 2 || p[1].topic != "fd/devices/pump-1/status" || !strings.Contains(p[1].payload, `"offline"`) || !p[1].retained {
			t.Errorf("after reconnect published %v, want the retained status again", p)
		}
	})
}

// health returns the health samples of one field.
func (c *collector) health(point string) []drivers.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []drivers.Sample
	for _, s := range c.samples {
		if s.Point == point && s.Measurement == drivers.HealthMeasurement {
			out = append(out, s)
		}
	}
	return out
}
