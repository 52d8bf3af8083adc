package tickets

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOnHoldPausesResolveClock(t *testing.T) { backends(t, testOnHoldPausesResolveClock) }

func testOnHoldPausesResolveClock(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	start := c.Now()
	s, _ := openTemp(t, Config{SLA: map[string]SLA{"P3": {RespondWithin: 10 * time.Minute, ResolveWithin: time.Hour}}}, c)
	must := mustTicket(t)
	a := alert("parts")
	a.Priority = "P3"
	tk, _ := raise(t, s, a)
	if !tk.ResolveBy.Equal(start.Add(time.Hour)) {
		t.Fatalf("resolve_by %s, want %s", tk.ResolveBy, start.Add(time.Hour))
	}
	c.Advance(5 * time.Minute)
	must(s.Transition(ctx, tk.ID, StatusInProgress, "ana", ""))
	c.Advance(15 * time.Minute)
	held := must(s.Transition(ctx, tk.ID, StatusOnHold, "ana", "waiting for a seal kit"))
	if !held.HeldSince.Equal(c.Now()) {
		t.Fatalf("held_since %s, want %s", held.HeldSince, c.Now())
	}
	if kind, _ := held.Due(); kind != "" {
		t.Fatalf("due while on hold: %q, want none (the clock is paused)", kind)
	}
	// Three hours on hold: far past the original resolve-by, no breach.
	c.Advance(3 * time.Hour)
	if bs := breaches(t, s, c.Now()); len(bs) != 0 {
		t.Fatalf("breaches while on hold: %+v, want none", bs)
	}
	back := must(s.Transition(ctx, tk.ID, StatusInProgress, "ana", "parts arrived"))
	want := start.Add(time.Hour + 3*time.Hour)
	if !back.ResolveBy.Equal(want) || !back.HeldSince.IsZero() {
		t.Fatalf("after hold: resolve_by %s held_since %s, want %s and none", back.ResolveBy, back.HeldSince, want)
	}
	_, evs, _ := s.Get(ctx, tk.ID)
	i := slices.IndexFunc(evs, func(e Event) bool { return e.Kind == EventSLAPaused })
	if i < 0 || !strings.Contains(evs[i].Detail, "on hold for 3h0m0s") || evs[i].Actor != "ana" {
		t.Fatalf("events %+v, want a sla_paused event of 3h by ana", evs)
	}
	// The remaining 40 minutes of the hour are still there.
	c.Advance(39 * time.Minute)
	if bs := breaches(t, s, c.Now()); len(bs) != 0 {
		t.Fatalf("before the moved resolve-by: %+v, want none", bs)
	}
	c.Advance(2 * time.Minute)
	if bs := breaches(t, s, c.Now()); len(bs) != 1 || bs[0].Kind != BreachResolve || !bs[0].Deadline.Equal(want) {
		t.Fatalf("after the moved resolve-by: %+v, want one resolve breach at %s", bs, want)
	}
	// A second hold adds its own pause; cancelling from hold moves nothing.
	must(s.Transition(ctx, tk.ID, StatusOnHold, "ana", ""))
	c.Advance(time.Hour)
	gone := must(s.Transition(ctx, tk.ID, StatusCancelled, "ana", "replaced instead"))
	if !gone.ResolveBy.Equal(want) || !gone.HeldSince.IsZero() {
		t.Fatalf("cancelled from hold: resolve_by %s held_since %s, want %s and none", gone.ResolveBy, gone.HeldSince, want)
	}
}

func TestReconfigure(t *testing.T) { backends(t, testReconfigure) }

func testReconfigure(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{Receivers: []Receiver{webhookReceiver("old")}}, c)
	before := s.config()
	bad := Config{OnAlertResolved: "sometimes", Receivers: []Receiver{{Name: "nameless-kind"}}}
	if err := s.Reconfigure(bad); err == nil || !strings.Contains(err.Error(), "on_alert_resolved") {
		t.Fatalf("invalid config: %v, want an error naming on_alert_resolved", err)
	}
	if got := s.config(); got.Receivers[0].Name != before.Receivers[0].Name || got.OnAlertResolved != OnResolvedRecord {
		t.Fatalf("config after a failed reconfigure: %+v, want the old one", got)
	}
	next := Config{
		SLA:       map[string]SLA{"P2": {RespondWithin: 5 * time.Minute, ResolveWithin: 20 * time.Minute}},
		Receivers: []Receiver{webhookReceiver("new")},
		FollowUp:  FollowUpOptional,
	}
	if err := s.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	tk, _ := raise(t, s, alert("after-reload"))
	if !tk.RespondBy.Equal(c.Now().Add(5*time.Minute)) || !tk.ResolveBy.Equal(c.Now().Add(20*time.Minute)) {
		t.Fatalf("deadlines %s %s, want the reloaded SLA", tk.RespondBy, tk.ResolveBy)
	}
	if ids := pendingIDs(t, s, "new"); len(ids) != 1 {
		t.Fatalf("queued for the new receiver: %v, want the created event", ids)
	}
	if ids := pendingIDs(t, s, "old"); len(ids) != 0 {
		t.Fatalf("queued for the removed receiver: %v, want none", ids)
	}
	mustTicket(t)(s.Transition(ctx, tk.ID, StatusResolved, "ana", ""))
	mustTicket(t)(s.Transition(ctx, tk.ID, StatusClosed, "ana", "")) // follow_up: optional now
}

// gate is a Notifier that holds each delivery until released.
type gate struct {
	started chan string
	release chan struct{}
	mu      sync.Mutex
	done    []string
}

func (g *gate) Notify(ctx context.Context, n Notification) error {
	g.started <- n.ID
	<-g.release // not ctx: Stop must let a delivery in flight finish
	g.mu.Lock()
	g.done = append(g.done, n.ID)
	g.mu.Unlock()
	return nil
}

// A reload stops the dispatcher between deliveries and starts another: the
// notification in flight is recorded as delivered, and the next dispatcher
// sends the rest, each once.
func TestDispatcherStopHandsOver(t *testing.T) { backends(t, testDispatcherStopHandsOver) }

func testDispatcherStopHandsOver(t *testing.T) {
	c := newClock()
	s, _ := openTemp(t, Config{Receivers: []Receiver{webhookReceiver("cmms")}, Outbox: fastOutbox}, c)
	for _, k := range []string{"a", "b", "c"} {
		raise(t, s, alert(k))
	}
	all := pendingIDs(t, s, "cmms")
	if len(all) != 3 {
		t.Fatalf("queued %v, want 3", all)
	}
	g := &gate{started: make(chan string, 10), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := s.Dispatcher(map[string]Notifier{"cmms": g}, nil)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	first := <-g.started
	d.Stop()
	close(g.release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Stop")
	}
	if g.done[0] != first || len(g.done) != 1 {
		t.Fatalf("first dispatcher delivered %v, want only %s", g.done, first)
	}
	r := newRecorder(0)
	runDispatcher(t, s, map[string]Notifier{"cmms": r}, nil)
	r.wait(t, 2)
	time.Sleep(50 * time.Millisecond) // a repeat would show up within a poll interval
	got := append(slices.Clone(g.done), r.ids()...)
	if !slices.Equal(got, all) {
		t.Fatalf("delivered %v, want each of %v once, in order", got, all)
	}
}
