package tickets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustTicket(t *testing.T) func(Ticket, error) Ticket {
	t.Helper()
	return func(tk Ticket, err error) Ticket {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
}

func lastEvent(t *testing.T, s *Store, id int64) Event {
	t.Helper()
	_, evs, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs[len(evs)-1]
}

func TestFollowUpPolicy(t *testing.T) { backends(t, testFollowUpPolicy) }

func testFollowUpPolicy(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{}, c) // follow_up: required by default
	must := mustTicket(t)
	tk, _ := raise(t, s, alert("1"))
	if _, err := s.FollowUp(ctx, tk.ID, "ben", FollowUpOK, ""); !errors.Is(err, ErrTransition) {
		t.Fatalf("follow-up of an open ticket: err %v, want ErrTransition", err)
	}
	must(s.Transition(ctx, tk.ID, StatusResolved, "ana", "replaced the seal"))
	_, err := s.Transition(ctx, tk.ID, StatusClosed, "ana", "")
	if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "follow-up") {
		t.Fatalf("close without follow-up: err %v, want ErrTransition asking for the follow-up", err)
	}
	if _, err := s.FollowUp(ctx, tk.ID, "ben", "maybe", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("follow-up result maybe: err %v, want ErrInvalid", err)
	}

	// A failed check puts the ticket back to work and clears the follow-up.
	c.Advance(time.Hour)
	got := must(s.FollowUp(ctx, tk.ID, "ben", FollowUpFailed, "still leaking"))
	if got.Status != StatusInProgress || !got.FollowUpBy.IsZero() || !got.ResolvedAt.IsZero() || got.FollowUpResult != "" {
		t.Fatalf("after a failed follow-up: %+v", got)
	}
	if !got.ResolveBy.Equal(c.Now().Add(8 * time.Hour)) {
		t.Errorf("resolve_by %s, want a fresh P2 deadline from now", got.ResolveBy)
	}
	_, evs, _ := s.Get(ctx, tk.ID)
	if n := len(evs); evs[n-2].Kind != EventFollowUp || evs[n-2].Actor != "ben" || !strings.Contains(evs[n-2].Detail, "still leaking") ||
		evs[n-1].Kind != EventTransition || !strings.Contains(evs[n-1].Detail, "resolved → in_progress") {
		t.Fatalf("history ends %+v %+v", evs[n-2], evs[n-1])
	}

	must(s.Transition(ctx, tk.ID, StatusResolved, "ana", ""))
	c.Advance(24 * time.Hour)
	got = must(s.FollowUp(ctx, tk.ID, "ben", FollowUpOK, "dry"))
	if got.Status != StatusResolved || got.FollowUpResult != FollowUpOK || !got.FollowUpAt.Equal(c.Now()) {
		t.Fatalf("after a good follow-up: %+v", got)
	}
	got = must(s.Transition(ctx, tk.ID, StatusClosed, "ana", ""))
	if got.Status != StatusClosed || !got.ClosedAt.Equal(c.Now()) {
		t.Fatalf("closed: %+v", got)
	}

	opt, _ := openTemp(t, Config{FollowUp: FollowUpOptional}, c)
	tk, _ = raise(t, opt, alert("2"))
	must(opt.Transition(ctx, tk.ID, StatusResolved, "ana", ""))
	must(opt.Transition(ctx, tk.ID, StatusClosed, "ana", "")) // optional: no check needed
}

func TestReopenAfterClose(t *testing.T) { backends(t, testReopenAfterClose) }

func testReopenAfterClose(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{ReopenWithin: 2 * time.Hour, FollowUp: FollowUpOptional}, c)
	must := mustTicket(t)
	tk, _ := raise(t, s, alert("1"))
	must(s.Transition(ctx, tk.ID, StatusAcknowledged, "ana", ""))
	must(s.Transition(ctx, tk.ID, StatusResolved, "ana", ""))
	c.Advance(3 * time.Hour) // long after the resolution: only closing counts
	must(s.Transition(ctx, tk.ID, StatusClosed, "ana", ""))
	c.Advance(time.Hour)
	a := alert("1")
	a.At = c.Now()
	rs, err := s.RaiseBatch(ctx, []Alert{a})
	if err != nil {
		t.Fatal(err)
	}
	got := rs[0].Ticket
	if rs[0].Created || !rs[0].Reopened || got.ID != tk.ID || got.Status != StatusInProgress || !got.ClosedAt.IsZero() ||
		got.Occurrences != 2 || got.Assignee != "ana" || !got.ResolveBy.Equal(c.Now().Add(8*time.Hour)) {
		t.Fatalf("fault back 1h after closing: %+v, want ticket %d reopened", rs[0], tk.ID)
	}
	if e := lastEvent(t, s, tk.ID); e.Kind != EventReopened || !strings.Contains(e.Detail, "closed → in_progress") {
		t.Fatalf("last event %+v", e)
	}
	must(s.Transition(ctx, tk.ID, StatusResolved, "ana", ""))
	must(s.Transition(ctx, tk.ID, StatusClosed, "ana", ""))
	c.Advance(2*time.Hour + time.Second)
	a.At = c.Now()
	if got, created := raise(t, s, a); !created || got.ID == tk.ID {
		t.Fatalf("fault back after the cool-down: created=%v id=%d, want a new ticket", created, got.ID)
	}
}

func TestOnAlertResolvedPolicy(t *testing.T) { backends(t, testOnAlertResolvedPolicy) }

func testOnAlertResolvedPolicy(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []string{"", OnResolvedRecord, OnResolvedResolve} {
		t.Run("policy="+policy, func(t *testing.T) {
			c := newClock()
			s, _ := openTemp(t, Config{OnAlertResolved: policy}, c)
			tk, _ := raise(t, s, alert("1"))
			hold, _ := raise(t, s, alert("2"))
			mustTicket(t)(s.Transition(ctx, hold.ID, StatusOnHold, "ana", "waiting for parts"))
			c.Advance(time.Minute)
			for _, k := range []string{"1", "2"} {
				if err := s.AlertResolved(ctx, k, c.Now()); err != nil {
					t.Fatal(err)
				}
			}
			got, _, _ := s.Get(ctx, tk.ID)
			want := StatusOpen
			if policy == OnResolvedResolve {
				want = StatusResolved
			}
			if got.Status != want || !got.AlertResolvedAt.Equal(c.Now()) {
				t.Fatalf("ticket %+v, want %s with alert_resolved_at", got, want)
			}
			if want == StatusResolved && (!got.FollowUpBy.Equal(c.Now().Add(48*time.Hour)) || !got.RespondedAt.IsZero()) {
				t.Errorf("auto-resolved: follow_up_by %s responded_at %s", got.FollowUpBy, got.RespondedAt)
			}
			// On hold cannot resolve: the clearing is only recorded.
			if got, _, _ := s.Get(ctx, hold.ID); got.Status != StatusOnHold || got.AlertResolvedAt.IsZero() {
				t.Errorf("on-hold ticket %+v", got)
			}
		})
	}
}

func TestAssignCommentCreate(t *testing.T) { backends(t, testAssignCommentCreate) }

func testAssignCommentCreate(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	must := mustTicket(t)
	m := Manual{Title: "Leaking tap, flat 12B kitchen", Location: "Block B, 12B", Category: "plumbing", Priority: "P3"}
	tk, created, err := s.Create(ctx, "front-desk", m)
	if err != nil || !created || tk.Source != SourceManual || tk.Status != StatusOpen || !strings.HasPrefix(tk.Key, "manual:") {
		t.Fatalf("Create: %+v created=%v err=%v", tk, created, err)
	}
	if e := lastEvent(t, s, tk.ID); e.Kind != EventCreated || e.Actor != "front-desk" || strings.Contains(e.Detail, "alert") {
		t.Errorf("created event %+v", e)
	}
	other, created, _ := s.Create(ctx, "front-desk", m)
	if !created || other.ID == tk.ID {
		t.Fatalf("a second report without key: created=%v id=%d, want another ticket", created, other.ID)
	}
	m.Key = "call-4711"
	first, _, _ := s.Create(ctx, "front-desk", m)
	again, created, _ := s.Create(ctx, "front-desk", m)
	if created || again.ID != first.ID || again.Occurrences != 2 {
		t.Fatalf("retry with key: created=%v id=%d (want %d) occurrences=%d", created, again.ID, first.ID, again.Occurrences)
	}
	for name, bad := range map[string]Manual{
		"no title":    {Priority: "P3"},
		"priority P0": {Title: "x", Priority: "P0"},
		"huge title":  {Title: strings.Repeat("x", 501), Priority: "P3"},
	} {
		if _, _, err := s.Create(ctx, "front-desk", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if _, _, err := s.Create(ctx, "", m); !errors.Is(err, ErrInvalid) {
		t.Errorf("no actor: err %v, want ErrInvalid", err)
	}

	got := must(s.Assign(ctx, tk.ID, "carl", "dispatcher", "nearest plumber"))
	if got.Assignee != "carl" {
		t.Fatalf("assignee %q", got.Assignee)
	}
	if e := lastEvent(t, s, tk.ID); e.Kind != EventAssigned || e.Actor != "dispatcher" || e.Detail != "assigned to carl: nearest plumber" {
		t.Errorf("assign event %+v", e)
	}
	if got := must(s.Assign(ctx, tk.ID, "", "dispatcher", "")); got.Assignee != "" || lastEvent(t, s, tk.ID).Detail != "unassigned from carl" {
		t.Errorf("unassign: %+v", got)
	}
	c.Advance(time.Minute)
	got = must(s.Comment(ctx, tk.ID, "carl", "tenant not home, back at 3pm"))
	if e := lastEvent(t, s, tk.ID); e.Kind != EventComment || e.Actor != "carl" || !e.At.Equal(c.Now()) || !got.UpdatedAt.Equal(c.Now()) {
		t.Errorf("comment event %+v, ticket updated %s", e, got.UpdatedAt)
	}
	if _, err := s.Comment(ctx, tk.ID, "carl", "  "); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty comment: err %v", err)
	}
	if _, err := s.Comment(ctx, 999, "carl", "hi"); !errors.Is(err, ErrNotFound) {
		t.Errorf("comment on 999: err %v", err)
	}
	must(s.Transition(ctx, tk.ID, StatusCancelled, "dispatcher", "duplicate"))
	if _, err := s.Assign(ctx, tk.ID, "carl", "dispatcher", ""); !errors.Is(err, ErrTransition) {
		t.Errorf("assign a cancelled ticket: err %v, want ErrTransition", err)
	}
	must(s.Comment(ctx, tk.ID, "carl", "comments stay possible")) // history is never closed
}

func TestApplyBatch(t *testing.T) { backends(t, testApplyBatch) }

func testApplyBatch(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	at := func(m int) time.Time { return c.Now().Add(time.Duration(m) * time.Minute) }
	fire := func(k string, m int) Change { a := alert(k); a.At = at(m); return Change{Alert: a} }
	clear := func(k string, m int) Change { return Change{Alert: Alert{Key: k, At: at(m)}, Resolved: true} }
	bad := fire("3", 0)
	bad.Alert.Priority = "P7"
	rs, err := s.Apply(ctx, []Change{fire("1", 0), fire("2", 1), fire("1", 2), bad, clear("1", 3), fire("1", 4), clear("2", 5)})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "P7") {
		t.Fatalf("err %v, want the bad change reported", err)
	}
	if len(rs) != 7 || !rs[0].Created || !rs[1].Created || rs[2].Created || rs[5].Created || rs[3].Ticket.ID != 0 {
		t.Fatalf("results %+v", rs)
	}
	one, _, _ := s.Get(ctx, rs[0].Ticket.ID)
	if one.Occurrences != 3 || !one.FirstSeen.Equal(at(0)) || !one.LastSeen.Equal(at(4)) || !one.AlertResolvedAt.IsZero() {
		t.Errorf("key 1: %+v, want 3 occurrences, firing again after its clearing", one)
	}
	two, _, _ := s.Get(ctx, rs[1].Ticket.ID)
	if two.Occurrences != 1 || !two.AlertResolvedAt.Equal(at(5)) {
		t.Errorf("key 2: %+v", two)
	}
	if ts := list(t, s, Filter{}); len(ts) != 2 {
		t.Errorf("%d tickets, want 2 (the bad change opens none)", len(ts))
	}
	if _, err := s.Apply(ctx, []Change{bad}); !errors.Is(err, ErrInvalid) {
		t.Errorf("only bad changes: err %v", err)
	}
}
