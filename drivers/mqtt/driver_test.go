package mqtt

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/mqttconn/mqttconntest"
)

// newFakeDriver builds a driver whose connection dials a fake broker.
func newFakeDriver(t *testing.T, cfg Config, devs ...Device) (*Driver, *mqttconntest.Broker) {
	t.Helper()
	d, err := New(cfg, devs, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &mqttconntest.Broker{}
	d.Conn().SetDialer(b.Dial)
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
		b.SetDown(true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx, newCollector()) }()
		time.Sleep(2 * time.Hour)
		attempts := b.Attempts()
		b.SetDown(false)
		n := len(attempts)
		for i := 1; i < n; i++ {
			if gap := attempts[i].Sub(attempts[i-1]); gap > time.Minute*12/10 {
				t.Errorf("attempt %d came %v after the one before; the cap is 1m (+20%% jitter)", i, gap)
			}
		}
		if n < 100 {
			t.Errorf("%d attempts in two hours, want one at least every minute", n)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if !d.Connected() {
			t.Fatal("not connected after the broker came back")
		}
		first := b.Last()
		first.Drop()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		second := b.Last()
		if second == first || !d.Connected() {
			t.Fatal("no new session after the connection dropped")
		}
		for _, s := range []*mqttconntest.Client{first, second} {
			if subs := s.Subscriptions(); strings.Join(subs, ",") != "site/+/+" {
				t.Errorf("session subscribed to %v, want site/+/+", subs)
			}
			if p := s.Published(); len(p) == 0 || p[0].Topic != cfg.AvailabilityTopic || p[0].Payload != "online" || !p[0].Retained {
				t.Errorf("session did not announce online first: %v", p)
			}
		}
		cancel()
		<-done
		if p := second.Published(); p[len(p)-1].Payload != "offline" {
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
		b.Deliver("site/s1/temperature", []byte("20.5"))
		if st := d.States()["s1"]; st.Status != drivers.StatusOnline || st.Messages != 1 {
			t.Errorf("after a message: %+v, want online", st)
		}
		b.Deliver("site/s1/temperature", []byte("warm"))
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
