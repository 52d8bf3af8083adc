package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/web"
)

// runDaemon runs app.Run on cfg until the benchmark ends, once /healthz
// answers.
func runDaemon(b testing.TB, cfg *config.Config, httpAddr string) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- app.Run(ctx, cfg, app.Options{Logger: logger}) }()
	b.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			b.Error("daemon did not stop within 15 s of cancellation")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
				return
			}
		}
		select {
		case err := <-done:
			b.Fatalf("daemon stopped at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatal("daemon /healthz did not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The 30 days of 1-second data of BenchmarkHistory30Days1s: one point of
// one pump, ending at a fixed time so that the cached data set serves
// every run.
var (
	history1sEnd  = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	history1sFrom = history1sEnd.AddDate(0, 0, -30)
)

// writeHistory1s writes discharge_pressure of pump-1 every second of
// [history1sFrom, history1sEnd): 2,592,000 points, about 15 s on a loaded
// 2-core box, so they are written at each run rather than cached.
func writeHistory1s(b testing.TB, influx *testenv.Influxd) {
	b.Helper()
	start := time.Now()
	var buf bytes.Buffer
	flush := func() {
		u := influx.URL + "/write?" + url.Values{"db": {influx.DB}, "precision": {"s"}}.Encode()
		resp, err := http.Post(u, "text/plain", &buf)
		if err != nil {
			b.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("write: %s: %s", resp.Status, msg)
		}
		buf.Reset()
	}
	n := 0
	for t := history1sFrom; t.Before(history1sEnd); t = t.Add(time.Second) {
		s := float64(t.Unix())
		v := 3 + 0.5*math.Sin(s/3600) + 0.05*math.Sin(s/7)
		fmt.Fprintf(&buf, "pump,device=pump-1,site=bench discharge_pressure=%.3f %d\n", v, t.Unix())
		if n++; n%100_000 == 0 {
			flush()
		}
	}
	flush()
	b.Logf("wrote %d points in %s", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkHistory30Days1s times GET /api/v1/devices/pump-1/history over
// 30 days of 1-second data (2.6 M points) in a real influxd: the issue
// wants it answered in under a second, downsampled in InfluxDB to at most
// 2,000 points.
func BenchmarkHistory30Days1s(b *testing.B) {
	influx := testenv.StartInfluxd(b)
	writeHistory1s(b, influx)
	root, err := testenv.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	cfgPath := filepath.Join(b.TempDir(), "facilityd.yaml")
	text := fmt.Sprintf(`site: bench
state_dir: %q
influxdb: {url: %q, bucket: %q}
http: {listen: %q}
profile_files: [%q]
devices:
  - id: pump-1
    profile: booster_pump
    modbus: {address: "127.0.0.1:%d", unit_id: 1, interval: 10s, timeout: 200ms}
`, filepath.Join(filepath.Dir(cfgPath), "state"), influx.URL, influx.Bucket, httpAddr,
		filepath.Join(root, "configs/profiles/*.yaml"), testenv.FreePort(b))
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	runDaemon(b, cfg, httpAddr)
	u := "http://" + httpAddr + "/api/v1/devices/pump-1/history?" + url.Values{"points": {"discharge_pressure"},
		"from": {history1sFrom.Format(time.RFC3339)}, "to": {history1sEnd.Format(time.RFC3339)}}.Encode()
	var h web.History
	get := func() time.Duration {
		start := time.Now()
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			b.Fatalf("%s: %s", resp.Status, msg)
		}
		h = web.History{}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	get() // influxd's first read of the shards comes from disk
	var worst time.Duration
	for b.Loop() {
		worst = max(worst, get())
	}
	if len(h.Series) != 1 || len(h.Series[0].T) == 0 || len(h.Series[0].T) > web.MaxHistoryPoints {
		b.Fatalf("history: want 1 series of 1 to %d points, got %+v", web.MaxHistoryPoints, h.Series)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/answer")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	b.ReportMetric(float64(len(h.Series[0].T)), "points")
	b.ReportMetric(h.Step, "step-s")
}
