package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// healthStatus is a daemon whose health says status.
type healthStatus struct{ status any }

func (healthStatus) Devices() []Device { return nil }
func (healthStatus) Alerts() []Alert   { return nil }
func (h healthStatus) Health() map[string]any {
	return map[string]any{"status": h.status, "influxdb": map[string]any{"state": "x"}}
}

// TestHealthzCodes: "degraded" (readings wait in the spool while InfluxDB is
// away) still answers 200, so that a liveness probe does not restart a
// daemon that is keeping data safe; only a failing or unknown status is 503.
// The body is the same either way.
func TestHealthzCodes(t *testing.T) {
	for status, want := range map[any]int{
		"ok":       http.StatusOK,
		"degraded": http.StatusOK,
		"failing":  http.StatusServiceUnavailable,
		"starting": http.StatusServiceUnavailable,
		"":         http.StatusServiceUnavailable,
		nil:        http.StatusServiceUnavailable,
	} {
		s := New(Deps{Status: healthStatus{status}}, slog.New(slog.DiscardHandler))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		var body map[string]any
		if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != want || body["status"] != status || body["influxdb"] == nil {
			t.Errorf("status %q: /healthz %d %v, want %d", status, rec.Code, body, want)
		}
	}
}
