package tickets

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// CategoryStats are the response and repair figures of one category (team
// or trade) over the tickets opened in a period; cancelled tickets do not
// count.
type CategoryStats struct {
	Category string
	Tickets  int
	// Responded and Resolved count the tickets behind MTTA and MTTR.
	Responded, Resolved int
	// MTTA is the mean time from opening to the first response, MTTR to
	// the (last) resolution.
	MTTA, MTTR time.Duration
	// Breaches counts missed deadlines by kind (respond, resolve,
	// follow_up, and overdue for inspections).
	Breaches map[string]int
}

// MarshalJSON writes durations as seconds.
func (c CategoryStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Category    string         `json:"category"`
		Tickets     int            `json:"tickets"`
		Responded   int            `json:"responded"`
		Resolved    int            `json:"resolved"`
		MTTASeconds float64        `json:"mtta_seconds"`
		MTTRSeconds float64        `json:"mttr_seconds"`
		Breaches    map[string]int `json:"breaches"`
	}{c.Category, c.Tickets, c.Responded, c.Resolved, c.MTTA.Seconds(), c.MTTR.Seconds(), c.Breaches})
}

// Stats returns the figures per category, by name, of the store's site's tickets created in
// [from, to), and the same over all of them under category "*".
func (s *Store) Stats(ctx context.Context, from, to time.Time) ([]CategoryStats, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT category, created_at, COALESCE(responded_at, ''), COALESCE(resolved_at, ''),
		(SELECT COUNT(*) FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'respond'),
		(SELECT COUNT(*) FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'resolve'),
		(SELECT COUNT(*) FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'follow_up'),
		(SELECT COUNT(*) FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'overdue')
		FROM tickets t WHERE site = ? AND created_at >= ? AND created_at < ? AND status != 'cancelled'`),
		s.site, stamp(from), stamp(to))
	if err != nil {
		return nil, fmt.Errorf("tickets: stats: %w", err)
	}
	defer rows.Close()
	type sums struct {
		CategoryStats
		ack, fix time.Duration
	}
	by := map[string]*sums{}
	all := &sums{CategoryStats: CategoryStats{Category: "*", Breaches: map[string]int{}}}
	for rows.Next() {
		var cat, created, responded, resolved string
		var br [4]int
		if err := rows.Scan(&cat, &created, &responded, &resolved, &br[0], &br[1], &br[2], &br[3]); err != nil {
			return nil, fmt.Errorf("tickets: stats: %w", err)
		}
		c := by[cat]
		if c == nil {
			c = &sums{CategoryStats: CategoryStats{Category: cat, Breaches: map[string]int{}}}
			by[cat] = c
		}
		t0, err := parseStamp(created)
		if err != nil {
			return nil, fmt.Errorf("tickets: stats: %w", err)
		}
		ack, acked, err := since(t0, responded)
		if err != nil {
			return nil, fmt.Errorf("tickets: stats: %w", err)
		}
		fix, fixed, err := since(t0, resolved)
		if err != nil {
			return nil, fmt.Errorf("tickets: stats: %w", err)
		}
		for _, c := range []*sums{c, all} {
			c.Tickets++
			for i, k := range []string{BreachRespond, BreachResolve, BreachFollowUp, BreachOverdue} {
				c.Breaches[k] += br[i]
			}
			if acked {
				c.Responded++
				c.ack += ack
			}
			if fixed {
				c.Resolved++
				c.fix += fix
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: stats: %w", err)
	}
	out := []CategoryStats{}
	for _, c := range append(slices.Collect(maps.Values(by)), all) {
		if c.Responded > 0 {
			c.MTTA = c.ack / time.Duration(c.Responded)
		}
		if c.Resolved > 0 {
			c.MTTR = c.fix / time.Duration(c.Resolved)
		}
		out = append(out, c.CategoryStats)
	}
	slices.SortFunc(out[:len(out)-1], func(a, b CategoryStats) int { return cmp.Compare(a.Category, b.Category) })
	return out, nil
}

// since returns the time from t0 to the stored time at, if at is set.
func since(t0 time.Time, at string) (time.Duration, bool, error) {
	if at == "" {
		return 0, false, nil
	}
	t1, err := parseStamp(at)
	return t1.Sub(t0), err == nil, err
}
