package app

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/tickets/handoff"
)

// TestReconcileWithoutRules: an engine without rules has no alert to
// compare with the tickets, so reconcile does not query the ticket store
// (here there is none: a query would panic).
func TestReconcileWithoutRules(t *testing.T) {
	engine, err := rules.NewEngine(&rules.Set{}, nil, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := handoff.Open(filepath.Join(t.TempDir(), TicketQueueFile))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	a := &app{log: slog.New(slog.DiscardHandler), journal: j}
	al := &alerter{a: a, engine: engine}
	now := time.Now()
	al.reconcile(t.Context(), now)
	if !al.lastReconcile.Equal(now) {
		t.Errorf("lastReconcile %v, want %v", al.lastReconcile, now)
	}
}
