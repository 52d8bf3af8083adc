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
	"github.com/facilityd/facilityd/tickets/notify/webhook"
)

// TestTicketsWiring runs the daemon without devices: a ticket made through
// the API reaches the webhook receiver through the outbox, signed, and the
// SLA check Run starts records the missed respond-by and escalates it to
// the same receiver.
func TestTicketsWiring(t *testing.T) {
	const secret, token = "webhook-secret-0a9b8c7d", "operator-token-0123456789"
	var mu sync.Mutex
	var got []tickets.Notification
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook: %v", err)
		}
		var n tickets.Notification
		json.Unmarshal(body, &n)
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}))
	defer srv.Close()
	t.Setenv("FACILITYD_TEST_TOKEN", token)
	t.Setenv("FACILITYD_TEST_WEBHOOK_SECRET", secret)
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf(`site: t
state_dir: %q
influxdb: {url: "http://127.0.0.1:%d", bucket: facility/autogen}
http:
  listen: %q
  tokens: [{name: ana, role: operator, env: FACILITYD_TEST_TOKEN}]
tickets:
  sla: {P1: {respond_within: 1s, resolve_within: 1h}}
  escalation: {priority: raise, notify: [cmms], check_interval: 100ms}
  receivers:
    - name: cmms
      events: [created]
      webhook: {url: %q, secret_env: FACILITYD_TEST_WEBHOOK_SECRET}
`, filepath.Join(dir, "state"), testenv.FreePort(t), httpAddr, srv.URL+"/hook")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	go func() { done <- app.Run(ctx, cfg, app.Options{Logger: logger}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		logMu.Lock()
		defer logMu.Unlock()
		if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), token) {
			t.Errorf("the log shows a secret:\n%s", logs.String())
		}
	}()

	body := `{"title": "Lift 2 stuck", "priority": "P1", "category": "lifts"}`
	var resp *http.Response
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/tickets", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("API not up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: HTTP %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d notifications, want created and sla_breach", n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got[0].Event.Kind != tickets.EventCreated || got[0].Event.Actor != "ana" ||
		got[1].Event.Kind != tickets.EventSLABreach || got[1].Ticket.Priority != "P1" || !strings.Contains(got[1].Event.Detail, "respond-by") {
		t.Fatalf("notifications %+v", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
