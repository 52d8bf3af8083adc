package energy

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

// TestAllSites: two sites with the same device ids, reported together: the
// per-site totals count billed meters only, each site's ticket stays with
// its own site's device, and the HTML and workbook have the Sites section.
func TestAllSites(t *testing.T) {
	loc := time.UTC
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 30)
	rising := func(rate float64) []usage.Reading {
		var out []usage.Reading
		for i, ts := 0, from.Add(-15*time.Minute); !ts.After(to); i, ts = i+1, ts.Add(15*time.Minute) {
			out = append(out, usage.Reading{Time: ts, Value: float64(i) * rate})
		}
		return out
	}
	meter := func(site, id, dev, parent string) *usage.Meter {
		return &usage.Meter{ID: site + "/" + id, Device: dev, Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity,
			Site: site, Parent: parent, PollInterval: 15 * time.Minute}
	}
	src := &Readings{
		Meters: []*usage.Meter{meter("north", "main", "meter-1", ""), meter("north", "hvac", "meter-2", "north/main"), meter("south", "main", "meter-1", "")},
		Points: map[string][]usage.Reading{"north/main": rising(1), "north/hvac": rising(0.5), "south/main": rising(2)},
		TicketList: []Ticket{
			{ID: 1, Title: "north's meter", Site: "north", Device: "meter-2", Status: "open", Priority: "P2", Created: from.Add(time.Hour)},
			{ID: 2, Title: "elsewhere", Site: "east", Device: "meter-1", Status: "open", Priority: "P2", Created: from.Add(time.Hour)},
		},
	}
	p, err := ParsePeriod("2026-11", loc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(context.Background(), src, Options{Period: p, Zone: loc, Site: AllSites, Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sites) != 2 {
		t.Fatalf("sites: %+v", r.Sites)
	}
	q := 30 * 96.0 // quarter hours in November
	for i, want := range []struct {
		site   string
		meters int
		kwh    float64
	}{{"north", 1, q}, {"south", 1, 2 * q}} {
		s := r.Sites[i]
		if s.Site != want.site || s.Meters != want.meters || math.Abs(s.Quantity-want.kwh) > 1e-6 {
			t.Errorf("site %d: %+v, want %s with %d meter and %.0f kWh", i, s, want.site, want.meters, want.kwh)
		}
	}
	if len(r.Categories) != 1 || math.Abs(r.Categories[0].Quantity-3*q) > 1e-6 {
		t.Errorf("categories: %+v, want %.0f kWh of billed electricity", r.Categories, 3*q)
	}
	if len(r.Tickets) != 1 || r.Tickets[0].ID != 1 {
		t.Errorf("tickets: %+v, want north's only (east has no meter here)", r.Tickets)
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Sites</h2>", "<td>north</td>", "<td>south</td>", "Site: all sites", "north · meter-2", "south/main"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	var xlsx bytes.Buffer
	if err := r.WriteXLSX(&xlsx); err != nil {
		t.Fatal(err)
	}
	// One site only: no Sites section.
	r, err = Build(context.Background(), src, Options{Period: p, Zone: loc, Site: "south", Lang: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sites != nil || len(r.Meters) != 1 || r.Meters[0].Meter != "south/main" {
		t.Errorf("site south: sites %+v, meters %+v", r.Sites, r.Meters)
	}
}
