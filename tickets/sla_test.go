package tickets

import (
	"context"
	"strings"
	"testing"
	"time"
)

func breaches(t *testing.T, s *Store, now time.Time) []Breach {
	t.Helper()
	bs, err := s.CheckSLA(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestCheckSLA(t *testing.T) { backends(t, testCheckSLA) }

func testCheckSLA(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	start := c.Now()
	cfg := Config{
		SLA:        map[string]SLA{"P3": {RespondWithin: 10 * time.Minute, ResolveWithin: time.Hour, FollowUpWithin: 2 * time.Hour}},
		Escalation: Escalation{Priority: EscalateRaise, Notify: []string{"duty"}},
		Receivers: []Receiver{
			{Name: "duty", Events: []string{"created"}, Webhook: &WebhookConfig{URL: "http://127.0.0.1:1/"}},
			{Name: "cmms", Priorities: []string{"P1"}, Webhook: &WebhookConfig{URL: "http://127.0.0.1:1/"}},
		},
	}
	s, _ := openTemp(t, cfg, c)
	must := mustTicket(t)
	a := alert("late")
	a.Priority = "P3"
	late, _ := raise(t, s, a)
	a = alert("quick")
	a.Priority = "P3"
	quick, _ := raise(t, s, a)
	c.Advance(5 * time.Minute)
	must(s.Transition(ctx, quick.ID, StatusAcknowledged, "ana", "")) // responds in time

	if bs := breaches(t, s, start.Add(10*time.Minute)); len(bs) != 0 {
		t.Fatalf("at the deadline itself: %+v, want none", bs)
	}
	bs := breaches(t, s, start.Add(11*time.Minute))
	if len(bs) != 1 || bs[0].TicketID != late.ID || bs[0].Kind != BreachRespond || bs[0].Priority != "P2" ||
		!bs[0].Deadline.Equal(late.RespondBy) {
		t.Fatalf("after respond-by: %+v, want ticket %d's respond breach, raised to P2", bs, late.ID)
	}
	if bs := breaches(t, s, start.Add(12*time.Minute)); len(bs) != 0 {
		t.Fatalf("second check: %+v, want nothing new: a breach is recorded once", bs)
	}
	got, evs, _ := s.Get(ctx, late.ID)
	e := evs[len(evs)-1]
	if got.Priority != "P2" || e.Kind != EventSLABreach || e.Actor != systemActor ||
		!strings.Contains(e.Detail, "respond-by") || !strings.Contains(e.Detail, "P3 → P2") {
		t.Fatalf("ticket %s, last event %+v", got.Priority, e)
	}
	// The escalation receiver gets the breach although its filter takes
	// only created; cmms (P1 only) gets nothing yet.
	if n := outboxRows(t, s, "duty", EventSLABreach); n != 1 {
		t.Errorf("duty has %d breach notifications, want 1", n)
	}
	if n := outboxRows(t, s, "cmms", ""); n != 0 {
		t.Errorf("cmms has %d notifications, want 0", n)
	}

	// Resolve-by: both miss it; the late one reaches P1, the quick one P2.
	bs = breaches(t, s, start.Add(61*time.Minute))
	if len(bs) != 2 || bs[0].Kind != BreachResolve || bs[1].Kind != BreachResolve {
		t.Fatalf("after resolve-by: %+v", bs)
	}
	if got, _, _ := s.Get(ctx, late.ID); got.Priority != "P1" {
		t.Errorf("late ticket at %s, want P1", got.Priority)
	}
	if n := outboxRows(t, s, "cmms", EventSLABreach); n != 1 {
		t.Errorf("cmms has %d breach notifications now that a ticket is P1, want 1", n)
	}

	// Follow-up-by runs from the resolution; P2's default is 48h, P1's 24h.
	c.Set(start.Add(2 * time.Hour))
	must(s.Transition(ctx, quick.ID, StatusResolved, "ana", ""))
	must(s.Transition(ctx, late.ID, StatusResolved, "ana", ""))
	must(s.FollowUp(ctx, late.ID, "ben", FollowUpOK, ""))
	bs = breaches(t, s, c.Now().Add(48*time.Hour+time.Second))
	if len(bs) != 1 || bs[0].TicketID != quick.ID || bs[0].Kind != BreachFollowUp {
		t.Fatalf("after follow-up-by: %+v, want only the ticket without a check", bs)
	}

	// A reopened ticket has a new resolve-by, which can be missed again.
	c.Set(start.Add(60 * time.Hour))
	must(s.FollowUp(ctx, quick.ID, "ben", FollowUpFailed, ""))
	bs = breaches(t, s, c.Now().Add(4*time.Hour+time.Second)) // P1 now: 4h
	if len(bs) != 1 || bs[0].TicketID != quick.ID || bs[0].Kind != BreachResolve || bs[0].Priority != "P1" {
		t.Fatalf("after the reopened ticket's resolve-by: %+v", bs)
	}
}

func TestCheckSLAKeepPriority(t *testing.T) { backends(t, testCheckSLAKeepPriority) }

func testCheckSLAKeepPriority(t *testing.T) {
	c := newClock()
	s, _ := openTemp(t, Config{}, c) // escalation.priority: keep
	tk, _ := raise(t, s, alert("1"))
	bs := breaches(t, s, tk.ResolveBy.Add(time.Second))
	if len(bs) != 2 || bs[0].Kind != BreachRespond || bs[1].Kind != BreachResolve || bs[1].Priority != "P2" {
		t.Fatalf("breaches %+v, want respond then resolve, priority kept", bs)
	}
}

func outboxRows(t *testing.T, s *Store, receiver string, kind EventKind) int {
	t.Helper()
	var n int
	err := s.db.QueryRow(s.dialect.rebind(`SELECT COUNT(*) FROM outbox o JOIN events e ON e.id = o.event_id
		WHERE o.receiver = ? AND (? = '' OR e.kind = ?)`), receiver, kind, kind).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStats(t *testing.T) { backends(t, testStats) }

func testStats(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	start := c.Now()
	s, _ := openTemp(t, Config{FollowUp: FollowUpOptional}, c)
	must := mustTicket(t)
	open := func(key, cat string) Ticket {
		a := alert(key)
		a.Category = cat
		tk, _ := raise(t, s, a)
		return tk
	}
	p1 := open("p1", "plumbing")
	p2 := open("p2", "plumbing")
	l1 := open("l1", "lifts")
	x := open("x", "lifts")
	c.Advance(10 * time.Minute)
	must(s.Transition(ctx, p1.ID, StatusAcknowledged, "ana", ""))
	c.Advance(20 * time.Minute)
	must(s.Transition(ctx, p2.ID, StatusInProgress, "ana", ""))  // responded at 30m
	must(s.Transition(ctx, l1.ID, StatusResolved, "ben", ""))    // responded and resolved at 30m
	must(s.Transition(ctx, x.ID, StatusCancelled, "ben", "dup")) // does not count
	c.Advance(90 * time.Minute)
	must(s.Transition(ctx, p1.ID, StatusResolved, "ana", "")) // resolved at 2h
	breaches(t, s, start.Add(100*time.Hour))                  // p2 misses resolve-by (8h)

	st, err := s.Stats(ctx, start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]CategoryStats{}
	for _, c := range st {
		by[c.Category] = c
	}
	if len(st) != 3 || st[0].Category != "lifts" || st[1].Category != "plumbing" || st[2].Category != "*" {
		t.Fatalf("categories %+v, want lifts, plumbing, *", st)
	}
	pl := by["plumbing"]
	if pl.Tickets != 2 || pl.Responded != 2 || pl.MTTA != 20*time.Minute || pl.Resolved != 1 || pl.MTTR != 2*time.Hour ||
		pl.Breaches[BreachResolve] != 1 || pl.Breaches[BreachRespond] != 0 {
		t.Errorf("plumbing %+v", pl)
	}
	if li := by["lifts"]; li.Tickets != 1 || li.MTTA != 30*time.Minute || li.MTTR != 30*time.Minute {
		t.Errorf("lifts %+v", li)
	}
	if all := by["*"]; all.Tickets != 3 || all.Responded != 3 || all.MTTA != (10+30+30)*time.Minute/3 || all.Resolved != 2 {
		t.Errorf("all %+v", all)
	}
	if st, _ := s.Stats(ctx, start.Add(time.Hour), start.Add(2*time.Hour)); len(st) != 1 || st[0].Tickets != 0 {
		t.Errorf("empty period: %+v", st)
	}
}
