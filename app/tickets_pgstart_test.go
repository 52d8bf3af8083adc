package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestPostgresDownAtStart starts the daemon while its PostgreSQL ticket
// database is stopped: it must start, poll and alert, say on /healthz and
// /metrics that the ticket store is not reached, keep the fault's
// transition in the ticket queue, and once PostgreSQL is started open the
// store by itself and record the fault's one ticket, once.
func TestPostgresDownAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	pg := testenv.StartPostgres(t)
	url := pg.NewDatabase(t)
	pg.Stop()
	influx := testenv.StartInfluxd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, httpAddr := building(t, influx)
	f, err := os.OpenFile(cfg.Path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "tickets: {database: %q}\n", url)
	f.Close()
	if cfg, err = config.Load(cfg.Path); err != nil {
		t.Fatal(err)
	}
	startSim(t, ctx, cfg, logger, "pump-1:low_pressure@1s", sim.Config{Seed: 3})
	stop := startDaemon(t, ctx, cfg, logger, httpAddr)
	defer stop()

	// The fault fires; its transition waits in the queue.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var h struct {
			Status  string `json:"status"`
			Tickets struct {
				State   string `json:"state"`
				Open    bool   `json:"open"`
				Pending int    `json:"queue_pending"`
				Error   string `json:"error"`
			} `json:"tickets"`
		}
		getJSON(t, "http://"+httpAddr+"/healthz", &h)
		if h.Tickets.Open || h.Tickets.State != "connecting" || h.Status != "degraded" || h.Tickets.Error == "" {
			t.Fatalf("healthz with PostgreSQL stopped: %+v", h)
		}
		if h.Tickets.Pending > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no alert transition queued 30 s after the fault")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if m := get(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, "facilityd_tickets_store_open 0") {
		t.Errorf("/metrics with PostgreSQL stopped lacks facilityd_tickets_store_open 0:\n%.2000s", m)
	}
	var devs []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	getJSON(t, "http://"+httpAddr+"/api/v1/devices", &devs)
	for _, d := range devs {
		if d.State != "online" {
			t.Errorf("device %s with PostgreSQL stopped: %q", d.ID, d.State)
		}
	}

	pg.Start(t)
	for deadline := time.Now().Add(45 * time.Second); ; {
		var h struct {
			Tickets struct {
				Open bool `json:"open"`
			} `json:"tickets"`
		}
		getJSON(t, "http://"+httpAddr+"/healthz", &h)
		if h.Tickets.Open {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ticket store not open 45 s after PostgreSQL started")
		}
		time.Sleep(200 * time.Millisecond)
	}
	tk := waitTicket(t, ctx, httpAddr)
	if tk.Device != "pump-1" || tk.Occurrences != 1 {
		t.Errorf("ticket after PostgreSQL started: device %q, %d occurrences", tk.Device, tk.Occurrences)
	}
	if m := get(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, "facilityd_tickets_store_open 1") {
		t.Error("/metrics once open lacks facilityd_tickets_store_open 1")
	}
	st, err := tickets.Open(ctx, url, tickets.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	time.Sleep(time.Second) // a duplicate would have had time to land
	ts, err := st.List(ctx, tickets.Filter{Site: tickets.AllSites})
	if err != nil || len(ts) != 1 {
		t.Fatalf("tickets in PostgreSQL: %d (%v), want 1", len(ts), err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
