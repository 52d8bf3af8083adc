package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injectable clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func openAt(t testing.TB, path string, cfg Config, c *clock) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, cfg, c.Now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTemp(t testing.TB, cfg Config, c *clock) (*Store, string) {
	t.Helper()
	path := tempDatabase(t)
	return openAt(t, path, cfg, c), path
}

func alert(key string) Alert {
	return Alert{Key: key, Title: "Pump " + key + " tripped", Device: "pump-" + key, Location: "B1",
		Category: "pump", Priority: "P2", Source: SourceManual} // rule tickets refuse closing while firing: TestAlertFiringRefusesClose
}

func raise(t testing.TB, s *Store, a Alert) (Ticket, bool) {
	t.Helper()
	tk, created, err := s.Raise(context.Background(), a)
	if err != nil {
		t.Fatalf("Raise(%q): %v", a.Key, err)
	}
	return tk, created
}

func list(t testing.TB, s *Store, f Filter) []Ticket {
	t.Helper()
	ts, err := s.List(context.Background(), f)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return ts
}

func TestRaiseOneTicketPerKey(t *testing.T) { backends(t, testRaiseOneTicketPerKey) }

func testRaiseOneTicketPerKey(t *testing.T) {
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	a1, created := raise(t, s, alert("1"))
	if !created || a1.Occurrences != 1 || a1.Status != StatusOpen {
		t.Fatalf("first raise: created=%v occurrences=%d status=%s", created, a1.Occurrences, a1.Status)
	}
	b, created := raise(t, s, alert("2"))
	if !created || b.ID == a1.ID {
		t.Fatalf("other key: created=%v id=%d, want a new ticket", created, b.ID)
	}
	c.Advance(time.Minute)
	for i := 2; i <= 3; i++ {
		a := alert("1")
		a.At = c.Now()
		got, created := raise(t, s, a)
		if created || got.ID != a1.ID || got.Occurrences != i || !got.LastSeen.Equal(c.Now()) {
			t.Fatalf("repeat %d: created=%v id=%d occurrences=%d last_seen=%s", i, created, got.ID, got.Occurrences, got.LastSeen)
		}
	}
	if ts := list(t, s, Filter{}); len(ts) != 2 {
		t.Fatalf("List: %d tickets, want 2", len(ts))
	}
	got, evs, err := s.Get(context.Background(), a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Occurrences != 3 || !got.FirstSeen.Equal(a1.FirstSeen) {
		t.Errorf("Get: occurrences=%d first_seen=%s", got.Occurrences, got.FirstSeen)
	}
	kinds := []EventKind{EventCreated, EventOccurrence, EventOccurrence}
	if len(evs) != len(kinds) {
		t.Fatalf("events: %+v, want kinds %v", evs, kinds)
	}
	for i, k := range kinds {
		if evs[i].Kind != k || evs[i].Actor != systemActor {
			t.Errorf("event %d: %s by %s, want %s by %s", i, evs[i].Kind, evs[i].Actor, k, systemActor)
		}
	}
}

func TestRaiseSurvivesRestart(t *testing.T) { backends(t, testRaiseSurvivesRestart) }

func testRaiseSurvivesRestart(t *testing.T) {
	c := newClock()
	path := tempDatabase(t)
	s1, err := Open(context.Background(), path, Config{}, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := raise(t, s1, alert("1"))
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, Config{}, c) // the daemon restarts
	again, created := raise(t, s2, alert("1"))
	if created || again.ID != first.ID || again.Occurrences != 2 {
		t.Fatalf("after restart: created=%v id=%d (want %d) occurrences=%d", created, again.ID, first.ID, again.Occurrences)
	}
	if ts := list(t, s2, Filter{}); len(ts) != 1 {
		t.Fatalf("%d tickets after restart, want 1", len(ts))
	}
}

func TestRaiseAfterCloseOpensNewTicket(t *testing.T) { backends(t, testRaiseAfterCloseOpensNewTicket) }

func testRaiseAfterCloseOpensNewTicket(t *testing.T) {
	for _, final := range []Status{StatusClosed, StatusCancelled} {
		t.Run(string(final), func(t *testing.T) {
			c := newClock()
			s, _ := openTemp(t, Config{}, c)
			first, _ := raise(t, s, alert("1"))
			path := []Status{StatusResolved, StatusClosed}
			if final == StatusCancelled {
				path = []Status{StatusCancelled}
			}
			for _, to := range path {
				if to == StatusClosed {
					if _, err := s.FollowUp(context.Background(), first.ID, "ben", FollowUpOK, "holds"); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := s.Transition(context.Background(), first.ID, to, "ana", ""); err != nil {
					t.Fatal(err)
				}
			}
			second, created := raise(t, s, alert("1"))
			if !created || second.ID == first.ID || second.Occurrences != 1 {
				t.Fatalf("raise after %s: created=%v id=%d occurrences=%d", final, created, second.ID, second.Occurrences)
			}
			if ts := list(t, s, Filter{OpenOnly: true}); len(ts) != 1 || ts[0].ID != second.ID {
				t.Fatalf("open tickets: %+v, want only %d", ts, second.ID)
			}
		})
	}
}

func TestRaiseConcurrent(t *testing.T) { backends(t, testRaiseConcurrent) }

func testRaiseConcurrent(t *testing.T) {
	const goroutines = 20
	for _, stores := range []int{1, 4} { // 4: separate pools, like daemon and CLI
		t.Run(fmt.Sprintf("stores=%d", stores), func(t *testing.T) {
			c := newClock()
			first, path := openTemp(t, Config{}, c)
			ss := []*Store{first}
			for len(ss) < stores {
				ss = append(ss, openAt(t, path, Config{}, c))
			}
			var wg sync.WaitGroup
			var created sync.Map
			errs := make(chan error, goroutines)
			for i := range goroutines {
				wg.Go(func() {
					tk, ok, err := ss[i%stores].Raise(context.Background(), alert("storm"))
					if err != nil {
						errs <- err
						return
					}
					if ok {
						created.Store(tk.ID, true)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			n := 0
			created.Range(func(any, any) bool { n++; return true })
			ts := list(t, first, Filter{})
			if n != 1 || len(ts) != 1 || ts[0].Occurrences != goroutines {
				t.Fatalf("created %d, stored %d tickets %+v; want 1 ticket with %d occurrences", n, len(ts), ts, goroutines)
			}
		})
	}
}

func TestSLADeadlines(t *testing.T) { backends(t, testSLADeadlines) }

func testSLADeadlines(t *testing.T) {
	c := newClock()
	cfg := Config{SLA: map[string]SLA{"P2": {RespondWithin: 15 * time.Minute}}}
	s, _ := openTemp(t, cfg, c)
	start := c.Now()
	tests := []struct {
		prio                       string
		respond, resolve, followUp time.Duration
	}{
		{"P1", 30 * time.Minute, 4 * time.Hour, 24 * time.Hour},
		{"P2", 15 * time.Minute, 8 * time.Hour, 48 * time.Hour}, // respond configured, rest default
		{"P3", 4 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour},
		{"P4", 24 * time.Hour, 14 * 24 * time.Hour, 14 * 24 * time.Hour},
	}
	for _, tt := range tests {
		a := alert(tt.prio)
		a.Priority = tt.prio
		a.At = start.Add(-time.Hour) // fired earlier; the SLA runs from the ticket
		tk, _ := raise(t, s, a)
		if !tk.CreatedAt.Equal(start) || !tk.FirstSeen.Equal(a.At) {
			t.Errorf("%s: created_at %s first_seen %s", tt.prio, tk.CreatedAt, tk.FirstSeen)
		}
		if !tk.RespondBy.Equal(start.Add(tt.respond)) || !tk.ResolveBy.Equal(start.Add(tt.resolve)) {
			t.Errorf("%s: respond_by %s resolve_by %s, want +%s +%s", tt.prio, tk.RespondBy, tk.ResolveBy, tt.respond, tt.resolve)
		}
		if !tk.FollowUpBy.IsZero() {
			t.Errorf("%s: follow_up_by %s before resolution", tt.prio, tk.FollowUpBy)
		}
		c.Advance(2 * time.Hour)
		got, err := s.Transition(context.Background(), tk.ID, StatusResolved, "ana", "replaced seal")
		if err != nil {
			t.Fatal(err)
		}
		if want := c.Now().Add(tt.followUp); !got.FollowUpBy.Equal(want) || !got.ResolvedAt.Equal(c.Now()) {
			t.Errorf("%s: follow_up_by %s resolved_at %s, want %s", tt.prio, got.FollowUpBy, got.ResolvedAt, want)
		}
		stored, _, err := s.Get(context.Background(), tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.FollowUpBy.Equal(got.FollowUpBy) || !stored.RespondBy.Equal(tk.RespondBy) {
			t.Errorf("%s: stored %+v differs from returned %+v", tt.prio, stored, got)
		}
		c.Set(start)
	}
}

func TestAlertResolved(t *testing.T) { backends(t, testAlertResolved) }

func testAlertResolved(t *testing.T) {
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	ctx := context.Background()
	if err := s.AlertResolved(ctx, "nothing", c.Now()); err != nil {
		t.Fatalf("no ticket: %v", err)
	}
	tk, _ := raise(t, s, alert("1"))
	c.Advance(10 * time.Minute)
	if err := s.AlertResolved(ctx, "1", c.Now()); err != nil {
		t.Fatal(err)
	}
	got, evs, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusOpen || !got.AlertResolvedAt.Equal(c.Now()) {
		t.Fatalf("status %s alert_resolved_at %s, want open and %s", got.Status, got.AlertResolvedAt, c.Now())
	}
	if last := evs[len(evs)-1]; last.Kind != EventAlertResolved {
		t.Fatalf("last event %s, want %s", last.Kind, EventAlertResolved)
	}
	again, _ := raise(t, s, alert("1"))
	if !again.AlertResolvedAt.IsZero() {
		t.Fatalf("alert fired again but alert_resolved_at still %s", again.AlertResolvedAt)
	}
}

func TestReopenWithinCoolDown(t *testing.T) { backends(t, testReopenWithinCoolDown) }

func testReopenWithinCoolDown(t *testing.T) {
	c := newClock()
	s, _ := openTemp(t, Config{ReopenWithin: time.Hour}, c)
	ctx := context.Background()
	tk, _ := raise(t, s, alert("1"))
	if _, err := s.Transition(ctx, tk.ID, StatusResolved, "ana", ""); err != nil {
		t.Fatal(err)
	}
	c.Advance(30 * time.Minute)
	a := alert("1")
	a.At = c.Now()
	got, created := raise(t, s, a)
	if created || got.ID != tk.ID || got.Status != StatusInProgress || got.Occurrences != 2 || !got.FollowUpBy.IsZero() {
		t.Fatalf("within cool-down: created=%v %+v, want ticket %d reopened", created, got, tk.ID)
	}
	if _, err := s.Transition(ctx, tk.ID, StatusResolved, "ana", ""); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	a.At = c.Now()
	if got, created := raise(t, s, a); !created || got.ID == tk.ID {
		t.Fatalf("after cool-down: created=%v id=%d, want a new ticket", created, got.ID)
	}
}

func TestRaiseRejectsBadAlerts(t *testing.T) { backends(t, testRaiseRejectsBadAlerts) }

func testRaiseRejectsBadAlerts(t *testing.T) {
	s, _ := openTemp(t, Config{}, newClock())
	for name, edit := range map[string]func(*Alert){
		"empty key":    func(a *Alert) { a.Key = "" },
		"empty title":  func(a *Alert) { a.Title = "" },
		"priority P5":  func(a *Alert) { a.Priority = "P5" },
		"no priority":  func(a *Alert) { a.Priority = "" },
		"source cloud": func(a *Alert) { a.Source = "cloud" },
	} {
		a := alert("1")
		edit(&a)
		if _, _, err := s.Raise(context.Background(), a); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if ts := list(t, s, Filter{}); len(ts) != 0 {
		t.Fatalf("%d tickets stored from bad alerts", len(ts))
	}
}

func TestList(t *testing.T) { backends(t, testList) }

func testList(t *testing.T) {
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	var ids []int64
	for _, k := range []string{"a", "b", "c"} {
		tk, _ := raise(t, s, alert(k))
		ids = append(ids, tk.ID)
		c.Advance(time.Minute)
	}
	if _, err := s.Transition(context.Background(), ids[0], StatusCancelled, "ana", "duplicate"); err != nil {
		t.Fatal(err)
	}
	idsOf := func(ts []Ticket) []int64 {
		var out []int64
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	for _, tt := range []struct {
		f    Filter
		want []int64
	}{
		{Filter{}, []int64{ids[2], ids[1], ids[0]}},
		{Filter{OpenOnly: true}, []int64{ids[2], ids[1]}},
		{Filter{Status: []string{"cancelled", "resolved"}}, []int64{ids[0]}},
		{Filter{Device: "pump-b"}, []int64{ids[1]}},
		{Filter{Limit: 1}, []int64{ids[2]}},
	} {
		if got := idsOf(list(t, s, tt.f)); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("List(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	if _, err := s.List(context.Background(), Filter{Status: []string{"opne"}}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), `"opne"`) {
		t.Errorf("typo in status: err %v, want ErrInvalid naming it", err)
	}
	if _, _, err := s.Get(context.Background(), 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(999): %v, want ErrNotFound", err)
	}
}
