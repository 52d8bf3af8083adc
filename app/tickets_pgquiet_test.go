package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
)

// lockedBuffer is a log destination that tests read while the daemon writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// TestPostgresDownAtStartLogsOnce: while the ticket database is not reached
// yet, the components that read it (the reconcile of alerts, the console's
// watcher) wait without a line each at every attempt: the store says once
// that it is unreachable and once that it is reached.
func TestPostgresDownAtStartLogsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	pg := testenv.StartPostgres(t)
	url := pg.NewDatabase(t)
	pg.Stop()
	influx := testenv.StartInfluxd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	defer func() {
		if t.Failed() {
			t.Log(logs.b.String())
		}
	}()
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
	// A console connected: its watcher reads the open tickets every step.
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+httpAddr+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	// Long enough for the watcher's steps and reconcile's first attempts.
	time.Sleep(12 * time.Second)
	if n := len(logs.lines("unreachable")); n != 1 {
		t.Errorf("%d lines saying the database is unreachable, want 1", n)
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
	waitTicket(t, ctx, httpAddr)
	if got := logs.lines("not reached yet"); len(got) > 0 {
		t.Errorf("%d lines of components waiting for the ticket database, want none (the store says it):\n%s",
			len(got), strings.Join(got, "\n"))
	}
	if n := len(logs.lines("ticket database reached")); n != 1 {
		t.Errorf("%d lines saying the database is reached, want 1", n)
	}
}
