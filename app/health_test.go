package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/web"
)

// TestHealthDegraded: while the writer retries (InfluxDB unreachable) the
// daemon's status is "degraded", with the writer's state beside it, and
// /healthz still answers 200: the readings wait in the spool.
func TestHealthDegraded(t *testing.T) {
	a := &app{live: newLive()}
	var err error
	a.writer, err = store.NewWriter(store.Config{URL: "http://127.0.0.1:1", Bucket: "b", FlushInterval: 10 * time.Millisecond},
		store.WriterOptions{SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if h := a.Health(); h["status"] != "ok" {
		t.Errorf("before any write Health() = %v", h)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.writer.Run(ctx) }()
	defer func() { cancel(); <-done }()
	a.writer.Put(ctx, []drivers.Sample{{Time: time.Now(), Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(1)}})
	for deadline := time.Now().Add(10 * time.Second); a.writer.Status().State != "retrying"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("writer never retried: %+v", a.writer.Status())
		}
	}
	srv := web.New(web.Deps{Status: a}, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var h struct {
		Status   string
		InfluxDB store.WriterStatus `json:"influxdb"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&h); err != nil || rec.Code != 200 {
		t.Fatalf("/healthz %d: %v", rec.Code, err)
	}
	if h.Status != "degraded" || h.InfluxDB.State != "retrying" {
		t.Errorf("/healthz = %+v", h)
	}
}
