package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestNaNReadings: a meter that serves NaN over Modbus (meters do, for "not
// available") must not break any output. The API answers valid JSON with
// the value null and its quality, the retained MQTT device state and the
// alert event are valid JSON with null, an alert's annotation says n/a
// rather than NaN, and its ticket opens.
func TestNaNReadings(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	dir := t.TempDir()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	simAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	brokerAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf(`site: nan-site
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
mqtt:
  username: facilityd
  password: nan-test-password
  publish:
    alerts: "fd/alerts/{device}/{rule}"
    device_state: "fd/devices/{device}/state"
    state_interval: 200ms
  embedded:
    listen: %q
    users: [{username: facilityd, password: nan-test-password}]
profile_files: [%q]
devices:
  - id: meter-1
    profile: energy_meter
    modbus: {address: %q, unit_id: 2, interval: 200ms, timeout: 500ms}
rules:
  - name: meter_voltage_unavailable
    match: {type: energy_meter}
    expr: voltage_l1 != voltage_l1
    value: voltage_l1
    severity: major
    annotations:
      summary: "voltage {{ $value }} V, frequency {{ fmt $values.frequency 1 }} Hz"
    ticket: {priority: P2, category: electrical}
`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr, brokerAddr,
		filepath.Join(root, "configs/profiles/*.yaml"), simAddr)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := t.Context()
	startSim(t, ctx, cfg, logger, "meter-1:nan@4s", sim.Config{Seed: 3})
	stop := startDaemon(t, ctx, cfg, logger, httpAddr)
	defer stop()

	var mu sync.Mutex
	got := map[string]string{}
	o := paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("nan-test").SetUsername("facilityd").SetPassword("nan-test-password").
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			mu.Lock()
			got[m.Topic()] = string(m.Payload())
			mu.Unlock()
		})
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe("fd/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if open := openTickets(t, httpAddr); len(open) != 0 {
		t.Fatalf("tickets before the fault: %+v", open) // else the alert fired before the subscription
	}

	// the API: valid JSON, null with its quality
	deadline := time.Now().Add(20 * time.Second)
	var point map[string]any
	for point == nil {
		if time.Now().After(deadline) {
			t.Fatal("meter-1 voltage_l1 never appeared in /api/v1/devices")
		}
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://" + httpAddr + "/api/v1/devices")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var devs []struct {
			ID     string                    `json:"id"`
			Points map[string]map[string]any `json:"points"`
		}
		if err := json.Unmarshal(body, &devs); err != nil {
			t.Fatalf("/api/v1/devices: status %d, %v: %q", resp.StatusCode, err, body)
		}
		for _, d := range devs {
			if p := d.Points["voltage_l1"]; d.ID == "meter-1" && p != nil && p["value"] == nil { // the fault starts after 4 s
				point = p
			}
		}
	}
	if v, ok := point["value"]; !ok || v != nil || point["quality"] != "uncertain" {
		t.Errorf("voltage_l1 = %v, want value null and quality uncertain", point)
	}

	// MQTT: the device state and the alert event
	get := func(topic string) string {
		mu.Lock()
		defer mu.Unlock()
		return got[topic]
	}
	alertTopic := "fd/alerts/meter-1/meter_voltage_unavailable"
	for !strings.Contains(get("fd/devices/meter-1/state"), `"voltage_l1":null`) || !strings.Contains(get(alertTopic), `"firing"`) {
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("MQTT topics missing: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var state map[string]any
	if err := json.Unmarshal([]byte(get("fd/devices/meter-1/state")), &state); err != nil {
		t.Fatalf("device state: %v", err)
	}
	if v, ok := state["voltage_l1"]; !ok || v != nil {
		t.Errorf("device state voltage_l1 = %v (present %v), want null: %v", v, ok, state)
	}
	if q, _ := state["quality"].(map[string]any); q["voltage_l1"] != "uncertain" {
		t.Errorf("device state quality = %v, want voltage_l1 uncertain", state["quality"])
	}
	var ev struct {
		Annotations map[string]string `json:"annotations"`
		Values      map[string]any    `json:"values"`
	}
	if err := json.Unmarshal([]byte(get(alertTopic)), &ev); err != nil {
		t.Fatalf("alert event: %v", err)
	}
	if v, ok := ev.Values["frequency"]; !ok || v != nil {
		t.Errorf("alert values frequency = %v (present %v), want null", v, ok)
	}
	if s := ev.Annotations["summary"]; s != "voltage n/a V, frequency n/a Hz" {
		t.Errorf("summary = %q", s)
	}
	tk := waitTicket(t, ctx, httpAddr)
	if tk.Device != "meter-1" || strings.Contains(tk.Title+tk.Description, "NaN") {
		t.Errorf("ticket %+v", tk)
	}
}
