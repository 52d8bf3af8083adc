package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQueryQueue(t *testing.T) { backends(t, testQueryQueue) }

// testQueryQueue: the queue's search, filters and paging are the
// database's: a page holds the tickets in order from the offset, the total
// counts every match, search looks in the texts in any case and treats
// LIKE's wildcards as text, and a number finds its ticket.
func testQueryQueue(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	var ids []int64
	for i := range 45 {
		m := Manual{Title: fmt.Sprintf("Lamp %d out", i), Priority: []string{"P1", "P2", "P3"}[i%3],
			Category: []string{"lighting", "plumbing"}[i%2], Location: "Floor " + fmt.Sprint(i%5)}
		switch i {
		case 7:
			m.Title, m.Description = "Leaking TAP in toilets", "the washer is worn"
		case 8:
			m.Title = "Sign says 100% safe_zone"
		case 9:
			m.Title = "Sign says 100 safe zone"
		}
		tk, _, err := s.Create(ctx, "ana", m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
		c.Advance(time.Minute)
	}
	if _, err := s.Assign(ctx, ids[7], "bo", "ana", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Move(ctx, ids[3], Move{To: StatusAcknowledged, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	query := func(q Query) Page {
		t.Helper()
		p, err := s.Query(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return p
	}
	idsOf := func(p Page) []int64 {
		var out []int64
		for _, tk := range p.Tickets {
			out = append(out, tk.ID)
		}
		return out
	}
	newest := slices.Clone(ids)
	slices.Reverse(newest)

	// Paging: three pages of 20, 20 and 5, newest first, each with the total.
	for i, want := range [][]int64{newest[:20], newest[20:40], newest[40:]} {
		p := query(Query{Filter: Filter{Limit: 20}, Offset: 20 * i})
		if p.Total != 45 || !slices.Equal(idsOf(p), want) {
			t.Errorf("page %d: total %d, ids %v; want 45, %v", i, p.Total, idsOf(p), want)
		}
	}
	if p := query(Query{Offset: 44}); p.Total != 45 || !slices.Equal(idsOf(p), newest[44:]) {
		t.Errorf("offset without a limit: %d, %v", p.Total, idsOf(p))
	}
	if p := query(Query{Filter: Filter{Limit: 10}, Offset: 100}); p.Total != 45 || len(p.Tickets) != 0 || p.Tickets == nil {
		t.Errorf("past the end: %d, %v", p.Total, p.Tickets)
	}

	for _, c := range []struct {
		name string
		q    Query
		want []int64
	}{
		{"title, any case", Query{Search: "leaking tap"}, []int64{ids[7]}},
		{"description", Query{Search: "WASHER"}, []int64{ids[7]}},
		{"location", Query{Search: "floor 2", Filter: Filter{Priority: "P3"}}, []int64{ids[32], ids[17], ids[2]}},
		{"percent is text", Query{Search: "100%"}, []int64{ids[8]}},
		{"underscore is text", Query{Search: "safe_zone"}, []int64{ids[8]}},
		{"a number is the id too", Query{Search: fmt.Sprintf("#%d", ids[3])}, []int64{ids[3]}},
		{"assignee filter", Query{Filter: Filter{Assignee: "bo"}}, []int64{ids[7]}},
		{"status filter", Query{Filter: Filter{Status: []string{"acknowledged"}}}, []int64{ids[3]}},
		{"category and priority", Query{Filter: Filter{Category: "plumbing", Priority: "P1", Limit: 2}}, []int64{ids[39], ids[33]}},
		{"search and filter", Query{Search: "lamp 4", Filter: Filter{Category: "lighting"}}, []int64{ids[44], ids[42], ids[40], ids[4]}},
		{"nothing", Query{Search: "elevator"}, nil},
	} {
		p := query(c.q)
		if !slices.Equal(idsOf(p), c.want) {
			t.Errorf("%s: %v, want %v", c.name, idsOf(p), c.want)
		}
		if c.q.Limit == 0 && p.Total != len(c.want) {
			t.Errorf("%s: total %d, want %d", c.name, p.Total, len(c.want))
		}
	}
	if p := query(Query{Filter: Filter{Category: "plumbing", Limit: 5}}); p.Total != 22 || len(p.Tickets) != 5 {
		t.Errorf("plumbing: total %d of %d shown, want 22 and 5", p.Total, len(p.Tickets))
	}

	for _, q := range []Query{{Offset: -1}, {Filter: Filter{Limit: -1}}, {Search: strings.Repeat("x", MaxSearch+1)}, {Filter: Filter{Status: []string{"gone"}}}} {
		if _, err := s.Query(ctx, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", q, err)
		}
	}
}

// FuzzQuerySearch: whatever the search text, the query is answered (no
// SQL error) and finds a ticket whose title is that text.
func FuzzQuerySearch(f *testing.F) {
	for _, s := range []string{"tap", "100%", "a_b", `back\slash`, "it's", `"quoted"`, "?", "$1", "#12", "漏水", "--", "'; DROP TABLE tickets; --"} {
		f.Add(s)
	}
	ctx := context.Background()
	s, _ := openTemp(f, Config{}, newClock())
	f.Fuzz(func(t *testing.T, text string) {
		text = strings.TrimSpace(strings.ToValidUTF8(text, ""))
		// Skip text whose case does not round-trip (the databases fold case
		// their own way for such runes).
		low := strings.ToLower(text)
		if text == "" || len(text) > MaxSearch || strings.ContainsRune(text, 0) || low != strings.ToLower(strings.ToUpper(low)) {
			return
		}
		tk, _, err := s.Create(ctx, "fuzz", Manual{Title: text, Priority: "P3"})
		if err != nil {
			return // a title the store refuses (control characters)
		}
		p, err := s.Query(ctx, Query{Search: text})
		if err != nil {
			t.Fatalf("search %q: %v", text, err)
		}
		if !slices.ContainsFunc(p.Tickets, func(x Ticket) bool { return x.ID == tk.ID }) {
			t.Fatalf("search %q did not find the ticket titled so (%d found)", text, p.Total)
		}
	})
}
