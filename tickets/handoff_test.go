package tickets

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A rule's ticket cannot be resolved, closed or cancelled while its alert
// fires, unless forced with a comment; once the alert cleared it can.
func TestAlertFiringRefusesClose(t *testing.T) { backends(t, testAlertFiringRefusesClose) }

func testAlertFiringRefusesClose(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{FollowUp: FollowUpOptional}, newClock())
	a := alert("k1")
	a.Source = SourceRule
	tk, _ := raise(t, s, a)
	for _, to := range []Status{StatusResolved, StatusClosed, StatusCancelled} {
		_, err := s.Transition(ctx, tk.ID, to, "ops", "done")
		if !errors.Is(err, ErrAlertFiring) || !strings.Contains(err.Error(), "force") {
			t.Fatalf("%s while firing: err %v, want ErrAlertFiring naming force", to, err)
		}
	}
	if _, err := s.Move(ctx, tk.ID, Move{To: StatusResolved, Actor: "ops", Force: true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("force without comment: err %v, want ErrInvalid", err)
	}
	// Moves that keep the ticket open are fine.
	if _, err := s.Transition(ctx, tk.ID, StatusAcknowledged, "ops", ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Move(ctx, tk.ID, Move{To: StatusResolved, Actor: "ops", Comment: "sensor replaced, alarm is stale", Force: true})
	if err != nil || got.Status != StatusResolved {
		t.Fatalf("forced resolve: %v %v", got.Status, err)
	}
	_, evs, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; !strings.Contains(last.Detail, "forced while the alert still fires: sensor replaced") {
		t.Fatalf("last event %q does not record the forced move", last.Detail)
	}

	// Another ticket: once its alert cleared, resolving needs no force.
	b := alert("k2")
	b.Source = SourceRule
	tk2, _ := raise(t, s, b)
	if err := s.AlertResolved(ctx, "k2", s.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, tk2.ID, StatusResolved, "ops", "fixed"); err != nil {
		t.Fatalf("resolve after the alert cleared: %v", err)
	}
}

// A firing alert without an open ticket (closed by force) gets a new
// ticket naming the closed one, even within reopen_within.
func TestStillFiringOpensNewTicket(t *testing.T) { backends(t, testStillFiringOpensNewTicket) }

func testStillFiringOpensNewTicket(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{ReopenWithin: 24 * 3600e9, FollowUp: FollowUpOptional}, newClock())
	a := alert("k1")
	a.Source = SourceRule
	tk, _ := raise(t, s, a)
	if _, err := s.Move(ctx, tk.ID, Move{To: StatusCancelled, Actor: "ops", Comment: "duplicate of work order 7", Force: true}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Apply(ctx, []Change{{Alert: a, StillFiring: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Created || rs[0].Ticket.ID == tk.ID {
		t.Fatalf("still firing: %+v, want a new ticket", rs[0])
	}
	_, evs, err := s.Get(ctx, rs[0].Ticket.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "still fires after ticket 1 was cancelled"; !strings.Contains(evs[0].Detail, want) {
		t.Fatalf("created event %q, want %q", evs[0].Detail, want)
	}
}

// A change with an ID is applied once, also when retried after a restart.
func TestChangeIDAppliedOnce(t *testing.T) { backends(t, testChangeIDAppliedOnce) }

func testChangeIDAppliedOnce(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, path := openTemp(t, Config{}, c)
	a := alert("k1")
	ch := []Change{{ID: "c1", Alert: a}, {ID: "c2", Alert: a}}
	if _, err := s.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path, Config{}, c)
	rs, err := s.Apply(ctx, append(ch, Change{ID: "c3", Alert: a}, Change{ID: "r1", Alert: Alert{Key: "k1"}, Resolved: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Duplicate || !rs[1].Duplicate || rs[2].Duplicate || rs[3].Duplicate {
		t.Fatalf("duplicates %v %v %v %v, want true true false false", rs[0].Duplicate, rs[1].Duplicate, rs[2].Duplicate, rs[3].Duplicate)
	}
	if rs[2].Ticket.Occurrences != 3 {
		t.Fatalf("occurrences %d, want 3 (c1, c2, c3 once each)", rs[2].Ticket.Occurrences)
	}
	rs, err = s.Apply(ctx, []Change{{ID: "r1", Alert: Alert{Key: "k1"}, Resolved: true}})
	if err != nil || !rs[0].Duplicate {
		t.Fatalf("resolution again: %+v %v, want a duplicate", rs[0], err)
	}
	tk := list(t, s, Filter{})[0]
	_, evs, _ := s.Get(ctx, tk.ID)
	n := 0
	for _, e := range evs {
		if e.Kind == EventAlertResolved {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d alert_resolved events, want 1", n)
	}
}
