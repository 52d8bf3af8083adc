package app_test

import (
	"context"
	"fmt"
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

// TestPointHistoryInfluxd asks the daemon's GET /api/v1/devices/{id}/history
// for two hours of a pump's 1-second readings written into a real influxd:
// the numbers come averaged by InfluxQL, the boolean as its share of time
// true by Flux, each window's mean equal to the one computed here.
func TestPointHistoryInfluxd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	t0 := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	pressure := func(i int) float64 { return 3 + float64(i%60)/60 }
	current := func(i int) float64 { return 10 + float64(i%7) }
	var lines []string
	for i := range 7200 {
		lines = append(lines, fmt.Sprintf("pump,site=test-site,device=pump-1 discharge_pressure=%g,motor_current=%g,running=%t %d",
			pressure(i), current(i), i%4 != 0, t0.Unix()+int64(i)))
	}
	writeLineProtocol(t, influx, lines)

	dir := t.TempDir()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	text := fmt.Sprintf(`site: test-site
state_dir: %q
influxdb: {url: %q, bucket: %q}
http: {listen: %q}
profile_files: [%q]
devices:
  - {id: pump-1, profile: booster_pump, modbus: {address: "127.0.0.1:%d", unit_id: 1, interval: 1m, timeout: 200ms}}
`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr, filepath.Join(root, "configs/profiles/*.yaml"), testenv.FreePort(t))
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("daemon did not stop within 15 s")
		}
	})
	base := "http://" + httpAddr
	waitUntil(t, 20*time.Second, "the daemon", func() bool { return fetchJSON(base+"/healthz", nil) != 0 })

	// Two hours from one second in: windows of 4 s on the epoch's grid, the
	// first cut at the start (3 seconds of data).
	from, to := t0.Add(time.Second), t0.Add(2*time.Hour)
	q := url.Values{"points": {"discharge_pressure,motor_current,running"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	var h web.History
	if code := fetchJSON(base+"/api/v1/devices/pump-1/history?"+q.Encode(), &h); code != http.StatusOK {
		t.Fatalf("history: %d", code)
	}
	if h.Step != 4 || len(h.Series) != 3 {
		t.Fatalf("history: step %v s, %d series; want 4 s, 3", h.Step, len(h.Series))
	}
	mean := func(f func(int) float64, from, to int) float64 {
		var s float64
		for i := from; i < to; i++ {
			s += f(i)
		}
		return s / float64(to-from)
	}
	runningShare := func(i int) float64 {
		if i%4 != 0 {
			return 1
		}
		return 0
	}
	for k, f := range []func(int) float64{pressure, current, runningShare} {
		s := h.Series[k]
		if len(s.T) != 1800 || len(s.V) != len(s.T) {
			t.Errorf("%s: %d points, want 1800 (7199 s in windows of 4 s)", s.Point, len(s.T))
			continue
		}
		if got, want := s.V[0], mean(f, 1, 4); s.T[0] != from.Unix() || math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: first point %v at %d, want %v at %d", s.Point, got, s.T[0], want, from.Unix())
		}
		for _, j := range []int{1, 500, 1799} {
			start := int(s.T[j] - t0.Unix())
			if got, want := s.V[j], mean(f, start, min(start+4, 7200)); start%4 != 0 || math.Abs(got-want) > 1e-9 {
				t.Errorf("%s: point %d at +%d s: %v, want %v", s.Point, j, start, got, want)
			}
		}
	}
	if h.Series[0].Unit != "bar" {
		t.Errorf("pressure unit %q, want bar", h.Series[0].Unit)
	}
	if code := fetchJSON(base+"/api/v1/devices/pump-1/history?points=nope", nil); code != http.StatusBadRequest {
		t.Errorf("unknown point: %d, want 400", code)
	}
	if code := fetchJSON(base+"/api/v1/devices/pump-9/history?points=running", nil); code != http.StatusNotFound {
		t.Errorf("unknown device: %d, want 404", code)
	}
}
