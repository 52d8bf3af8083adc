package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/mqtt"
)

// TestMQTTPublisher checks that what the simulator publishes is what the
// MQTT driver reads back with the same config: every profile point, and
// nothing once the device is offline.
func TestMQTTPublisher(t *testing.T) {
	room := &drivers.Profile{Type: "energy_meter", Points: []drivers.Point{
		{Name: "power_kw", Path: "p.total", Unit: "kW"},
		{Name: "voltage_l1", Path: "v1"},
	}}
	for i := range room.Points {
		room.Points[i].Scale = 1
	}
	devs := []MQTTDevice{
		{ID: "meter-9", Profile: room, Config: mqtt.DeviceConfig{Topic: "sim/+device/state", Timestamp: mqtt.TimestampConfig{Path: "ts", Format: mqtt.TimeUnixMs}}},
		{ID: "meter-10", Profile: room, Config: mqtt.DeviceConfig{Topic: "sim/+device/+point", Format: mqtt.Value}},
	}
	pub, err := NewMQTTPublisher(MQTTConfig{Devices: devs, Seed: 1}, []Fault{{Device: "meter-9", Kind: FaultOffline, After: time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	msgs := pub.Messages(start)
	msgs = append(msgs, pub.Messages(start.Add(2*time.Second))...)
	if len(msgs) != 6 {
		t.Fatalf("%d messages, want 2 + 2x2 per step: %v", len(msgs), msgs)
	}
	if !strings.Contains(string(msgs[0].Payload), `"ts":1772366400000`) {
		t.Errorf("no timestamp in %s", msgs[0].Payload)
	}
	if off := pub.Messages(start.Add(2 * time.Minute)); len(off) != 2 || !strings.HasPrefix(off[0].Topic, "sim/meter-10/") {
		t.Errorf("after the offline fault: %v, want meter-10 only", off)
	}
	if _, err := NewMQTTPublisher(MQTTConfig{Devices: []MQTTDevice{{ID: "x", Profile: room, Config: mqtt.DeviceConfig{Topic: "a/+/b"}}}}, nil, nil); err == nil {
		t.Error("a topic with a plain + was accepted")
	}
}
