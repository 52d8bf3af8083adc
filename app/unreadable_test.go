package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/web"
)

// The poller's reasons reach the rules engine under one name.
func TestUnreadablePointName(t *testing.T) {
	if modbus.HealthUnreadable != rules.UnreadablePoint {
		t.Fatalf("modbus writes %q, rules read %q", modbus.HealthUnreadable, rules.UnreadablePoint)
	}
}

// TestFirePanelUnreadable: the simulated fire panel starts answering
// exception 2 for its status register, which holds fire_alarm; within a few
// polls the built-in alert fire_alarm_active_unreadable fires, critical,
// naming the point, the exception and the rule, and opens a P1 ticket. The
// poller keeps asking for fire_alarm every poll instead of isolating it.
func TestFirePanelUnreadable(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	simAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	text := fmt.Sprintf(`site: test-site
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
profile_files: [%q]
devices:
  - id: fire-panel-1
    profile: fire_panel
    location: B1 riser
    modbus: {address: %q, unit_id: 3, interval: 200ms, timeout: 500ms}
rules:
  - name: fire_alarm_active
    match: {type: fire_panel}
    expr: fire_alarm
    severity: critical
    flapping: {window: 0s}
    annotations: {summary: "FIRE ALARM"}
    ticket: {priority: P1, category: fire}
`, filepath.Join(filepath.Dir(path), "state"), influx.URL, influx.Bucket, httpAddr,
		filepath.Join(root, "configs/profiles/*.yaml"), simAddr)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, t0 := startSim(t, ctx, cfg, logger, "fire-panel-1:exception@10s", sim.Config{Seed: 5, Tick: -1})
	stop := startDaemon(t, ctx, cfg, logger, httpAddr)
	defer stop()

	waitPolls(t, httpAddr, cfg.Devices[0].Modbus.Address, 10) // polls that read
	if open := openTickets(t, httpAddr); len(open) != 0 {
		t.Fatalf("tickets before the fault: %+v", open)
	}
	if a := unreadableAlert(t, httpAddr); a != nil {
		t.Fatalf("unreadable alert before the fault: %+v", a)
	}

	s.Step(t0.Add(11 * time.Second)) // the panel refuses holding register 0 from now on
	faultAt := time.Now()
	tk := waitTicket(t, ctx, httpAddr)
	took := time.Since(faultAt)
	wantTitle := "fire-panel-1: fire_alarm unreadable (Modbus exception 2: illegal data address) — fire_alarm_active cannot be evaluated"
	if tk.Title != wantTitle || tk.Priority != "P1" || tk.Device != "fire-panel-1" {
		t.Errorf("ticket %q %s %s, want %q P1", tk.Title, tk.Priority, tk.Device, wantTitle)
	}
	if took > 3*time.Second {
		t.Errorf("ticket %s after the fault, want within a few 200 ms polls", took)
	}
	a := unreadableAlert(t, httpAddr)
	if a == nil || a.State != "firing" || a.Severity != "critical" || a.Labels["critical_rule"] != "fire_alarm_active" {
		t.Fatalf("alert %+v", a)
	}

	// fire_alarm is asked for again every poll: the simulator sees reads
	// of holding register 0 keep coming, which an isolated point would not.
	before := s.Requests("fire-panel-1")
	time.Sleep(time.Second)
	if n := s.Requests("fire-panel-1") - before; n < 8 {
		t.Errorf("%d requests in 1 s of 200 ms polls: fire_alarm is not retried on its own every poll", n)
	}
	var dev struct {
		Health map[string]any `json:"health"`
	}
	getJSON(t, "http://"+httpAddr+"/api/v1/devices/fire-panel-1", &dev)
	if h := dev.Health[modbus.HealthUnreadable]; h != "fire_alarm: Modbus exception 2: illegal data address" {
		t.Errorf("device health %s = %v, want the point and its exception", modbus.HealthUnreadable, h)
	}
	if open := openTickets(t, httpAddr); len(open) != 1 {
		t.Errorf("open tickets = %d, want 1", len(open))
	}
}

func unreadableAlert(t *testing.T, httpAddr string) *web.Alert {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var as []web.Alert
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
		t.Fatal(err)
	}
	for i := range as {
		if as[i].Rule == "fire_alarm_active_unreadable" {
			return &as[i]
		}
	}
	return nil
}
