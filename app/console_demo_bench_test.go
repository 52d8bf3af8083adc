package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
)

// startDemoSim serves every Modbus device of the demo config from the
// simulator until the benchmark ends: the readings the daemon polls.
func startDemoSim(b testing.TB, cfg *config.Config) {
	b.Helper()
	var devs []sim.Device
	for _, d := range cfg.Devices {
		if d.Modbus != nil {
			devs = append(devs, sim.Device{ID: d.ID, UnitID: d.Modbus.UnitID, Profile: cfg.Profiles[d.Profile]})
		}
	}
	s, err := sim.New(sim.Config{Addr: os.Getenv("FACILITYD_MODBUS_ADDR"), Devices: devs, Seed: 1}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case <-s.Ready():
	case err := <-done:
		b.Fatalf("simulator: %v", err)
	}
}

// firstPaintProbe runs in the page before its scripts: it notes when the
// overview shows all its tiles (performance.now(), from the navigation).
const firstPaintProbe = `new MutationObserver((_, obs) => {
  if (document.querySelectorAll(".page-overview .tile").length >= %d) { window.tilesAt = performance.now(); obs.disconnect(); }
}).observe(document, { childList: true, subtree: true });`

// BenchmarkOverviewFirstPaint loads the console's overview of the demo
// building (configs/demo.yaml, the simulator, a real influxd) in headless
// Chromium with its cache disabled, and reports the first contentful paint
// and the time until every device's tile is drawn (both from the
// navigation's start, in the Performance API's clock). The issue wants the
// first paint under a second.
func BenchmarkOverviewFirstPaint(b *testing.B) {
	cfg, httpAddr := loadDemoConfig(b, b.TempDir())
	startDemoSim(b, cfg)
	runDaemon(b, cfg, httpAddr)
	ctx := testenv.Chromium(b)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		b.Fatal(err)
	}
	probe := fmt.Sprintf(firstPaintProbe, len(cfg.Devices))
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probe}); err != nil {
		b.Fatal(err)
	}
	base := "http://" + httpAddr + "/"
	var fcps, tiles []float64
	load := func() {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		// Each navigation makes a new document, in which the probe runs.
		if err := chromedp.Do(wctx, chromedp.Navigate(base)); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(wctx, chromedp.Poll[bool](`!!window.tilesAt`, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
			b.Fatalf("the overview's %d tiles: %v", len(cfg.Devices), err)
		}
		v, err := chromedp.Run(wctx, chromedp.Evaluate[[]float64](`[(performance.getEntriesByName("first-contentful-paint")[0] || {startTime: -1}).startTime, window.tilesAt]`))
		if err != nil || len(v) != 2 || v[0] <= 0 {
			b.Fatalf("paint timings: %v %v", v, err)
		}
		fcps, tiles = append(fcps, v[0]), append(tiles, v[1])
	}
	load() // the daemon's and Chromium's first of everything
	fcps, tiles = nil, nil
	for b.Loop() {
		load()
	}
	b.ReportMetric(median(fcps), "fcp-ms")
	b.ReportMetric(slices.Max(fcps), "worst-fcp-ms")
	b.ReportMetric(median(tiles), "tiles-ms")
	b.ReportMetric(slices.Max(tiles), "worst-tiles-ms")
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkSSEClientsCPU runs the daemon on the demo building (its
// Modbus devices served by the simulator, so readings change every few
// seconds) as its own process, and measures its CPU time (utime + stime
// from /proc) over the same window with no client and with 100 clients on
// GET /api/v1/events. The issue asks for the added CPU. Run it with
// -benchtime 1x: one iteration is two windows of sseWindow.
func BenchmarkSSEClientsCPU(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc")
	}
	const clients = 100
	sseWindow := 30 * time.Second
	if s := os.Getenv("FACILITYD_SSE_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		sseWindow = d
	}
	dir := b.TempDir()
	cfg, httpAddr := loadDemoConfig(b, dir)
	startDemoSim(b, cfg)
	bin := filepath.Join(dir, "facilityd")
	if out, err := exec.Command("go", "build", "-o", bin, "../daemon").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	abs, _ := filepath.Abs("../configs/demo.yaml")
	cmd := exec.Command(bin, "run", "-c", abs)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	base := "http://" + httpAddr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("daemon /healthz did not answer within 30 s")
		}
	}
	cpu := func() time.Duration {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		// The fields after the command's name (in parentheses): utime and
		// stime are the 14th and 15th of the line, in clock ticks.
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * time.Second / 100 // USER_HZ
	}
	measure := func() time.Duration {
		c0 := cpu()
		time.Sleep(sseWindow)
		return cpu() - c0
	}
	// The start's work is over once the demo's missed monthly reports
	// (five files) are archived and a few seconds pass with little CPU.
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		var list struct{ Reports []json.RawMessage }
		if fetchJSON(base+"/api/v1/reports", &list) == http.StatusOK && len(list.Reports) >= 5 {
			break
		}
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		c0 := cpu()
		time.Sleep(3 * time.Second)
		if cpu()-c0 < 300*time.Millisecond {
			break
		}
	}
	var idle, busy time.Duration
	var events atomic.Int64
	for range b.N {
		idle += measure()

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var connected atomic.Int64
		for range clients {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				connected.Add(1)
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "event: ") && sc.Text() != "event: hello" {
						events.Add(1)
					}
				}
			})
		}
		time.Sleep(3 * time.Second)
		if n := connected.Load(); n != clients {
			b.Fatalf("%d of %d clients connected", n, clients)
		}
		events.Store(0)
		busy += measure()
		cancel()
		wg.Wait()
	}
	n := float64(b.N)
	if events.Load() == 0 {
		b.Fatal("no event reached the clients: no live readings flowed")
	}
	b.ReportMetric(idle.Seconds()/n, "cpu-s-0-clients")
	b.ReportMetric(busy.Seconds()/n, "cpu-s-100-clients")
	b.ReportMetric(100*(busy-idle).Seconds()/n/sseWindow.Seconds(), "added-%-of-a-core")
	b.ReportMetric(float64(events.Load())/clients/sseWindow.Seconds(), "events/s/client")
}
