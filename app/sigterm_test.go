package app_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestStopAtFiringLoop stops the daemon (what SIGTERM does: the run context
// ends) at the moment an alert fires, and again at the moment it clears, at
// a different instant each round, then restarts it. After every restart
// each fault has exactly one ticket, and after the last every resolution is
// recorded on its ticket: a transition accepted before a stop is never lost
// nor applied twice.
func TestStopAtFiringLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	broker := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(dir, "facilityd.yaml")
	const rounds = 6
	text := fmt.Sprintf(`site: stop-site
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http: {listen: %q}
mqtt: {broker: %q}
profiles:
  room:
    type: room_sensor
    points: [{name: temperature, path: t}]
devices:
`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr, broker.URL)
	for i := range rounds {
		text += fmt.Sprintf("  - {id: room-%d, profile: room, mqtt: {topic: rooms/room-%d}}\n", i, i)
	}
	text += `rules:
  - {name: room_hot, match: {type: room_sensor}, expr: temperature > 30, ticket: {priority: P3, category: hvac}}
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := t.Context()

	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL).SetClientID("stop-test"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	// Retained, as a device's last state is: a restarted daemon reads it again.
	publish := func(dev int, temp float64) {
		tok := c.Publish(fmt.Sprintf("rooms/room-%d", dev), 1, true, fmt.Sprintf(`{"t": %v}`, temp))
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	for i := range rounds {
		publish(i, 21)
	}
	all := func() map[string]tickets.Ticket {
		resp, err := http.Get("http://" + httpAddr + "/api/v1/tickets")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ts []tickets.Ticket
		if err := json.NewDecoder(resp.Body).Decode(&ts); err != nil {
			t.Fatal(err)
		}
		out := map[string]tickets.Ticket{}
		for _, tk := range ts {
			if _, dup := out[tk.Device]; dup {
				t.Fatalf("two tickets for the fault of %s: %+v", tk.Device, ts)
			}
			out[tk.Device] = tk
		}
		return out
	}
	// settle waits until every fault up to round has its ticket and every
	// resolution up to resolved is recorded.
	settle := func(fired, resolved int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ts := all()
			ok := len(ts) == fired
			for i := range fired {
				tk, has := ts[fmt.Sprintf("room-%d", i)]
				if !has || (i < resolved) != !tk.AlertResolvedAt.IsZero() {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after a restart, %d faults and %d resolutions: tickets %+v", fired, resolved, ts)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// firing reports whether the alert of room-i fires, as the API shows it.
	firing := func(i int) bool {
		resp, err := http.Get("http://" + httpAddr + "/api/v1/alerts")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var as []struct{ Device, State string }
		json.NewDecoder(resp.Body).Decode(&as)
		for _, a := range as {
			if a.Device == fmt.Sprintf("room-%d", i) && a.State == "firing" {
				return true
			}
		}
		return false
	}
	// moment waits: in odd rounds until the alert is seen in state want
	// (the stop then lands right after the transition, while its ticket
	// change is on its way), in even rounds 0, 30 or 60 ms after the message.
	moment := func(i int, want bool) {
		if i%2 == 0 {
			time.Sleep(time.Duration(i) * 15 * time.Millisecond)
			return
		}
		deadline := time.Now().Add(10 * time.Second)
		for firing(i) != want {
			if time.Now().After(deadline) {
				t.Fatalf("room-%d: alert firing never became %v", i, want)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	stop := startDaemon(t, ctx, cfg, logger, httpAddr)
	for i := range rounds {
		publish(i, 35)
		moment(i, true)
		stop()
		stop = startDaemon(t, ctx, cfg, logger, httpAddr)
		settle(i+1, i)

		publish(i, 21)
		moment(i, false)
		stop()
		stop = startDaemon(t, ctx, cfg, logger, httpAddr)
		settle(i+1, i+1)
	}
	stop()
}
