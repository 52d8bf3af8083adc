package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/rules"
)

// dashStatus is a daemon with nothing to show.
type dashStatus struct{}

func (dashStatus) Devices() []Device      { return nil }
func (dashStatus) Alerts() []Alert        { return nil }
func (dashStatus) Health() map[string]any { return map[string]any{"status": "ok"} }

// dashSilences accepts nothing: a request that reached it would fail the
// test with a status other than 401 or 403. The embedded interface keeps it
// a SilenceService as that grows; its other methods are never called.
type dashSilences struct{ SilenceService }

func (dashSilences) ListSilences(context.Context) ([]rules.Silence, error) { return nil, nil }
func (dashSilences) AddSilence(context.Context, rules.Silence) (rules.Silence, error) {
	return rules.Silence{}, errors.New("reached")
}
func (dashSilences) ExpireSilence(context.Context, string) error { return errors.New("reached") }

// TestDashboard checks that the page and its script are served under a
// strict Content-Security-Policy: no inline script, nothing from elsewhere.
func TestDashboard(t *testing.T) {
	s := New(Deps{Status: dashStatus{}}, slog.New(slog.DiscardHandler))
	get := func(path string) (*http.Response, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Result(), string(body)
	}
	resp, page := get("/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<script src="app.js"`) {
		t.Fatalf("GET /: %d, page without app.js:\n%s", resp.StatusCode, page)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q is not strict", csp)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<style") || strings.Contains(page, " style=") ||
		strings.Contains(page, "onclick=") || strings.Contains(page, "onsubmit=") {
		t.Error("the page has inline script or style, which the CSP blocks")
	}
	resp, js := get("/app.js")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("GET /app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "insertAdjacentHTML") || strings.Contains(js, "eval(") {
		t.Error("app.js writes HTML from strings; build nodes with textContent instead")
	}
	if !strings.Contains(js, "sessionStorage") || !strings.Contains(js, `"Bearer "`) {
		t.Error("app.js does not send the session's token as a bearer token")
	}
	// A token is checked before it is kept, and a 401 asks for one.
	if !strings.Contains(js, `"/api/v1/whoami"`) || !strings.Contains(js, `t("token.notKept")`) || !strings.Contains(js, "askToken()") {
		t.Error("app.js does not check a token with /api/v1/whoami before it keeps it, or does not ask for one on 401")
	}
	if resp, _ := get("/app.css"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /app.css: %d", resp.StatusCode)
	}
}

// TestChangesNeedToken sends every route that changes state without a
// token, with a wrong one, and with a viewer's: none may get through.
func TestChangesNeedToken(t *testing.T) {
	srv, _ := ticketServer(t)
	s := New(Deps{Status: dashStatus{}, Tickets: srv.Tickets, Silences: dashSilences{}, Auth: testAuth(t)},
		slog.New(slog.DiscardHandler))
	routes := [][2]string{{"POST", "/api/v1/tickets"}, {"POST", "/api/v1/silences"}, {"DELETE", "/api/v1/silences/abc"}}
	for _, a := range []string{"ack", "start", "hold", "resolve", "close", "cancel", "assign", "comment", "follow-up"} {
		routes = append(routes, [2]string{"POST", "/api/v1/tickets/1/" + a})
	}
	for _, r := range routes {
		for _, tc := range []struct {
			token string
			want  int
		}{{"", http.StatusUnauthorized}, {"not-a-token-at-all-0000", http.StatusUnauthorized}, {viewerToken, http.StatusForbidden}} {
			if got := call(t, s, r[0], r[1], tc.token, `{"title":"x","priority":"P1"}`, nil); got != tc.want {
				t.Errorf("%s %s with token %q: HTTP %d, want %d", r[0], r[1], tc.token, got, tc.want)
			}
		}
	}
	// Reads stay open, and no other method changes anything.
	for _, r := range [][2]string{{"PUT", "/api/v1/tickets/1"}, {"DELETE", "/api/v1/tickets/1"}, {"POST", "/api/v1/devices"},
		{"POST", "/api/v1/alerts"}, {"PATCH", "/api/v1/silences/abc"}, {"POST", "/"}, {"PUT", "/app.js"}} {
		if got := call(t, s, r[0], r[1], "", "{}", nil); got != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: HTTP %d, want 405", r[0], r[1], got)
		}
	}
}
