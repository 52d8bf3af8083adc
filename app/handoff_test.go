package app

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/facilityd/facilityd/tickets"
)

// An alert that fires and clears while another process holds the write
// lock of tickets.db for 30 s (past SQLite's busy timeout) gets exactly one
// ticket, with its resolution, once the lock is released; the failed
// attempts are counted.
func TestTicketQueueWaitsOutLockedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a lock for 30 s")
	}
	a, stop := ticketApp(t)
	defer stop()
	db, err := sql.Open("sqlite", a.tickets.Path()+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE meta SET value = value WHERE key = 'instance'`); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	a.queueTickets(context.Background(), []tickets.Change{{Alert: tickets.Alert{Key: "pump-1/low", Title: "pump-1: low pressure",
		Priority: "P2", Source: tickets.SourceRule, At: at}}})
	a.queueTickets(context.Background(), []tickets.Change{{Alert: tickets.Alert{Key: "pump-1/low", At: at.Add(5 * time.Second)}, Resolved: true}})
	time.Sleep(30 * time.Second)
	if n := testutil.ToFloat64(a.queueMetrics.applyFailures); n < 1 {
		t.Fatalf("apply failures %v while the database was locked, want ≥ 1", n)
	}
	if ts, err := a.tickets.List(context.Background(), tickets.Filter{}); err != nil || len(ts) != 0 {
		t.Fatalf("tickets while locked: %d %v", len(ts), err)
	}
	if a.journal.Len() != 2 {
		t.Fatalf("queue holds %d changes while locked, want 2", a.journal.Len())
	}
	tx.Rollback()
	deadline := time.Now().Add(45 * time.Second)
	for a.journal.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ts, err := a.tickets.List(context.Background(), tickets.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Occurrences != 1 || ts[0].AlertResolvedAt.IsZero() {
		t.Fatalf("after the lock: %+v, want one ticket, one occurrence, alert resolved", ts)
	}
	if !ts[0].AlertResolvedAt.Equal(at.Add(5 * time.Second)) {
		t.Fatalf("alert resolved at %v, want %v", ts[0].AlertResolvedAt, at.Add(5*time.Second))
	}
}
