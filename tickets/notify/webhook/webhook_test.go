package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

const secret = "hmac-secret-9f8e7d6c5b4a"

func secretFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func notification() tickets.Notification {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	return tickets.Notification{ID: "a1b2c3-42",
		Event:  tickets.Event{ID: 42, TicketID: 7, At: at, Actor: "facilityd", Kind: tickets.EventCreated, Detail: "opened P1 from rule"},
		Ticket: tickets.Ticket{ID: 7, Title: `pump-2: "Discharge" pressure low`, Priority: "P1", Status: tickets.StatusOpen, Device: "pump-2"}}
}

// received is one request as the test server saw it.
type received struct {
	header http.Header
	body   []byte
}

func TestNotifyRequest(t *testing.T) {
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), b}
	}))
	defer srv.Close()
	cmms := `{"external_id": {{json .ID}}, "summary": {{json .Ticket.Title}}, "urgency": {{if eq .Ticket.Priority "P1"}}"high"{{else}}"normal"{{end}}, "asset": {{json .Ticket.Device}}}`
	for _, tt := range []struct {
		name, template string
		check          func(t *testing.T, body []byte)
	}{
		{"json", "", func(t *testing.T, body []byte) {
			var n tickets.Notification
			if err := json.Unmarshal(body, &n); err != nil || n.ID != "a1b2c3-42" || n.Ticket.Title != notification().Ticket.Title ||
				n.Event.Kind != tickets.EventCreated {
				t.Errorf("body %s: %+v, %v", body, n, err)
			}
		}},
		{"cmms template", cmms, func(t *testing.T, body []byte) {
			var m map[string]string
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("template output is not JSON: %v\n%s", err, body)
			}
			want := map[string]string{"external_id": "a1b2c3-42", "summary": `pump-2: "Discharge" pressure low`, "urgency": "high", "asset": "pump-2"}
			if fmt.Sprint(m) != fmt.Sprint(want) {
				t.Errorf("body %v, want %v", m, want)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New("cmms", tickets.WebhookConfig{URL: srv.URL + "/hook", SecretFile: secretFile(t), Template: tt.template,
				Headers: map[string]string{"Authorization": "Bearer cmms-token"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Notify(context.Background(), notification()); err != nil {
				t.Fatal(err)
			}
			r := <-got
			tt.check(t, r.body)
			for k, want := range map[string]string{HeaderIdempotencyKey: "a1b2c3-42", HeaderEvent: "created",
				"Content-Type": "application/json", "Authorization": "Bearer cmms-token"} {
				if v := r.header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
			if err := Verify([]byte(secret), r.header, r.body, time.Now(), time.Minute); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestNotifyAnswers(t *testing.T) {
	code := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
		fmt.Fprint(w, "answer body")
	}))
	defer srv.Close()
	w, err := New("r", tickets.WebhookConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		code         int
		ok, rejected bool
	}{
		{200, true, false}, {204, true, false}, {500, false, false}, {503, false, false}, {429, false, false},
		{408, false, false}, {400, false, true}, {404, false, true}, {401, false, true}, {302, false, true},
	} {
		code = tt.code
		err := w.Notify(context.Background(), notification())
		if (err == nil) != tt.ok || errors.Is(err, tickets.ErrRejected) != tt.rejected {
			t.Errorf("HTTP %d: err %v, want ok=%v rejected=%v", tt.code, err, tt.ok, tt.rejected)
		}
		if err != nil && !strings.Contains(err.Error(), "answer body") {
			t.Errorf("HTTP %d: err %v lacks the answer", tt.code, err)
		}
	}
	bad, _ := New("r", tickets.WebhookConfig{URL: srv.URL, Template: "{{.Ticket.Nope}}"})
	if err := bad.Notify(context.Background(), notification()); !errors.Is(err, tickets.ErrRejected) {
		t.Errorf("template failing on the notification: err %v, want ErrRejected", err)
	}
}

// flakyServer fails its first fails requests with 503, then records each
// idempotency key it accepts; a key seen twice is a duplicate.
type flakyServer struct {
	mu       sync.Mutex
	fails    int
	requests int
	keys     []string
	bodies   map[string]received
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.requests <= f.fails {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	k := r.Header.Get(HeaderIdempotencyKey)
	f.keys = append(f.keys, k)
	f.bodies[k] = received{r.Header.Clone(), b}
}

func (f *flakyServer) accepted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.keys)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReceiverFailsThenRecovers runs the whole path: ticket changes queue
// notifications, the dispatcher posts them to a receiver that fails five
// times, and in the end the receiver has each one once, in order, signed.
// The secret, the URL's token and the Authorization header never show in
// the log.
func TestReceiverFailsThenRecovers(t *testing.T) {
	ctx := context.Background()
	fs := &flakyServer{fails: 5, bodies: map[string]received{}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	cfg := tickets.Config{
		Receivers: []tickets.Receiver{{Name: "cmms", Webhook: &tickets.WebhookConfig{
			URL: srv.URL + "/hook?token=url-token-5d4c", SecretFile: secretFile(t),
			Headers: map[string]string{"Authorization": "Bearer header-token-3b2a"}}}},
		Outbox: tickets.Outbox{RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond, PollInterval: 20 * time.Millisecond},
	}
	s, err := tickets.Open(ctx, filepath.Join(t.TempDir(), "tickets.db"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := New("cmms", *cfg.Receivers[0].Webhook)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		s.Dispatcher(map[string]tickets.Notifier{"cmms": w}, logger).Run(dctx)
		close(done)
	}()
	defer func() { stop(); <-done }()

	tk, _, err := s.Raise(ctx, tickets.Alert{Key: "k1", Title: "Pump 1 low pressure", Priority: "P2", Source: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := s.Transition(ctx, tk.ID, tickets.StatusAcknowledged, "ana", ""); return err },
		func() error { _, err := s.Comment(ctx, tk.ID, "ana", "on site"); return err },
		func() error {
			_, err := s.Transition(ctx, tk.ID, tickets.StatusResolved, "ana", "new seal")
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "4 notifications", func() bool { return len(fs.accepted()) >= 4 })
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive now
	keys := fs.accepted()
	if len(keys) != 4 {
		t.Fatalf("accepted %v, want 4 notifications, each once", keys)
	}
	var kinds []string
	for i, k := range keys {
		r := fs.bodies[k]
		var n tickets.Notification
		if err := json.Unmarshal(r.body, &n); err != nil || n.ID != k {
			t.Fatalf("body %d: id %q vs header %q (%v)", i, n.ID, k, err)
		}
		if i > 0 {
			var prev tickets.Notification
			json.Unmarshal(fs.bodies[keys[i-1]].body, &prev)
			if n.Event.ID <= prev.Event.ID {
				t.Errorf("out of order: event %d after %d", n.Event.ID, prev.Event.ID)
			}
		}
		if err := Verify([]byte(secret), r.header, r.body, time.Now(), time.Minute); err != nil {
			t.Errorf("notification %s: %v", k, err)
		}
		kinds = append(kinds, string(n.Event.Kind))
	}
	if fmt.Sprint(kinds) != "[created transition comment transition]" {
		t.Errorf("kinds %v", kinds)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "delivery failed") || !strings.Contains(out, "503") {
		t.Errorf("the failures were not logged:\n%s", out)
	}
	for _, leak := range []string{secret, "url-token-5d4c", "header-token-3b2a"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
	st, _ := s.Outbox(ctx)
	if strings.Contains(fmt.Sprint(st), "url-token") {
		t.Errorf("outbox state shows the URL: %+v", st)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestErrorsHideSecrets: neither a refused connection nor a bad secret file
// puts the URL's token or the secret in an error.
func TestErrorsHideSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	w, err := New("r", tickets.WebhookConfig{URL: "http://" + addr + "/?token=url-token-5d4c", SecretFile: secretFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Notify(context.Background(), notification())
	if err == nil || errors.Is(err, tickets.ErrRejected) {
		t.Fatalf("refused connection: err %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "url-token") || strings.Contains(err.Error(), secret) {
		t.Errorf("error shows a secret: %v", err)
	}
	_, err = New("r", tickets.WebhookConfig{URL: "http://x/", SecretEnv: "FACILITYD_TEST_NO_SUCH_VAR"})
	if err == nil || !strings.Contains(err.Error(), "FACILITYD_TEST_NO_SUCH_VAR") {
		t.Errorf("missing secret: err %v, want it to name the variable", err)
	}
}
