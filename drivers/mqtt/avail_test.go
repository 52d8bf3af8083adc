package mqtt

import (
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestAvailability checks the retained online announcement and the last
// will on each broker: a client that subscribes later sees "online"; when
// facilityd stops, "offline".
func TestAvailability(t *testing.T) {
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) {
			tb := bk.start(t, brokerOptions{})
			cfg := tb.config()
			drv, err := New(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			runDriver(t, drv, newCollector())
			waitFor(t, 10*time.Second, "connection", drv.Connected)
			var mu sync.Mutex
			var got []string
			c := testClient(t, tb.url, "watcher", func(o *paho.ClientOptions) {
				tb.creds(o)
				o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
					mu.Lock()
					got = append(got, m.Topic()+"="+string(m.Payload()))
					mu.Unlock()
				})
			})
			for _, f := range []string{"fd/#", "homeassistant/#", "facilityd/#"} {
				c.Subscribe(f, 1, nil).WaitTimeout(5 * time.Second)
			}
			want := cfg.AvailabilityTopic + "=online"
			waitFor(t, 5*time.Second, "retained "+want, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(got) > 0 && got[len(got)-1] == want
			})
		})
	}
}
