package portfolio

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/web"
)

const viewerSecret = "viewer-secret-0123456789"

// TestServerReadRule: on an address other than loopback, or with read:
// token, the API needs a token of any role, as the daemon's does; the
// page and /healthz stay open, under the console's CSP.
func TestServerReadRule(t *testing.T) {
	cfg := loadGood(t)
	tokFile := filepath.Join(t.TempDir(), "viewer")
	if err := os.WriteFile(tokFile, []byte(viewerSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.HTTP = web.Config{Listen: "0.0.0.0:8090", Tokens: []web.Token{{Name: "board", Role: "viewer", File: tokFile}}}
	now := time.Date(2026, 12, 3, 10, 40, 0, 0, cfg.Zone)
	s, err := NewServer(cfg, Options{Energy: fakeEnergy(cfg, now), Tickets: &fakeTickets{}, Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := get("/api/v1/portfolio", ""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if w := get("/api/v1/portfolio", "Bearer wrong-token-0123456789"); w.Code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", w.Code)
	}
	w := get("/api/v1/portfolio", "Bearer "+viewerSecret)
	var v View
	if err := json.Unmarshal(w.Body.Bytes(), &v); w.Code != 200 || err != nil || len(v.Sites) != 2 || v.Sites[0].Energy.LastMonth.KWh != 2880 {
		t.Fatalf("with the viewer's token: %d %v %.300s", w.Code, err, w.Body.String())
	}
	if w := get("/healthz", ""); w.Code != 200 {
		t.Errorf("healthz: %d", w.Code)
	}
	w = get("/", "")
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") || !strings.Contains(string(body), "portfolio.js") {
		t.Errorf("the page: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	if w := get("/api/v1/nothing", "Bearer "+viewerSecret); w.Code != 404 {
		t.Errorf("an unknown path: %d", w.Code)
	}
	r := httptest.NewRequest("POST", "/api/v1/portfolio", nil)
	r.Header.Set("Authorization", "Bearer "+viewerSecret)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405: nothing here changes state", rec.Code)
	}

	// On loopback, reads are open.
	cfg.HTTP = web.Config{Listen: "127.0.0.1:8090"}
	s, err = NewServer(cfg, Options{Energy: fakeEnergy(cfg, now), Tickets: &fakeTickets{}, Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if w := get("/api/v1/portfolio", ""); w.Code != 200 {
		t.Errorf("loopback without a token: %d", w.Code)
	}
}
