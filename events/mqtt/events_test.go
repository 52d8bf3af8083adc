package mqtt

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/internal/mqttconn"
	"github.com/facilityd/facilityd/internal/mqttconn/mqttconntest"
)

// newFakePublisher builds a publisher over a connection to a fake broker;
// run starts both.
func newFakePublisher(t *testing.T, cfg Config) (*Publisher, *mqttconntest.Broker, func(ctx context.Context)) {
	t.Helper()
	cc := mqttconn.Config{Broker: "tcp://127.0.0.1:1883", ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}.WithDefaults("test")
	conn := mqttconn.New(cc, nil)
	b := &mqttconntest.Broker{}
	conn.SetDialer(b.Dial)
	p := New(cfg.WithDefaults(), conn, nil)
	run := func(ctx context.Context) {
		go func() { _ = conn.Run(ctx) }()
		go func() { _ = p.Run(ctx) }()
	}
	return p, b, run
}

// TestOutbox queues events while the broker is away, drops the oldest
// when the queue is full, and sends retained status again after a
// reconnect.
func TestOutbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Alerts: "fd/alerts/{device}/{rule}", Tickets: "fd/tickets", DeviceStatus: "fd/devices/{device}/status", Queue: 3}
		d, b, run := newFakePublisher(t, cfg)
		b.SetDown(true)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		run(ctx)
		for i, rule := range []string{"r1", "r2", "r3", "r4"} {
			d.PublishAlert(AlertEvent{Rule: rule, Device: "pump/1", State: "firing", At: time.Unix(int64(i), 0)})
		}
		d.PublishDeviceStatus(DeviceStatus{Device: "pump-1", Status: "online"})
		d.PublishDeviceStatus(DeviceStatus{Device: "pump-1", Status: "offline"})
		b.SetDown(false)
		time.Sleep(time.Second)
		synctest.Wait()
		var topics []string
		for _, p := range b.Last().Published() {
			topics = append(topics, p.Topic)
		}
		want := "test-avail fd/devices/pump-1/status fd/alerts/pump_1/r2 fd/alerts/pump_1/r3 fd/alerts/pump_1/r4"
		if got := strings.Replace(strings.Join(topics, " "), d.conn.Config().AvailabilityTopic, "test-avail", 1); got != want {
			t.Errorf("published %s\nwant      %s", got, want)
		}
		if st := d.Stats(); st.Dropped != 1 || st.Published != 4 {
			t.Errorf("dropped %d, published %d; want 1 and 4", st.Dropped, st.Published)
		}
		b.Last().Drop()
		time.Sleep(time.Second)
		synctest.Wait()
		p := b.Last().Published()
		if len(p) != 2 || p[1].Topic != "fd/devices/pump-1/status" || !strings.Contains(p[1].Payload, `"offline"`) || !p[1].Retained {
			t.Errorf("after reconnect published %v, want the retained status again", p)
		}
	})
}

// TestHomeAssistantRestart: discovery is announced on connect, and again
// when Home Assistant says it is online, on the shared connection's
// subscription to its status topic.
func TestHomeAssistantRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, b, run := newFakePublisher(t, Config{DeviceState: "fd/{device}/state", HomeAssistant: "homeassistant"})
		d.PublishDiscovery([]DiscoveryDevice{{ID: "t1", Profile: testProfile()}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		run(ctx)
		time.Sleep(time.Second)
		synctest.Wait()
		s := b.Last()
		if subs := s.Subscriptions(); strings.Join(subs, ",") != "homeassistant/status" {
			t.Errorf("subscribed to %v, want homeassistant/status", subs)
		}
		count := func() int {
			n := 0
			for _, m := range s.Published() {
				if strings.HasPrefix(m.Topic, "homeassistant/sensor/facilityd_t1/") && m.Retained {
					n++
				}
			}
			return n
		}
		if n := count(); n != 1 {
			t.Fatalf("%d discovery messages on connect, want 1", n)
		}
		b.Deliver("homeassistant/status", []byte("online"))
		time.Sleep(time.Second)
		synctest.Wait()
		if n := count(); n != 2 {
			t.Errorf("%d discovery messages after Home Assistant came online, want 2", n)
		}
	})
}
