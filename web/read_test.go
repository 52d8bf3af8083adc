package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// readServer serves every read route: devices, alerts, tickets, silences
// and /metrics, with the test tokens.
func readServer(t *testing.T, read ReadMode) *Server {
	t.Helper()
	srv, _ := ticketServer(t)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up 1\n") })
	return New(Deps{Status: dashStatus{}, Tickets: srv.Tickets, Silences: dashSilences{}, Auth: testAuth(t), Metrics: metrics, Read: read},
		slog.New(slog.DiscardHandler))
}

// get sends a GET with the Authorization header given (none when empty).
func get(s *Server, path, authz string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("401 body %q: %v", rec.Body.String(), err)
	}
	return e.Error
}

// TestReadNeedsToken sends every GET without a token, with a wrong one and
// with a viewer's, with read: token and read: open.
func TestReadNeedsToken(t *testing.T) {
	paths := []string{"/api/v1/devices", "/api/v1/devices/ahu-1", "/api/v1/alerts", "/api/v1/tickets", "/api/v1/tickets?limit=30",
		"/api/v1/tickets/stats", "/api/v1/tickets/outbox", "/api/v1/tickets/1", "/api/v1/silences", "/api/v1/silences?active=true",
		"/api/v1/nothing-here", "/metrics"}
	open := readServer(t, ReadOpen)
	baseline := map[string]int{}
	for _, p := range paths {
		code := get(open, p, "").Code
		if code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 {
			t.Fatalf("GET %s open without token: %d", p, code)
		}
		baseline[p] = code
	}
	const (
		none  = ""
		wrong = "Bearer not-a-token-at-all-0000"
		basic = "Basic dmlld2VyOnBhc3N3b3Jk"
	)
	viewer := "Bearer " + viewerToken
	for _, mode := range []ReadMode{ReadToken, ReadOpen} {
		s := readServer(t, mode)
		for _, p := range paths {
			for _, tc := range []struct {
				name, authz string
				want        int
				msg         string
			}{
				{"no token", none, http.StatusUnauthorized, msgNoToken},
				{"basic auth", basic, http.StatusUnauthorized, msgNoToken},
				{"wrong token", wrong, http.StatusUnauthorized, msgBadToken},
				{"viewer token", viewer, baseline[p], ""},
			} {
				if mode == ReadOpen {
					tc.want, tc.msg = baseline[p], ""
				}
				rec := get(s, p, tc.authz)
				if rec.Code != tc.want {
					t.Errorf("read: %s, GET %s, %s: HTTP %d, want %d (%s)", mode, p, tc.name, rec.Code, tc.want, rec.Body.String())
					continue
				}
				if tc.msg == "" {
					continue
				}
				if got := errorOf(t, rec); got != tc.msg {
					t.Errorf("read: %s, GET %s, %s: error %q, want %q", mode, p, tc.name, got, tc.msg)
				}
				if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
					t.Errorf("read: %s, GET %s, %s: WWW-Authenticate %q", mode, p, tc.name, h)
				}
			}
		}
		// Probes and the dashboard's static files stay open.
		for _, p := range []string{"/healthz", "/", "/app.js", "/app.css"} {
			if rec := get(s, p, ""); rec.Code != http.StatusOK {
				t.Errorf("read: %s, GET %s without token: HTTP %d", mode, p, rec.Code)
			}
		}
		// Changes still need an operator, whatever the read mode.
		if got := call(t, s, "POST", "/api/v1/tickets", viewerToken, `{"title":"x","priority":"P1"}`, nil); got != http.StatusForbidden {
			t.Errorf("read: %s, POST as viewer: HTTP %d, want 403", mode, got)
		}
	}
}

// TestChangeUnauthorizedMessages: a change says "no token" and "token not
// accepted" apart too.
func TestChangeUnauthorizedMessages(t *testing.T) {
	s := readServer(t, ReadOpen)
	for authz, want := range map[string]string{"": msgNoToken, "Bearer nope-nope-nope-nope": msgBadToken} {
		req := httptest.NewRequest("POST", "/api/v1/tickets", strings.NewReader(`{"title":"x","priority":"P1"}`))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || errorOf(t, rec) != want || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("POST with %q: %d %s %q, want 401 %q", authz, rec.Code, rec.Body.String(), rec.Header().Get("WWW-Authenticate"), want)
		}
	}
}

func TestWhoami(t *testing.T) {
	for _, mode := range []ReadMode{ReadToken, ReadOpen} {
		s := readServer(t, mode)
		var me map[string]string
		if code := call(t, s, "GET", "/api/v1/whoami", viewerToken, "", &me); code != http.StatusOK || me["name"] != "wall-display" || me["role"] != "viewer" {
			t.Errorf("read: %s, whoami as viewer: %d %v", mode, code, me)
		}
		if code := call(t, s, "GET", "/api/v1/whoami", operatorToken, "", &me); code != http.StatusOK || me["name"] != "ana" || me["role"] != "operator" {
			t.Errorf("read: %s, whoami as operator: %d %v", mode, code, me)
		}
		if rec := get(s, "/api/v1/whoami", ""); rec.Code != http.StatusUnauthorized || errorOf(t, rec) != msgNoToken {
			t.Errorf("read: %s, whoami without token: %d %s", mode, rec.Code, rec.Body.String())
		}
		if rec := get(s, "/api/v1/whoami", "Bearer wrong-wrong-wrong-wrong"); rec.Code != http.StatusUnauthorized || errorOf(t, rec) != msgBadToken {
			t.Errorf("read: %s, whoami with a wrong token: %d %s", mode, rec.Code, rec.Body.String())
		}
	}
	// Without any tokens configured, nothing is accepted.
	s := New(Deps{Status: dashStatus{}}, slog.New(slog.DiscardHandler))
	if rec := get(s, "/api/v1/whoami", "Bearer "+viewerToken); rec.Code != http.StatusUnauthorized {
		t.Errorf("whoami without auth: %d", rec.Code)
	}
}

func TestReadDefault(t *testing.T) {
	for listen, want := range map[string]ReadMode{
		"127.0.0.1:8080": ReadOpen, "127.3.2.1:80": ReadOpen, "localhost:8080": ReadOpen, "LOCALHOST:1": ReadOpen,
		"[::1]:8080": ReadOpen, "::1": ReadOpen, "127.0.0.1": ReadOpen,
		":8080": ReadToken, "0.0.0.0:8080": ReadToken, "[::]:8080": ReadToken, "192.168.1.5:8080": ReadToken,
		"10.0.0.1:80": ReadToken, "facility.example:8080": ReadToken, "128.0.0.1:80": ReadToken, "": ReadToken,
	} {
		if got := (Config{Listen: listen}).EffectiveRead(); got != want {
			t.Errorf("listen %q: read %q, want %q", listen, got, want)
		}
		for _, explicit := range []ReadMode{ReadToken, ReadOpen} {
			if got := (Config{Listen: listen, Read: explicit}).EffectiveRead(); got != explicit {
				t.Errorf("listen %q, read %q: %q", listen, explicit, got)
			}
		}
	}
}

func TestReadConfig(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte("listen: ':8080'\nread: open\n"), &c); err != nil || c.Read != ReadOpen || c.Validate() != nil {
		t.Fatalf("read: open: %+v %v", c, err)
	}
	err := yaml.Unmarshal([]byte("read: tokens\n"), &c)
	if err == nil || !strings.Contains(err.Error(), `unknown value "tokens": use token or open`) {
		t.Errorf("read: tokens: err %v", err)
	}
	if err := (Config{Read: "Open"}).Validate(); err == nil || !strings.Contains(err.Error(), "http.read") {
		t.Errorf("Validate of read: Open: %v", err)
	}
	// An unknown mode given to New reads as token.
	s := New(Deps{Status: dashStatus{}, Read: "sometimes"}, slog.New(slog.DiscardHandler))
	if rec := get(s, "/api/v1/devices", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("read: sometimes: GET without token %d, want 401", rec.Code)
	}
}

// TestServeReadDefault: with Read unset, Serve picks the default for the
// address it listens on.
func TestServeReadDefault(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   int
	}{{"127.0.0.1:0", http.StatusOK}, {":0", http.StatusUnauthorized}} {
		ln, err := net.Listen("tcp", tc.listen)
		if err != nil {
			t.Skipf("listen %s: %v", tc.listen, err)
		}
		s := New(Deps{Status: dashStatus{}, Auth: testAuth(t)}, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, ln) }()
		port := ln.Addr().(*net.TCPAddr).Port
		c := &http.Client{Timeout: 5 * time.Second}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		resp, err := c.Get(url + "/api/v1/devices")
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("listen %s: GET /api/v1/devices without token: %d, want %d", tc.listen, resp.StatusCode, tc.want)
		}
		if resp, err := c.Get(url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("listen %s: /healthz: %v %v", tc.listen, resp, err)
		} else {
			resp.Body.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
