package app_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestMQTTEndToEnd runs the daemon with its embedded broker and an MQTT
// device: a reading published to the broker reaches InfluxDB, and the
// device's status and Home Assistant discovery come back out over MQTT.
func TestMQTTEndToEnd(t *testing.T) {
	influx := testenv.StartInfluxd(t)
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	brokerAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pwFile := filepath.Join(dir, "mqtt.pw")
	if err := os.WriteFile(pwFile, []byte("app-test-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf(`site: mqtt-site
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
mqtt:
  username: facilityd
  password_file: %q
  health_interval: 200ms
  publish:
    device_status: "fd/devices/{device}/status"
    alerts: "fd/alerts/{device}/{rule}"
    tickets: "fd/tickets/{id}"
    device_state: "fd/devices/{device}/state"
    state_interval: 200ms
    homeassistant: homeassistant
  embedded:
    listen: %q
    users: [{username: facilityd, password_file: %q}]
profiles:
  room:
    type: room_sensor
    points: [{name: temperature, path: t, unit: °C}, {name: occupied, path: o, type: bool}]
devices:
  - {id: room-1, profile: room, tags: {floor: "2"}, mqtt: {topic: "rooms/+device/state"}}
rules:
  - {name: room_hot, match: {type: room_sensor}, expr: temperature > 30, ticket: {priority: P3, category: hvac}}
`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr, pwFile, brokerAddr, pwFile)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := t.Context()
	stop := startDaemon(t, ctx, cfg, logger, httpAddr)
	defer stop()

	var mu sync.Mutex
	retained := map[string]string{}
	o := paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("app-test").SetUsername("facilityd").SetPassword("app-test-pw").
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			mu.Lock()
			retained[m.Topic()] = string(m.Payload())
			mu.Unlock()
		})
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	tok := c.SubscribeMultiple(map[string]byte{"fd/#": 1, "homeassistant/#": 1, "facilityd/#": 1}, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	// Retained: the daemon's HTTP server answers before its MQTT driver has
	// subscribed, and a message sent before the subscription would be lost.
	c.Publish("rooms/room-1/state", 1, true, `{"t": 22.5, "o": true}`).WaitTimeout(5 * time.Second)

	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	last := waitLast(t, ctx, q, "room_sensor", "room-1", "temperature")
	if last["temperature"] != 22.5 {
		t.Errorf("InfluxDB has %v", last)
	}
	get := func(topic string) string {
		mu.Lock()
		defer mu.Unlock()
		return retained[topic]
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(get("fd/devices/room-1/status"), `"online"`) || get("fd/devices/room-1/state") == "" ||
		get("homeassistant/sensor/facilityd_room_1/temperature/config") == "" || get("facilityd/mqtt-site/status") == "" {
		if time.Now().After(deadline) {
			mu.Lock()
			missing := fmt.Sprint(retained)
			mu.Unlock()
			t.Fatalf("outbound topics missing; got %v", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := scrape(t, httpAddr); !regexp.MustCompile(`(?m)^facilityd_mqtt_messages_total\{device="room-1"\} [1-9]`).MatchString(m) ||
		!strings.Contains(m, `facilityd_mqtt_malformed_messages_total{device="room-1"} 0`) {
		t.Errorf("/metrics lacks the MQTT counters of room-1")
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(get("fd/devices/room-1/status")), &status); err != nil || status["status"] != "online" || status["driver"] != "mqtt" {
		t.Errorf("device status %v (%v)", status, err)
	}
	if s := get("fd/devices/room-1/state"); !strings.Contains(s, `"temperature":22.5`) {
		t.Errorf("device state %s", s)
	}
	if s := get("facilityd/mqtt-site/status"); s != "online" {
		t.Errorf("availability %q, want online", s)
	}
	if s := get("homeassistant/binary_sensor/facilityd_room_1/occupied/config"); !strings.Contains(s, `"state_topic":"fd/devices/room-1/state"`) {
		t.Errorf("discovery %s", s)
	}

	// A hot room: the alert and the ticket it opens go out as events.
	c.Publish("rooms/room-1/state", 1, false, `{"t": 35, "o": true}`).WaitTimeout(5 * time.Second)
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(get("fd/alerts/room-1/room_hot"), `"firing"`) || !strings.Contains(get("fd/tickets/1"), `"opened"`) {
		if time.Now().After(deadline) {
			mu.Lock()
			missing := fmt.Sprint(retained)
			mu.Unlock()
			t.Fatalf("alert or ticket event missing; got %v", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := get("fd/tickets/1"); !strings.Contains(s, `"device":"room-1"`) || !strings.Contains(s, `"priority":"P3"`) {
		t.Errorf("ticket event %s", s)
	}
}
