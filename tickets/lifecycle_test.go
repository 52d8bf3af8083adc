package tickets

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// setStatus puts a ticket straight into a status, bypassing the lifecycle,
// so that every transition can be tried from every status.
func setStatus(t *testing.T, s *Store, id int64, st Status) {
	t.Helper()
	if _, err := s.db.Exec(s.dialect.rebind(`UPDATE tickets SET status = ? WHERE id = ?`), st, id); err != nil {
		t.Fatal(err)
	}
}

func TestTransitionTable(t *testing.T) { backends(t, testTransitionTable) }

func testTransitionTable(t *testing.T) {
	// Written out again rather than read from transitions, so a change to
	// the lifecycle has to change this test too.
	allowed := map[[2]Status]bool{
		{StatusOpen, StatusAcknowledged}:       true,
		{StatusOpen, StatusInProgress}:         true,
		{StatusOpen, StatusOnHold}:             true,
		{StatusOpen, StatusResolved}:           true,
		{StatusOpen, StatusCancelled}:          true,
		{StatusAcknowledged, StatusInProgress}: true,
		{StatusAcknowledged, StatusOnHold}:     true,
		{StatusAcknowledged, StatusResolved}:   true,
		{StatusAcknowledged, StatusCancelled}:  true,
		{StatusInProgress, StatusOnHold}:       true,
		{StatusInProgress, StatusResolved}:     true,
		{StatusInProgress, StatusCancelled}:    true,
		{StatusOnHold, StatusInProgress}:       true,
		{StatusOnHold, StatusCancelled}:        true,
		{StatusResolved, StatusClosed}:         true,
		{StatusResolved, StatusInProgress}:     true,
	}
	// follow_up: optional, so that resolved → closed is the table's alone;
	// TestFollowUpPolicy covers the required check.
	s, _ := openTemp(t, Config{FollowUp: FollowUpOptional}, newClock())
	ctx := context.Background()
	tk, _ := raise(t, s, alert("1"))
	for _, from := range statusOrder {
		for _, to := range statusOrder {
			setStatus(t, s, tk.ID, from)
			got, err := s.Transition(ctx, tk.ID, to, "ana", "why not")
			if want := allowed[[2]Status{from, to}]; !want {
				if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), string(from)+" → "+string(to)) {
					t.Errorf("%s → %s: err %v, want ErrTransition naming both", from, to, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s → %s: %v", from, to, err)
				continue
			}
			if got.Status != to {
				t.Errorf("%s → %s: status %s", from, to, got.Status)
			}
			_, evs, err := s.Get(ctx, tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			last := evs[len(evs)-1]
			if last.Kind != EventTransition || last.Actor != "ana" || !strings.Contains(last.Detail, "why not") {
				t.Errorf("%s → %s: last event %+v", from, to, last)
			}
		}
	}
}

func TestTransitionRefusals(t *testing.T) { backends(t, testTransitionRefusals) }

func testTransitionRefusals(t *testing.T) {
	s, _ := openTemp(t, Config{}, newClock())
	ctx := context.Background()
	tk, _ := raise(t, s, alert("1"))
	for _, tt := range []struct {
		name   string
		id     int64
		to     Status
		actor  string
		target error
		text   string
	}{
		{"unknown status", tk.ID, "done", "ana", ErrInvalid, `"done"`},
		{"no actor", tk.ID, StatusAcknowledged, " ", ErrInvalid, "actor"},
		{"no ticket", 999, StatusAcknowledged, "ana", ErrNotFound, "999"},
		{"open to closed", tk.ID, StatusClosed, "ana", ErrTransition, "open → closed"},
	} {
		_, err := s.Transition(ctx, tt.id, tt.to, tt.actor, "")
		if !errors.Is(err, tt.target) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: err %v, want %v mentioning %q", tt.name, err, tt.target, tt.text)
		}
	}
	if _, err := s.Transition(ctx, tk.ID, StatusCancelled, "ana", ""); err != nil {
		t.Fatal(err)
	}
	_, err := s.Transition(ctx, tk.ID, StatusInProgress, "ana", "")
	if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "cancelled is final") {
		t.Errorf("from cancelled: err %v, want it called final", err)
	}
}

func TestTransitionAssignsAndReopens(t *testing.T) { backends(t, testTransitionAssignsAndReopens) }

func testTransitionAssignsAndReopens(t *testing.T) {
	s, _ := openTemp(t, Config{}, newClock())
	ctx := context.Background()
	tk, _ := raise(t, s, alert("1"))
	got, err := s.Transition(ctx, tk.ID, StatusAcknowledged, "ana", "")
	if err != nil || got.Assignee != "ana" {
		t.Fatalf("acknowledge: assignee %q err %v, want ana", got.Assignee, err)
	}
	if got, _ = s.Transition(ctx, tk.ID, StatusInProgress, "ben", ""); got.Assignee != "ana" {
		t.Fatalf("in_progress by ben took the ticket from ana: assignee %q", got.Assignee)
	}
	if _, err := s.Transition(ctx, tk.ID, StatusResolved, "ana", ""); err != nil {
		t.Fatal(err)
	}
	// While resolved, the alert fires again and opens a new ticket; the old
	// one can no longer be reopened.
	newer, created := raise(t, s, alert("1"))
	if !created {
		t.Fatal("raise after resolve did not open a new ticket")
	}
	_, err = s.Transition(ctx, tk.ID, StatusInProgress, "ana", "not fixed")
	if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("reopen with ticket %d open: err %v", newer.ID, err)
	}
	if _, err := s.Transition(ctx, newer.ID, StatusCancelled, "ana", "duplicate"); err != nil {
		t.Fatal(err)
	}
	got, err = s.Transition(ctx, tk.ID, StatusInProgress, "ana", "not fixed")
	if err != nil || !got.ResolvedAt.IsZero() || !got.FollowUpBy.IsZero() {
		t.Fatalf("reopen: %+v, err %v; want resolved_at and follow_up_by cleared", got, err)
	}
}
