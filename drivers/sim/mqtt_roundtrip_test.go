package sim_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/mqtt"
	"github.com/facilityd/facilityd/drivers/mqtt/broker"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/mqttconn"
)

// TestMQTTRoundTrip runs the simulated publisher against the embedded
// broker and the MQTT driver reading the same device configs: every
// profile point of every device arrives as a sample.
func TestMQTTRoundTrip(t *testing.T) {
	b, err := broker.New(broker.Config{Listen: "127.0.0.1:0", Users: []broker.User{{Username: "u", Password: "p"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = b.Run(ctx) })
	<-b.Ready()
	url := "tcp://" + b.Addr()
	pump := &drivers.Profile{Type: "pump", Points: []drivers.Point{
		{Name: "discharge_pressure", Path: "pressure.discharge", Unit: "bar"},
		{Name: "running", Path: "running", Type: drivers.TypeBool},
	}}
	devs := []mqtt.Device{
		{ID: "pump-9", Profile: pump, Config: mqtt.DeviceConfig{Topic: "sim/+device/state", Timestamp: mqtt.TimestampConfig{Path: "ts", Format: mqtt.TimeRFC3339}}},
		{ID: "pump-10", Profile: pump, Config: mqtt.DeviceConfig{Topic: "sim/+device/+point", Format: mqtt.Value}},
	}
	var sdevs []sim.MQTTDevice
	for _, d := range devs {
		sdevs = append(sdevs, sim.MQTTDevice{ID: d.ID, Profile: d.Profile, Config: d.Config})
	}
	pub, err := sim.NewMQTTPublisher(sim.MQTTConfig{Broker: url, Username: "u", Password: "p", Devices: sdevs, Interval: 50 * time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mqtt.Config{Config: mqttconn.Config{Broker: url, Username: "u", Password: "p", ReconnectMin: 50 * time.Millisecond}}.WithDefaults("sim")
	drv, err := mqtt.New(cfg, devs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]drivers.Kind{}
	wg.Go(func() {
		_ = drv.Run(ctx, drivers.SinkFunc(func(_ context.Context, ss []drivers.Sample) {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range ss {
				if s.Measurement == drivers.HealthMeasurement {
					continue
				}
				seen[s.Device+"/"+s.Point] = s.Value.Kind
			}
		}))
	})
	wg.Go(func() { _ = pub.Run(ctx) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("samples seen: %v; want both points of both pumps (stats %+v)", seen, drv.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := drv.Stats(); st.Malformed != 0 {
		t.Errorf("malformed messages: %+v", st.Topics)
	}
	if seen["pump-9/running"] != drivers.KindBool || seen["pump-10/discharge_pressure"] != drivers.KindFloat {
		t.Errorf("kinds: %v", seen)
	}
}
