package tickets

import (
	"context"
	"testing"
)

// TestCopyIntoSharedDatabase moves site east's SQLite store into a
// database that site west already uses: east's rows go in after west's,
// every id shifted by the largest there and every reference with it, west
// keeps its tickets and the database its instance, and east's daemon finds
// its tickets as its own. A second copy of east is refused.
func TestCopyIntoSharedDatabase(t *testing.T) { backends(t, testCopyIntoSharedDatabase) }

func testCopyIntoSharedDatabase(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	src, _ := siteStoreOf(t, c, "east")
	srcTickets := list(t, src, Filter{})
	srcHistory := history(t, src, InspectionFilter{})

	cfg := Config{Site: "west", Receivers: []Receiver{webhookReceiver("cmms")}}
	west, path := openTemp(t, cfg, c)
	raise(t, west, alert("pump")) // the same keys as east's
	raise(t, west, alert("fan"))
	raise(t, west, alert("boiler"))
	west.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	openInsp(t, west, "half", "lift-1")
	westBefore := snapshot(t, west)
	instance := west.instance

	counts, err := CopyDatabase(ctx, src, west)
	if err != nil {
		t.Fatal(err)
	}
	off := map[string]int64{}
	for _, tc := range counts {
		off[tc.Table] = tc.IDOffset
	}
	if off["tickets"] != 4 || off["events"] == 0 || off["outbox"] == 0 {
		t.Fatalf("offsets %+v, want tickets after west's 4", counts)
	}
	if got := snapshot(t, west); got != westBefore {
		t.Errorf("west after the copy:\n%s\nwant:\n%s", got, westBefore)
	}
	if west.instance != instance {
		t.Errorf("instance %q after the copy, want the database's own %q", west.instance, instance)
	}

	east := openAt(t, path, Config{Site: "east", Receivers: cfg.Receivers}, c)
	got := list(t, east, Filter{})
	if len(got) != len(srcTickets) {
		t.Fatalf("east has %d tickets after the copy, want %d", len(got), len(srcTickets))
	}
	for i, tk := range got {
		want := srcTickets[i]
		if tk.ID != want.ID+off["tickets"] || tk.Key != want.Key || tk.Site != "east" || tk.Occurrences != want.Occurrences {
			t.Errorf("east's ticket %d: %+v, want source ticket %d shifted by %d", i, tk, want.ID, off["tickets"])
		}
		if want.Related != 0 && tk.Related != want.Related+off["tickets"] {
			t.Errorf("ticket %d names related %d, want %d", tk.ID, tk.Related, want.Related+off["tickets"])
		}
		_, evs, err := east.Get(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, wantEvs, _ := src.Get(ctx, want.ID)
		if len(evs) != len(wantEvs) || evs[0].ID != wantEvs[0].ID+off["events"] || evs[0].TicketID != tk.ID {
			t.Errorf("ticket %d: events %+v, want %+v shifted", tk.ID, evs, wantEvs)
		}
		items, err := east.Checklist(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantItems, _ := src.Checklist(ctx, want.ID)
		for j := range items {
			if w := wantItems[j].Corrective; w != 0 && items[j].Corrective != w+off["tickets"] {
				t.Errorf("ticket %d item %d: corrective %d, want %d", tk.ID, j+1, items[j].Corrective, w+off["tickets"])
			}
		}
	}
	recs := history(t, east, InspectionFilter{})
	if len(recs) != len(srcHistory) || recs[0].ID != srcHistory[0].ID+off["inspection_records"] ||
		recs[0].TicketID != srcHistory[0].TicketID+off["tickets"] {
		t.Errorf("east's inspection records %+v, want %+v shifted", recs, srcHistory)
	}
	if r, created := raise(t, east, alert("fan")); created || r.Site != "east" {
		t.Errorf("east's raise of its open key after the copy: created=%v site %q, want an occurrence", created, r.Site)
	}
	if _, err := CopyDatabase(ctx, src, west); err == nil {
		t.Error("a second copy of east: want refused")
	}
}
