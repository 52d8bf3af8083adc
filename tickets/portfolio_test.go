package tickets

import (
	"context"
	"testing"
	"time"
)

// TestPortfolioBySite: two sites on one database; the figures per site
// are the hand-counted ones, whichever site's store reads them.
func TestPortfolioBySite(t *testing.T) { backends(t, testPortfolioBySite) }

func testPortfolioBySite(t *testing.T) {
	ctx := context.Background()
	c := newClock() // 08:00
	path := tempDatabase(t)
	north := openAt(t, path, Config{Site: "north"}, c)
	south := openAt(t, path, Config{Site: "south"}, c)
	day := c.Now().Truncate(24 * time.Hour)

	move := func(s *Store, id int64, to ...Status) {
		t.Helper()
		for _, st := range to {
			if _, err := s.Transition(ctx, id, st, "ana", ""); err != nil {
				t.Fatalf("ticket %d → %s: %v", id, st, err)
			}
		}
	}
	// P2: respond within 1 h, resolve within 8 h; P1: 30 min and 4 h.
	t1, _ := raise(t, north, alert("1"))
	t2, _ := raise(t, north, alert("2"))
	p1 := alert("3")
	p1.Priority = "P1"
	raise(t, north, p1) // never responded to
	t4, _ := raise(t, north, alert("4"))
	move(north, t4.ID, StatusCancelled)
	c.Advance(20 * time.Minute)
	move(north, t1.ID, StatusAcknowledged) // responded in time
	c.Set(day.Add(9*time.Hour + 30*time.Minute))
	move(north, t2.ID, StatusAcknowledged) // 30 min late
	c.Set(day.Add(10 * time.Hour))
	move(north, t1.ID, StatusInProgress, StatusResolved) // resolved in time
	c.Set(day.Add(16*time.Hour + 30*time.Minute))
	raise(t, south, alert("1")) // P2, not yet due anywhere
	c.Set(day.Add(17 * time.Hour))
	// t2's resolve-by (16:00) and t3's respond-by and resolve-by have passed.

	if err := north.PutInspectionStates(ctx, []InspectionState{
		{Plan: "boiler-annual", Device: "boiler-1", Status: InspectionOverdue},
		{Plan: "boiler-annual", Device: "boiler-2", Status: InspectionOK},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := south.PutInspectionStates(ctx, []InspectionState{
		{Plan: "boiler-annual", Device: "boiler-1", Status: InspectionDue},
	}, nil); err != nil {
		t.Fatal(err)
	}

	for _, s := range []*Store{north, south} {
		open, err := s.OpenBySite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 2 || open[0].Site != "north" || open[1].Site != "south" {
			t.Fatalf("%s: OpenBySite %+v, want north and south", s.Site(), open)
		}
		if n := open[0]; n.Total != 2 || n.ByPriority["P1"] != 1 || n.ByPriority["P2"] != 1 || n.ByPriority["P4"] != 0 ||
			!n.Oldest.Equal(day.Add(8*time.Hour)) {
			t.Errorf("%s: north open %+v, want P1 1 and P2 1 since 08:00", s.Site(), n)
		}
		if so := open[1]; so.Total != 1 || so.ByPriority["P2"] != 1 {
			t.Errorf("%s: south open %+v, want one P2", s.Site(), so)
		}

		sla, err := s.SLABySite(ctx, day, day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []SiteSLA{
			{Site: "north", Tickets: 3, RespondMet: 1, RespondBreached: 2, ResolveMet: 1, ResolveBreached: 2},
			{Site: "south", Tickets: 1},
		}
		if len(sla) != 2 || sla[0] != want[0] || sla[1] != want[1] {
			t.Errorf("%s: SLABySite %+v, want %+v", s.Site(), sla, want)
		}
		if share, ok := sla[0].RespondCompliance(); !ok || share != 1.0/3 {
			t.Errorf("north's response compliance %v (%v), want 1/3", share, ok)
		}
		if _, ok := sla[1].ResolveCompliance(); ok {
			t.Error("south's resolve compliance is decided with nothing decided")
		}
		later, err := s.SLABySite(ctx, day.Add(10*time.Hour), day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(later) != 2 || later[0] != (SiteSLA{Site: "north"}) || later[1].Tickets != 1 {
			t.Errorf("%s: SLABySite from 10:00: %+v, want north with none, south with 1", s.Site(), later)
		}

		insp, err := s.InspectionsBySite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(insp) != 2 || insp[0].Site != "north" || insp[0].Plans != 2 || insp[0].Overdue != 1 || insp[0].Due != 0 ||
			insp[1].Site != "south" || insp[1].Plans != 1 || insp[1].Due != 1 || insp[1].Overdue != 0 ||
			!insp[0].UpdatedAt.Equal(c.Now()) {
			t.Errorf("%s: InspectionsBySite %+v", s.Site(), insp)
		}
	}
}
