package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// countingProxy forwards TCP connections to target and counts them.
func countingProxy(t *testing.T, target string) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	return ln.Addr().String(), conns
}

// TestReloadKeepsState: a reload (SIGHUP) that leaves a Modbus device as it
// was keeps its connection; an alert of an unchanged rule stays firing
// without a new occurrence; a removed rule's alert resolves on its ticket;
// a new rule works; a reload that changes the device reconnects it.
func TestReloadKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	simAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	proxy, conns := countingProxy(t, simAddr)
	path := filepath.Join(dir, "facilityd.yaml")
	write := func(interval, rules string) {
		text := fmt.Sprintf(`site: reload-site
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
profile_files: [%q]
devices:
  - id: pump-1
    profile: booster_pump
    modbus: {address: %q, unit_id: 1, interval: %s, timeout: 500ms}
rules:
%s`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr,
			filepath.Join(root, "configs/profiles/*.yaml"), proxy, interval, rules)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const keep = "  - {name: pump_running, match: {type: pump}, expr: running, ticket: {priority: P3, category: plumbing}}\n"
	const removed = "  - {name: pump_pressurised, match: {type: pump}, expr: discharge_pressure > 0, ticket: {priority: P3, category: plumbing}}\n"
	const added = "  - {name: pump_pressure_known, match: {type: pump}, expr: discharge_pressure > 0, ticket: {priority: P3, category: plumbing}}\n"
	write("200ms", keep+removed)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(t.Context())
	s, err := sim.New(sim.Config{Seed: 5, Addr: simAddr, Devices: []sim.Device{{ID: "pump-1", UnitID: 1, Profile: cfg.Profiles["booster_pump"]}}}, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(ctx)
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("simulator did not start")
	}
	reload := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, app.Options{Logger: logger, Reload: reload}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	byRule := func() map[string]tickets.Ticket {
		resp, err := http.Get("http://" + httpAddr + "/api/v1/tickets")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var ts []tickets.Ticket
		json.NewDecoder(resp.Body).Decode(&ts)
		out := map[string]tickets.Ticket{}
		for _, tk := range ts {
			out[strings.TrimPrefix(tk.Title, "pump-1: ")] = tk // the rule's name: no summary is set
		}
		return out
	}
	wait := func(what string, ok func(map[string]tickets.Ticket) bool) map[string]tickets.Ticket {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ts := byRule()
			if ts != nil && ok(ts) {
				return ts
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: tickets %+v", what, ts)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	before := wait("both rules' tickets", func(ts map[string]tickets.Ticket) bool { return len(ts) == 2 })
	waitPolls(t, httpAddr, proxy, 5) // a few more polls
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections before the reload, want 1", n)
	}

	write("200ms", keep+added)
	reload <- struct{}{}
	wait("after the reload", func(ts map[string]tickets.Ticket) bool {
		return len(ts) == 3 && !ts["pump_pressurised"].AlertResolvedAt.IsZero()
	})
	waitPolls(t, httpAddr, proxy, 5) // the unchanged rule sees more polls: no re-fire
	after := byRule()
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections after a reload that left the device as it was, want 1", n)
	}
	k0, k1 := before["pump_running"], after["pump_running"]
	if k1.ID != k0.ID || k1.Occurrences != k0.Occurrences || !k1.AlertResolvedAt.IsZero() {
		t.Errorf("unchanged rule's ticket: before %+v, after %+v: want the same, still firing, no new occurrence", k0, k1)
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "facilityd_config_last_reload_successful 1") {
		t.Errorf("metrics lack facilityd_config_last_reload_successful 1")
	}

	write("300ms", keep+added) // the device changes: a new poller, a new connection
	reload <- struct{}{}
	deadline := time.Now().Add(10 * time.Second)
	for conns.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a reload that changed the device did not reconnect it (%d connections)", conns.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
