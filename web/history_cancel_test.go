package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// blockedHistory answers only when its caller gives up, as InfluxDB does
// when a browser leaves a page while its chart loads.
type blockedHistory struct{}

func (blockedHistory) PointHistory(ctx context.Context, device string, points []string, from, to time.Time) (History, error) {
	<-ctx.Done()
	return History{}, ctx.Err()
}

func (blockedHistory) AlertHistory(ctx context.Context, device string, from, to time.Time, limit int) ([]AlertEvent, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestHistoryClientGone: a history request its client abandoned (the
// browser moved on) is no error of the server's: nothing at error level is
// logged, while a failure with the client still there is.
func TestHistoryClientGone(t *testing.T) {
	var logs bytes.Buffer
	s := New(Deps{Status: dashStatus{}, History: blockedHistory{}}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, path := range []string{"/api/v1/devices/pump-1/history?points=discharge_pressure", "/api/v1/alerts/history"} {
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequest("GET", path, nil).WithContext(ctx)
		time.AfterFunc(20*time.Millisecond, cancel)
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("an abandoned request logged an error:\n%s", logs.String())
	}

	// The same failure while the client waits is logged.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	s = New(Deps{Status: dashStatus{}, History: timeoutHistory{ctx}}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/alerts/history", nil))
	if rec.Code != 502 || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("InfluxDB timing out: %d, logs %q; want 502 and an error logged", rec.Code, logs.String())
	}
}

// timeoutHistory fails as an InfluxDB query that timed out on its own.
type timeoutHistory struct{ ctx context.Context }

func (h timeoutHistory) PointHistory(context.Context, string, []string, time.Time, time.Time) (History, error) {
	<-h.ctx.Done()
	return History{}, h.ctx.Err()
}

func (h timeoutHistory) AlertHistory(context.Context, string, time.Time, time.Time, int) ([]AlertEvent, error) {
	<-h.ctx.Done()
	return nil, h.ctx.Err()
}
