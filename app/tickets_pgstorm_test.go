package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/handoff"
)

// TestTicketQueueThroughPostgresOutages: the ticket queue of a daemon whose
// PostgreSQL is stopped when it starts (the store opens in the background),
// and stopped again in the middle of an alert storm. The transitions wait
// in the journal; afterwards every fault has one ticket and every firing is
// counted once. FACILITYD_PG_OUTAGE sets the second outage (default 2 s;
// 1m is the minute).
func TestTicketQueueThroughPostgresOutages(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	outage := 2 * time.Second
	if v := os.Getenv("FACILITYD_PG_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FACILITYD_PG_OUTAGE=%q: %v", v, err)
		}
		outage = d
	}
	pg := testenv.StartPostgres(t)
	url := pg.NewDatabase(t)
	pg.Stop()
	ctx := context.Background()
	st, err := tickets.OpenWaiting(ctx, url, tickets.Config{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open with PostgreSQL stopped: %v", err)
	}
	defer st.Close()
	j, _, err := handoff.Open(filepath.Join(t.TempDir(), TicketQueueFile))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	a := &app{log: slog.New(slog.DiscardHandler), now: time.Now, tickets: st, journal: j}
	a.queueMetrics = newTicketQueueMetrics(a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { a.runTicketQueue(stop) })
	defer func() { close(stop); wg.Wait() }()

	const keys, fires = 20, 10
	fire := func(round int) {
		for k := range keys {
			key := fmt.Sprintf("site-a/pump-%d/low", k)
			a.queueTickets(ctx, []tickets.Change{{Alert: tickets.Alert{Key: key, Title: key, Priority: "P2",
				Source: tickets.SourceRule, At: time.Unix(int64(1_000_000+round), 0)}}})
		}
	}
	for round := range fires / 2 { // while PostgreSQL has not been reached
		fire(round)
	}
	if h, ok := a.ticketStoreHealth(); ok || h["state"] != "connecting" || h["queue_pending"] != keys*fires/2 {
		t.Fatalf("health before the database is reached: %v", h)
	}
	pg.Start(t)
	select {
	case <-st.Ready():
	case <-time.After(45 * time.Second):
		t.Fatalf("store not open 45 s after PostgreSQL started: %+v", st.State())
	}
	waitEmpty(t, j, 30*time.Second)

	// The storm's second half, with PostgreSQL stopped under it.
	storm := make(chan struct{})
	wg.Go(func() {
		defer close(storm)
		for round := fires / 2; round < fires; round++ {
			fire(round)
			time.Sleep(outage / fires)
		}
	})
	pg.Stop()
	time.Sleep(outage)
	<-storm
	pg.Start(t)
	waitEmpty(t, j, 45*time.Second)
	if n := testutil.ToFloat64(a.queueMetrics.applyFailures); n < 1 {
		t.Errorf("apply failures %v: the second outage missed the queue", n)
	}
	ts, err := st.List(ctx, tickets.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != keys {
		t.Fatalf("%d tickets, want %d", len(ts), keys)
	}
	for _, tk := range ts {
		if tk.Occurrences != fires {
			t.Errorf("ticket %s: %d occurrences, want %d", tk.Key, tk.Occurrences, fires)
		}
	}
}

func waitEmpty(t *testing.T, j *handoff.Journal, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for j.Len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d transitions still queued after %v", j.Len(), within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
