package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
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

// TestModbusPollDurationHistogram: every answered poll's duration goes
// into a histogram per gateway, not a gauge of the last poll; MQTT
// latency samples (message delays) stay out, and every sample still
// reaches the next sink.
func TestModbusPollDurationHistogram(t *testing.T) {
	a := &app{live: newLive()}
	a.reg = newRegistry(a)
	devs := []modbus.Device{
		{ID: "pump-1", Config: modbus.Config{Address: "10.0.0.5:502"}},
		{ID: "pump-2", Config: modbus.Config{Address: "10.0.0.5:502"}},
		{ID: "meter-1", Config: modbus.Config{Address: "10.0.0.6:502"}},
	}
	passed := 0
	sink := a.modbusMetrics.observing(devs, drivers.SinkFunc(func(_ context.Context, ss []drivers.Sample) { passed += len(ss) }))
	latency := func(dev string, ms float64) drivers.Sample {
		return drivers.Sample{Time: time.Now(), Device: dev, Measurement: drivers.HealthMeasurement, Point: drivers.HealthLatency, Value: drivers.Float(ms)}
	}
	sink.Put(t.Context(), []drivers.Sample{
		{Time: time.Now(), Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(3)},
		latency("pump-1", 3), latency("pump-2", 40), latency("pump-1", 700), latency("meter-1", 1.5),
		latency("room-101", 9000), // an MQTT device: not a Modbus poll
	})
	if passed != 6 {
		t.Errorf("%d samples passed on, want 6", passed)
	}
	rec := httptest.NewRecorder()
	metricsHandler(a.reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`facilityd_modbus_poll_duration_seconds_bucket{gateway="10.0.0.5:502",le="0.001"} 0`,
		`facilityd_modbus_poll_duration_seconds_bucket{gateway="10.0.0.5:502",le="0.005"} 1`,
		`facilityd_modbus_poll_duration_seconds_bucket{gateway="10.0.0.5:502",le="0.05"} 2`,
		`facilityd_modbus_poll_duration_seconds_bucket{gateway="10.0.0.5:502",le="1"} 3`,
		`facilityd_modbus_poll_duration_seconds_bucket{gateway="10.0.0.5:502",le="5"} 3`,
		`facilityd_modbus_poll_duration_seconds_count{gateway="10.0.0.5:502"} 3`,
		`facilityd_modbus_poll_duration_seconds_sum{gateway="10.0.0.5:502"} 0.743`,
		`facilityd_modbus_poll_duration_seconds_bucket{gateway="10.0.0.6:502",le="0.0025"} 1`,
		`facilityd_modbus_poll_duration_seconds_count{gateway="10.0.0.6:502"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `gateway=""`) {
		t.Errorf("a latency sample of a device without a gateway was observed:\n%s", body)
	}
}
