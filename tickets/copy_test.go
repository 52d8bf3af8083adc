package tickets

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// siteStore fills a SQLite store the way a site's daemon would: rule and
// manual tickets with history, an SLA breach, notifications delivered and
// pending, an applied change id, and an inspection with a failed item
// whose corrective ticket names it.
func siteStore(t *testing.T, c *clock) (*Store, string) {
	t.Helper()
	return siteStoreOf(t, c, "")
}

// siteStoreOf is siteStore for the daemon of site.
func siteStoreOf(t *testing.T, c *clock, site string) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tickets.db")
	cfg := Config{Site: site, Receivers: []Receiver{webhookReceiver("cmms")}}
	s := openAt(t, path, cfg, c)
	if _, err := s.Apply(ctx, []Change{{ID: "change-1", Alert: alert("pump")}}); err != nil {
		t.Fatal(err)
	}
	tk, _ := raise(t, s, alert("pump"))
	if _, err := s.Comment(ctx, tk.ID, "ana", "on it"); err != nil {
		t.Fatal(err)
	}
	raise(t, s, alert("fan"))
	c.Advance(48 * time.Hour)
	if _, err := s.CheckSLA(ctx, c.Now()); err != nil {
		t.Fatal(err)
	}
	e, ok, err := s.nextEntry(ctx, "cmms")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := s.markDelivered(ctx, e, c.Now()); err != nil {
		t.Fatal(err)
	}
	s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	insp := openInsp(t, s, "half", "lift-1")
	answerAll(t, s, insp.ID)
	answer(t, s, insp.ID, 1, "", fp(3.2), "worn; pads ordered")
	if _, err := s.CompleteInspection(ctx, Completion{Plan: "half", Device: "lift-1", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// snapshot is everything a store shows of itself, for comparing two.
func snapshot(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	var out []any
	ts := list(t, s, Filter{})
	for _, tk := range ts {
		got, evs, err := s.Get(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		items, err := s.Checklist(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got, evs, items)
	}
	ob, err := s.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := s.InspectionStates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := s.Stats(ctx, time.Time{}, time.Now().Add(24*365*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, ob, sts, history(t, s, InspectionFilter{}), stats, pendingIDs(t, s, "cmms"))
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCopyDatabase moves a site's SQLite store into a new database: every
// ticket keeps its id and history, pending notifications stay pending
// with the same ids, and what comes next goes on after the copied ids.
func TestCopyDatabase(t *testing.T) { backends(t, testCopyDatabase) }

func testCopyDatabase(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	src, _ := siteStore(t, c)
	want := snapshot(t, src)
	dst, _ := openTemp(t, Config{Receivers: []Receiver{webhookReceiver("cmms")}}, c)
	counts, err := CopyDatabase(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %v", counts)
	if got := snapshot(t, dst); got != want {
		t.Fatalf("after the copy:\n%s\nwant:\n%s", got, want)
	}
	if dst.instance != src.instance {
		t.Fatalf("instance %q, want the source's %q", dst.instance, src.instance)
	}
	// New ids follow the copied ones, and a change applied before is
	// still known.
	rs, err := dst.Apply(ctx, []Change{{ID: "change-1", Alert: alert("pump")}, {Alert: alert("boiler")}})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Duplicate {
		t.Errorf("change-1 applied again after the copy")
	}
	var last int64
	for _, tk := range list(t, src, Filter{}) {
		last = max(last, tk.ID)
	}
	if rs[1].Ticket.ID != last+1 {
		t.Errorf("new ticket id %d, want %d", rs[1].Ticket.ID, last+1)
	}
	// A second copy into a database that has tickets is refused.
	if _, err := CopyDatabase(ctx, src, dst); err == nil {
		t.Fatal("copy into a database with tickets: want refused")
	}
}
