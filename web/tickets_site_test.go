package web

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/facilityd/facilityd/tickets"
)

// TestTicketListSite: on a database that sites share, a daemon's API lists
// its own site's tickets unless asked for another site (site=NAME) or all
// of them (site=all); stats count its own site's.
func TestTicketListSite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tickets.db")
	stores := map[string]*tickets.Store{}
	for _, site := range []string{"north", "south"} {
		st, err := tickets.Open(ctx, path, tickets.Config{Site: site}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[site] = st
		for range map[string]int{"north": 1, "south": 2}[site] {
			if _, _, err := st.Create(ctx, "ana", tickets.Manual{Title: "Leak at " + site, Priority: "P3"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := New(Deps{Tickets: stores["north"], Auth: testAuth(t)}, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		query string
		want  map[string]int
	}{
		{"", map[string]int{"north": 1}},
		{"?site=south", map[string]int{"south": 2}},
		{"?site=all", map[string]int{"north": 1, "south": 2}},
		{"?site=nowhere", map[string]int{}},
	} {
		var got []tickets.Ticket
		if code := call(t, s, "GET", "/api/v1/tickets"+tc.query, viewerToken, "", &got); code != http.StatusOK {
			t.Fatalf("GET /api/v1/tickets%s: %d", tc.query, code)
		}
		by := map[string]int{}
		for _, tk := range got {
			by[tk.Site]++
		}
		if len(by) != len(tc.want) || by["north"] != tc.want["north"] || by["south"] != tc.want["south"] {
			t.Errorf("GET /api/v1/tickets%s: tickets by site %v, want %v", tc.query, by, tc.want)
		}
	}
	var stats struct {
		Categories []struct {
			Category string `json:"category"`
			Tickets  int    `json:"tickets"`
		} `json:"categories"`
	}
	if code := call(t, s, "GET", "/api/v1/tickets/stats", viewerToken, "", &stats); code != http.StatusOK {
		t.Fatalf("stats: %d", code)
	}
	all := -1
	for _, c := range stats.Categories {
		if c.Category == "*" {
			all = c.Tickets
		}
	}
	if all != 1 {
		t.Errorf("north's stats count %d tickets, want its own 1", all)
	}
}
