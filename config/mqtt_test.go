package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers/mqtt"
)

// TestMQTTConfig loads a config with MQTT devices next to a Modbus one
// and the embedded broker, and checks the defaults.
func TestMQTTConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	err := os.WriteFile(path, []byte(`
site: b1
influxdb: {url: "http://127.0.0.1:8086", bucket: facility/autogen}
mqtt:
  username: facilityd
  password: ${MQTT_PW}
  qos: 0
  publish: {alerts: "fd/alerts/{device}", device_status: "fd/devices/{device}/status"}
  embedded:
    listen: 0.0.0.0:11883
    users: [{username: facilityd, password: "${MQTT_PW}"}]
profiles:
  room:
    type: room_sensor
    points: [{name: temperature, unit: °C}, {name: model, type: string}]
  pump:
    type: pump
    points: [{name: running, register: coil, address: 0}]
devices:
  - {id: room-1, profile: room, mqtt: {topic: "rooms/+device/+point", format: value}}
  - {id: room-2, profile: room, mqtt: {topic: "rooms/+device/+point", format: value, stale_after: 5m}}
  - {id: pump-1, profile: pump, modbus: {address: "127.0.0.1:5020"}}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path, func(k string) (string, bool) { return "pw-from-env", k == "MQTT_PW" })
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.MQTT
	if m.Broker != "tcp://127.0.0.1:11883" || m.ClientID != "facilityd-b1" || *m.QoS != 0 || m.Session != mqtt.Persistent ||
		m.AvailabilityTopic != "facilityd/b1/status" || m.Password != "pw-from-env" {
		t.Errorf("mqtt defaults: %+v", m.Config)
	}
	devs := cfg.MQTTDevices()
	if len(devs) != 2 || devs[1].Config.StaleAfter != 5*time.Minute || devs[0].Config.StaleAfter != mqtt.DefaultStaleAfter {
		t.Errorf("mqtt devices: %+v", devs)
	}
	if _, err := mqtt.New(m.Config, devs, nil); err != nil {
		t.Errorf("the driver refuses the loaded config: %v", err)
	}
}
