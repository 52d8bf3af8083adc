package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// TestEndToEnd runs the whole path on real services: the simulator serves a
// pump and a meter over Modbus TCP, the daemon polls them into a real influxd,
// a pump fault fires the low-pressure rule, and exactly one ticket opens —
// also after a daemon restart.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, httpAddr := building(t, influx)
	simAddr := cfg.Devices[0].Modbus.Address
	// The simulator runs on a clock the test steps, so the values it serves
	// stay put while the test compares them with InfluxDB.
	s, t0 := startSim(t, ctx, cfg, logger, "pump-1:low_pressure@10s", sim.Config{Seed: 7, Tick: -1})

	stopDaemon := startDaemon(t, ctx, cfg, logger, httpAddr)

	// (a) Both devices' points reach InfluxDB with the values the simulator
	// serves, as an independent Modbus client (mbpoll) reads them.
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	pump := waitLast(t, ctx, q, "pump", "pump-1", "discharge_pressure")
	meter := waitLast(t, ctx, q, "energy_meter", "meter-1", "voltage_l1")
	if p := pump["discharge_pressure"].(float64); p < 2.5 || p > 4 {
		t.Errorf("stored discharge_pressure = %v, want about 3.2 bar", p)
	}
	if pump["running"] != true {
		t.Errorf("stored running = %v, want true", pump["running"])
	}
	served := readModbus(t, simAddr, 2, "3:float", 1, 6) // voltages and currents of meter-1
	for i, name := range []string{"voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "current_l2", "current_l3"} {
		got, ok := meter[name].(float64)
		if !ok || math.Abs(got-served[i]) > 0.01 {
			t.Errorf("meter-1 %s: InfluxDB has %v, Modbus serves %v", name, meter[name], served[i])
		}
	}
	rawPressure := readModbus(t, simAddr, 1, "4", 3, 1)[0] // holding 2, uint16, scale 0.01
	if got := pump["discharge_pressure"].(float64); math.Abs(got-rawPressure*0.01) > 1e-9 {
		t.Errorf("pump-1 discharge_pressure: InfluxDB has %v, Modbus serves raw %v", got, rawPressure)
	}
	if open := openTickets(t, httpAddr); len(open) != 0 {
		t.Fatalf("tickets before the fault: %+v", open)
	}
	metrics := scrape(t, httpAddr)
	for _, want := range []string{
		`facilityd_modbus_requests_total{gateway="` + simAddr + `"} [1-9]`,
		`facilityd_modbus_errors_total{gateway="` + simAddr + `"} 0`,
		`facilityd_modbus_devices{gateway="` + simAddr + `",status="online"} 2`,
		`facilityd_modbus_poll_duration_seconds_count{gateway="` + simAddr + `"} [1-9]`,
		`facilityd_rule_evaluations_total{trigger="samples"} [1-9]`,
		`facilityd_rule_evaluation_duration_seconds_count{trigger="samples"} [1-9]`,
	} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(metrics) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// (b) The fault starts: pressure drops while the pump keeps running; the
	// rule (for: 1s) fires and exactly one ticket opens, however long it lasts.
	s.Step(t0.Add(11 * time.Second))
	tk := waitTicket(t, ctx, httpAddr)
	if tk.Device != "pump-1" || tk.Priority != "P2" || tk.Source != "rule" || tk.Status != tickets.StatusOpen {
		t.Errorf("ticket = %+v", tk)
	}
	waitPolls(t, httpAddr, simAddr, 20) // more polls of the same fault: repeats, never a second ticket
	if open := openTickets(t, httpAddr); len(open) != 1 {
		t.Fatalf("open tickets during the fault = %d, want 1", len(open))
	}

	// (c) Restart the daemon during the fault: the rule fires again, the
	// ticket gains an occurrence, and there is still exactly one.
	stopDaemon()
	stopDaemon = startDaemon(t, ctx, cfg, logger, httpAddr)
	defer stopDaemon()
	deadline := time.Now().Add(30 * time.Second)
	for {
		open := openTickets(t, httpAddr)
		if len(open) != 1 {
			t.Fatalf("open tickets after restart = %d, want 1: %+v", len(open), open)
		}
		if open[0].ID == tk.ID && open[0].Occurrences >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the alert did not fire again after the restart: %+v", open[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// building writes and loads the test building's config: a pump and a meter
// behind one simulator address, the daemon's API on a free port, state in a
// temp dir.
func building(t *testing.T, influx *testenv.Influxd) (cfg *config.Config, httpAddr string) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	simAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(t.TempDir(), "facilityd.yaml")
	writeConfig(t, path, root, simAddr, httpAddr, influx)
	if cfg, err = config.Load(path); err != nil {
		t.Fatal(err)
	}
	return cfg, httpAddr
}

// startSim serves cfg's devices (all behind one address) with one fault
// until ctx ends; sc sets the seed and tick. With a negative tick it steps
// the simulation once at start, the returned time, from which the fault's
// delay counts and the test steps on.
func startSim(t *testing.T, ctx context.Context, cfg *config.Config, logger *slog.Logger, fault string, sc sim.Config) (*sim.Sim, time.Time) {
	t.Helper()
	for _, d := range cfg.Devices {
		sc.Devices = append(sc.Devices, sim.Device{ID: d.ID, UnitID: d.Modbus.UnitID, Profile: cfg.Profiles[d.Profile]})
	}
	sc.Addr = cfg.Devices[0].Modbus.Address
	f, err := sim.ParseFault(fault)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, []sim.Fault{f}, logger)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if sc.Tick < 0 {
		s.Step(start)
	}
	go s.Run(ctx)
	<-s.Ready()
	return s, start
}

func writeConfig(t *testing.T, path, root, simAddr, httpAddr string, influx *testenv.Influxd) {
	t.Helper()
	text := fmt.Sprintf(`site: test-site
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
profile_files: [%q]
devices:
  - id: pump-1
    profile: booster_pump
    tags: {building: A}
    modbus: {address: %q, unit_id: 1, interval: 200ms, timeout: 500ms}
  - id: meter-1
    profile: energy_meter
    tags: {building: A}
    modbus: {address: %q, unit_id: 2, interval: 200ms, timeout: 500ms}
rules:
  - name: pump_low_pressure
    match: {type: pump}
    expr: discharge_pressure < 1.5 && running
    for: 1s
    ticket: {priority: P2, category: plumbing}
`, filepath.Join(filepath.Dir(path), "state"), influx.URL, influx.Bucket, httpAddr,
		filepath.Join(root, "configs/profiles/*.yaml"), simAddr, simAddr)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startDaemon runs app.Run until the returned stop is called, and waits until
// /healthz answers.
func startDaemon(t *testing.T, ctx context.Context, cfg *config.Config, logger *slog.Logger, httpAddr string) (stop func()) {
	t.Helper()
	return launch(t, ctx, cfg, logger, httpAddr, http.StatusOK)
}

// startDaemonAllowingUnhealthy is startDaemon for a daemon whose /healthz may
// report a problem (503), as while InfluxDB is down.
func startDaemonAllowingUnhealthy(t *testing.T, ctx context.Context, cfg *config.Config, logger *slog.Logger, httpAddr string) (stop func()) {
	t.Helper()
	return launch(t, ctx, cfg, logger, httpAddr, http.StatusServiceUnavailable)
}

func launch(t *testing.T, ctx context.Context, cfg *config.Config, logger *slog.Logger, httpAddr string, alsoOK int) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, app.Options{Logger: logger}) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == alsoOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("daemon stopped at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon /healthz did not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("daemon did not stop within 15 s of cancellation")
		}
	}
}

func waitLast(t *testing.T, ctx context.Context, q *store.Querier, measurement, device, field string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		last, err := q.Last(ctx, measurement, device)
		if err == nil && last[field] != nil {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s %s.%s in InfluxDB after 30 s (last err: %v)", measurement, device, field, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var mbpollValue = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?[0-9.]+)`)

// readModbus reads count values starting at the 1-based reference ref with
// mbpoll, an independent Modbus client.
func readModbus(t *testing.T, addr string, unit int, typ string, ref, count int) []float64 {
	t.Helper()
	bin, err := exec.LookPath("mbpoll")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mbpoll is not installed (apt-get install mbpoll)")
		}
		t.Skip("mbpoll is not installed (apt-get install mbpoll)")
	}
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-m", "tcp", "-a", strconv.Itoa(unit), "-t", typ, "-r", strconv.Itoa(ref), "-c", strconv.Itoa(count), "-1", "-p", port}
	if strings.Contains(typ, "float") {
		args = append(args, "-B")
	}
	out, err := exec.Command(bin, append(args, host)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll %v: %v\n%s", args, err, out)
	}
	var vals []float64
	for _, m := range mbpollValue.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		vals = append(vals, v)
	}
	if len(vals) != count {
		t.Fatalf("mbpoll printed %d values, want %d:\n%s", len(vals), count, out)
	}
	return vals
}

// waitPolls waits until the daemon sent n more Modbus requests to gateway
// (as its own metric counts them): a condition to wait on before asserting
// that something did not happen, instead of a fixed sleep.
func waitPolls(t *testing.T, httpAddr, gateway string, n int) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^facilityd_modbus_requests_total\{gateway="` + regexp.QuoteMeta(gateway) + `"\} (\d+)`)
	count := func() int {
		m := re.FindStringSubmatch(scrape(t, httpAddr))
		if m == nil {
			return 0
		}
		v, _ := strconv.Atoi(m[1])
		return v
	}
	want := count() + n
	deadline := time.Now().Add(30 * time.Second)
	for count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d Modbus requests to %s in 30 s", n, gateway)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape returns the daemon's /metrics text.
func scrape(t *testing.T, httpAddr string) string {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func openTickets(t *testing.T, httpAddr string) []tickets.Ticket {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/api/v1/tickets?open=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ts []tickets.Ticket
	if err := json.NewDecoder(resp.Body).Decode(&ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

func waitTicket(t *testing.T, ctx context.Context, httpAddr string) tickets.Ticket {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ts := openTickets(t, httpAddr); len(ts) > 0 {
			if len(ts) != 1 {
				t.Fatalf("%d tickets opened for one fault: %+v", len(ts), ts)
			}
			return ts[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("no ticket 30 s after the fault")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
