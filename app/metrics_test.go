package app

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/web"
)

// TestMetricsAndHealth serves /metrics and /healthz from the app's own
// registry and status: the storage and live-state series are there, under
// the app's registry (not Prometheus' global one), and /healthz carries the
// writer's and the spool's state.
func TestMetricsAndHealth(t *testing.T) {
	a := &app{live: newLive()}
	a.reg = newRegistry(a)
	var err error
	a.writer, err = store.NewWriter(store.Config{URL: "http://127.0.0.1:1", Bucket: "b"},
		store.WriterOptions{SpoolDir: t.TempDir(), Registerer: a.reg})
	if err != nil {
		t.Fatal(err)
	}
	samples := []drivers.Sample{
		{Time: time.Now(), Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(1)},
		{Time: time.Now(), Device: "pump-1", Measurement: "device_health", Point: "up", Value: drivers.Bool(true)},
	}
	a.writer.Put(t.Context(), samples)
	a.live.put(samples)
	srv := web.New(web.Deps{Status: a, Metrics: metricsHandler(a.reg)}, slog.New(slog.DiscardHandler))

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"facilityd_store_samples_in_total 2",
		"facilityd_store_samples_written_total 0",
		`facilityd_store_samples_dropped_total{reason="spool_full"} 0`,
		`facilityd_store_influxdb_errors_total{kind="network"} 0`,
		"facilityd_store_samples_pending 2",
		"facilityd_store_spool_bytes",
		"facilityd_store_spool_segments 1",
		"facilityd_store_batch_duration_seconds_bucket",
		"facilityd_live_series 2",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var h struct {
		Status   string
		InfluxDB store.WriterStatus `json:"influxdb"`
		Live     store.LiveStats
	}
	if err := json.NewDecoder(rec.Body).Decode(&h); err != nil || rec.Code != 200 {
		t.Fatalf("/healthz %d: %v", rec.Code, err)
	}
	if h.Status != "ok" || h.InfluxDB.State != "ok" || h.InfluxDB.Samples.Pending != 2 || h.InfluxDB.Spool == nil || h.Live.Series != 2 {
		t.Errorf("/healthz = %+v", h)
	}
}
