package tickets

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSitesKeepTheirTickets: the daemons of two sites on one database raise
// the same rule on the same device id: each site gets its own ticket, while
// two daemons of one site still share one. What one site's daemon does by
// key (occurrences, the alert clearing, reconcile's open keys, SLA checks)
// never touches the other site's ticket.
func TestSitesKeepTheirTickets(t *testing.T) { backends(t, testSitesKeepTheirTickets) }

func testSitesKeepTheirTickets(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	path := tempDatabase(t)
	north := openAt(t, path, Config{Site: "north"}, c)
	north2 := openAt(t, path, Config{Site: "north"}, c)
	south := openAt(t, path, Config{Site: "south"}, c)

	n1, created := raise(t, north, alert("1"))
	if !created {
		t.Fatal("north: no ticket created")
	}
	n2, created := raise(t, north2, alert("1"))
	if created || n2.ID != n1.ID || n2.Occurrences != 2 {
		t.Fatalf("north's second daemon: created=%v id=%d (want %d) occurrences=%d: want the same ticket",
			created, n2.ID, n1.ID, n2.Occurrences)
	}
	s1, created := raise(t, south, alert("1"))
	if !created || s1.ID == n1.ID || s1.Occurrences != 1 {
		t.Fatalf("south: created=%v id=%d occurrences=%d: want a ticket of its own (north's is %d)",
			created, s1.ID, s1.Occurrences, n1.ID)
	}
	if n1.Site != "north" || s1.Site != "south" {
		t.Errorf("sites %q and %q, want north and south", n1.Site, s1.Site)
	}
	if ts := list(t, north, Filter{Site: AllSites}); len(ts) != 2 {
		t.Fatalf("%d tickets in the database, want 2", len(ts))
	}
	if ts := list(t, south, Filter{}); len(ts) != 1 || ts[0].ID != s1.ID {
		t.Fatalf("south's own tickets %+v, want its ticket %d only", ts, s1.ID)
	}
	for site, want := range map[string]int64{"north": n1.ID, "south": s1.ID} {
		ts := list(t, north, Filter{Site: site})
		if len(ts) != 1 || ts[0].ID != want || ts[0].Site != site {
			t.Errorf("Filter{Site: %q}: %+v, want ticket %d only", site, ts, want)
		}
	}

	if err := south.AlertResolved(ctx, alert("1").Key, c.Now()); err != nil {
		t.Fatal(err)
	}
	got, _, err := north.Get(ctx, n1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.AlertResolvedAt.IsZero() {
		t.Errorf("south's alert clearing reached north's ticket %d", n1.ID)
	}
	got, _, _ = north.Get(ctx, s1.ID)
	if got.AlertResolvedAt.IsZero() {
		t.Errorf("south's alert clearing did not reach south's ticket %d", s1.ID)
	}

	keys, err := north.OpenKeys(ctx, SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	if firing, ok := keys[alert("1").Key]; len(keys) != 1 || !ok || !firing {
		t.Errorf("north's open keys %v, want its own firing ticket only", keys)
	}

	c.Advance(2 * time.Hour) // past P2's respond-by
	bs, err := south.CheckSLA(ctx, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].TicketID != s1.ID {
		t.Errorf("south's SLA check: %+v, want the breach of its own ticket %d only", bs, s1.ID)
	}
}

// TestSitesDispatchTheirOwn: a receiver's name is its site's config's, so
// each site's dispatcher takes only the notifications its site queued,
// though both sites name their receiver "ops".
func TestSitesDispatchTheirOwn(t *testing.T) { backends(t, testSitesDispatchTheirOwn) }

func testSitesDispatchTheirOwn(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	path := tempDatabase(t)
	cfg := func(site string) Config {
		return Config{Site: site, Receivers: []Receiver{webhookReceiver("ops")}}
	}
	north := openAt(t, path, cfg("north"), c)
	south := openAt(t, path, cfg("south"), c)
	nt, _ := raise(t, north, alert("1")) // queued first
	st, _ := raise(t, south, alert("1"))
	for _, tc := range []struct {
		s    *Store
		want Ticket
	}{{south, st}, {north, nt}} {
		e, ok, err := tc.s.nextEntry(ctx, "ops")
		if err != nil || !ok {
			t.Fatalf("%s's next notification: ok=%v err %v", tc.s.Site(), ok, err)
		}
		tc.s.release(e)
		if e.n.Ticket.ID != tc.want.ID || e.n.Ticket.Site != tc.s.Site() {
			t.Errorf("%s's dispatcher took the notification of ticket %d (site %q), want its own ticket %d",
				tc.s.Site(), e.n.Ticket.ID, e.n.Ticket.Site, tc.want.ID)
		}
	}
	for _, s := range []*Store{north, south} {
		ob, err := s.Outbox(ctx)
		if err != nil || len(ob) != 1 || ob[0].Pending != 1 {
			t.Errorf("%s's outbox: %+v, %v; want its one notification", s.Site(), ob, err)
		}
	}
}

// TestSitesInspectSeparately: two sites with the same plan on the same
// device id each get their inspection ticket; resolving north's ticket by
// id through south's store (another site's console) completes north's
// cycle and leaves south's alone.
func TestSitesInspectSeparately(t *testing.T) { backends(t, testSitesInspectSeparately) }

func testSitesInspectSeparately(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	path := tempDatabase(t)
	north := openAt(t, path, Config{Site: "north"}, c)
	south := openAt(t, path, Config{Site: "south"}, c)
	for _, s := range []*Store{north, south} {
		s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	}
	nt := openInsp(t, north, "half", "lift-1")
	st := openInsp(t, south, "half", "lift-1") // fails on a shared key
	if nt.ID == st.ID || nt.Site != "north" || st.Site != "south" {
		t.Fatalf("inspection tickets %d (%s) and %d (%s)", nt.ID, nt.Site, st.ID, st.Site)
	}
	answer(t, south, nt.ID, 1, "", fp(6.5), "")
	answer(t, south, nt.ID, 3, "all in order", nil, "")
	if _, err := south.Transition(ctx, nt.ID, StatusResolved, "ana", "done"); err != nil {
		t.Fatal(err)
	}
	if rs := history(t, north, InspectionFilter{Kind: RecordDone}); len(rs) != 1 || rs[0].TicketID != nt.ID {
		t.Errorf("north's done records %+v, want the one of ticket %d", rs, nt.ID)
	}
	if rs := history(t, south, InspectionFilter{Kind: RecordDone}); len(rs) != 0 {
		t.Errorf("south's done records %+v, want none", rs)
	}
	if got := stateOf(t, south, "half", "lift-1"); got.TicketID != st.ID {
		t.Errorf("south's state names ticket %d, want its open ticket %d", got.TicketID, st.ID)
	}
	if got := stateOf(t, north, "half", "lift-1"); got.TicketID != 0 {
		t.Errorf("north's state still names ticket %d after its completion", got.TicketID)
	}
}

func TestOpenRefusesTheSiteOfAllSites(t *testing.T) {
	if _, err := Open(context.Background(), tempDatabase(t), Config{Site: AllSites}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("open with site %q: %v, want ErrInvalid", AllSites, err)
	}
}

// TestReconfigureKeepsTheSite: a reload that names another site is refused
// (the store's rows stay its site's until a restart); one that keeps it
// goes through.
func TestReconfigureKeepsTheSite(t *testing.T) {
	s, _ := openTemp(t, Config{Site: "north"}, newClock())
	if err := s.Reconfigure(Config{Site: "south"}); !errors.Is(err, ErrInvalid) || s.Site() != "north" {
		t.Fatalf("reconfigure to site south: %v, site %q; want refused, north", err, s.Site())
	}
	if err := s.Reconfigure(Config{Site: "north", ReopenWithin: time.Hour}); err != nil {
		t.Fatal(err)
	}
}
