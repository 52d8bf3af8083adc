package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestTicketsReload changes the tickets section under a running daemon:
// a notification queued for a receiver that is down goes out once to its
// new address after the reload, new tickets get the new SLA, and a reload
// whose receiver cannot be built keeps the running section.
func TestTicketsReload(t *testing.T) {
	const token = "operator-token-0123456789"
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	var mu sync.Mutex
	got := map[string]int{} // notification id → deliveries
	var order []tickets.Notification
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n tickets.Notification
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &n)
		mu.Lock()
		got[n.ID]++
		order = append(order, n)
		mu.Unlock()
	}))
	defer up.Close()
	t.Setenv("FACILITYD_TEST_TOKEN", token)

	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	influx := testenv.FreePort(t)
	write := func(tickets string) {
		t.Helper()
		text := fmt.Sprintf(`site: t
state_dir: %q
influxdb: {url: "http://127.0.0.1:%d", bucket: facility/autogen}
http:
  listen: %q
  tokens: [{name: ana, role: operator, env: FACILITYD_TEST_TOKEN}]
tickets:
%s`, filepath.Join(dir, "state"), influx, httpAddr, tickets)
		if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const outbox = "  outbox: {retry_min: 10ms, retry_max: 50ms, poll_interval: 50ms}\n"
	write(outbox + fmt.Sprintf("  receivers: [{name: cmms, events: [created], webhook: {url: %q}}]\n", down.URL))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	var logMu sync.Mutex
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	waitLog := func(s string, n int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			logMu.Lock()
			c := strings.Count(logs.String(), s)
			logMu.Unlock()
			if c >= n {
				return
			}
			if time.Now().After(deadline) {
				logMu.Lock()
				defer logMu.Unlock()
				t.Fatalf("log has %q %d times, want %d:\n%s", s, c, n, logs.String())
			}
		}
	}
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, app.Options{Logger: logger, Reload: reload}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	create := func(title string) tickets.Ticket {
		t.Helper()
		body := fmt.Sprintf(`{"title": %q, "priority": "P2"}`, title)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/tickets", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if time.Now().After(deadline) {
					t.Fatalf("API not up: %v", err)
				}
				continue
			}
			defer resp.Body.Close()
			var tk tickets.Ticket
			if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&tk) != nil {
				t.Fatalf("create: HTTP %d", resp.StatusCode)
			}
			return tk
		}
	}
	before := create("Leak under sink, room 204")
	if d := before.RespondBy.Sub(before.CreatedAt); d != time.Hour {
		t.Fatalf("respond within %s, want the default P2 1h", d)
	}
	waitLog("outbox: delivery failed", 1) // queued, and the receiver is down

	write(outbox + fmt.Sprintf(`  sla: {P2: {respond_within: 5m, resolve_within: 2h}}
  receivers: [{name: cmms, events: [created], webhook: {url: %q}}]
`, up.URL))
	reload <- struct{}{}
	waitLog("tickets config reloaded", 1)
	after := create("Door closer broken, lobby")
	if d := after.RespondBy.Sub(after.CreatedAt); d != 5*time.Minute {
		t.Fatalf("after reload: respond within %s, want 5m", d)
	}

	// A receiver whose secret is missing fails to build: nothing changes.
	write(outbox + fmt.Sprintf(`  sla: {P2: {respond_within: 7m, resolve_within: 2h}}
  receivers: [{name: cmms, webhook: {url: %q, secret_env: FACILITYD_TEST_UNSET_SECRET}}]
`, down.URL))
	reload <- struct{}{}
	waitLog("reload failed", 1)
	kept := create("Light out, stairwell B")
	if d := kept.RespondBy.Sub(kept.CreatedAt); d != 5*time.Minute {
		t.Fatalf("after a failed reload: respond within %s, want the running 5m", d)
	}

	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new address got %d notifications, want 3", n)
		}
	}
	// Wait until the outbox itself says every notification to cmms was
	// delivered and none waits: a repeat would be sent before that.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + httpAddr + "/api/v1/tickets/outbox")
		if err != nil {
			t.Fatal(err)
		}
		var states []tickets.OutboxState
		json.NewDecoder(resp.Body).Decode(&states)
		resp.Body.Close()
		settled := false
		for _, st := range states {
			if st.Receiver == "cmms" && st.Pending == 0 && st.Delivered >= 3 {
				settled = true
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox did not settle: %+v", states)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range got {
		if n != 1 {
			t.Errorf("notification %s delivered %d times, want once", id, n)
		}
	}
	if len(order) != 3 || order[0].Ticket.ID != before.ID || order[1].Ticket.ID != after.ID || order[2].Ticket.ID != kept.ID {
		t.Fatalf("delivered %+v, want the created events of tickets %d, %d, %d in order", order, before.ID, after.ID, kept.ID)
	}
}
