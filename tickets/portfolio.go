package tickets

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The figures of a portfolio across the sites that share one database. Each
// reads every site's rows, whatever the store's own site is; a site appears
// once it has a ticket or an inspection state.

// SiteOpen is the open tickets of one site (see Status.IsOpen).
type SiteOpen struct {
	Site string `json:"site"`
	// ByPriority counts them by priority, P1 to P4 always present.
	ByPriority map[string]int `json:"by_priority"`
	Total      int            `json:"total"`
	// Oldest is when the oldest of them was created (zero: none open).
	Oldest time.Time `json:"oldest,omitzero"`
}

// OpenBySite returns the open tickets of every site, by site name.
func (s *Store) OpenBySite(ctx context.Context) ([]SiteOpen, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site, priority, COUNT(*), MIN(created_at) FROM tickets
		WHERE `+openStatuses+` GROUP BY site, priority`)
	if err != nil {
		return nil, fmt.Errorf("tickets: open by site: %w", err)
	}
	defer rows.Close()
	by := map[string]*SiteOpen{}
	for rows.Next() {
		var site, prio, oldest string
		var n int
		if err := rows.Scan(&site, &prio, &n, &oldest); err != nil {
			return nil, fmt.Errorf("tickets: open by site: %w", err)
		}
		o := siteEntry(by, site, func() *SiteOpen { return newSiteOpen(site) })
		o.ByPriority[prio] += n
		o.Total += n
		at, err := parseStamp(oldest)
		if err != nil {
			return nil, fmt.Errorf("tickets: open by site: %w", err)
		}
		if o.Oldest.IsZero() || at.Before(o.Oldest) {
			o.Oldest = at
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: open by site: %w", err)
	}
	sites, err := s.Sites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SiteOpen, 0, len(sites))
	for _, site := range sites {
		out = append(out, *siteEntry(by, site, func() *SiteOpen { return newSiteOpen(site) }))
	}
	return out, nil
}

func newSiteOpen(site string) *SiteOpen {
	return &SiteOpen{Site: site, ByPriority: map[string]int{"P1": 0, "P2": 0, "P3": 0, "P4": 0}}
}

// siteEntry returns by[site], made by mk when missing.
func siteEntry[T any](by map[string]*T, site string, mk func() *T) *T {
	v := by[site]
	if v == nil {
		v = mk()
		by[site] = v
	}
	return v
}

// SiteSLA is how one site's tickets created in a window kept their SLA.
// Inspection tickets are not counted: they are late by their plan (see
// SiteInspections). A deadline is met when the response (resolution) came
// by it and no breach of it was recorded; breached when a breach was
// recorded, the response came later, or none came and the deadline has
// passed; pending otherwise (neither count has it). A cancelled ticket
// counts for neither.
type SiteSLA struct {
	Site string `json:"site"`
	// Tickets were created in the window, not cancelled, not inspections.
	Tickets         int `json:"tickets"`
	RespondMet      int `json:"respond_met"`
	RespondBreached int `json:"respond_breached"`
	ResolveMet      int `json:"resolve_met"`
	ResolveBreached int `json:"resolve_breached"`
}

// RespondCompliance is the share of decided response deadlines that were
// met, from 0 to 1; ok is false when none is decided yet.
func (c SiteSLA) RespondCompliance() (share float64, ok bool) {
	return ratio(c.RespondMet, c.RespondBreached)
}

// ResolveCompliance is RespondCompliance for the resolution deadlines.
func (c SiteSLA) ResolveCompliance() (share float64, ok bool) {
	return ratio(c.ResolveMet, c.ResolveBreached)
}

func ratio(met, breached int) (float64, bool) {
	if met+breached == 0 {
		return 0, false
	}
	return float64(met) / float64(met+breached), true
}

// slaBySite decides each deadline of the tickets created in [?1, ?2) as of
// ?3: 1 met, 2 breached, 0 pending. A ticket closed without being resolved
// was resolved when closed. Stored times have a fixed width in UTC, so
// they compare as text. A ticket on hold misses no resolve-by.
const slaBySite = `SELECT site,
	CASE WHEN EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'respond')
		OR responded_at > respond_by OR (responded_at IS NULL AND respond_by < ?3) THEN 2
		WHEN responded_at IS NOT NULL THEN 1 ELSE 0 END,
	CASE WHEN EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'resolve')
		OR COALESCE(resolved_at, closed_at) > resolve_by
		OR (COALESCE(resolved_at, closed_at) IS NULL AND status != 'on_hold' AND resolve_by < ?3) THEN 2
		WHEN COALESCE(resolved_at, closed_at) IS NOT NULL THEN 1 ELSE 0 END
	FROM tickets t WHERE created_at >= ?1 AND created_at < ?2 AND status != 'cancelled' AND source != 'inspection'`

// SLABySite returns, by site name, how the tickets created in [from, to)
// kept their response and resolution deadlines, as of the store's clock.
// Every site is listed, with zeros when it created none in the window.
func (s *Store) SLABySite(ctx context.Context, from, to time.Time) ([]SiteSLA, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(slaBySite), stamp(from), stamp(to), stamp(s.now()))
	if err != nil {
		return nil, fmt.Errorf("tickets: SLA by site: %w", err)
	}
	defer rows.Close()
	by := map[string]*SiteSLA{}
	for rows.Next() {
		var site string
		var respond, resolve int
		if err := rows.Scan(&site, &respond, &resolve); err != nil {
			return nil, fmt.Errorf("tickets: SLA by site: %w", err)
		}
		c := siteEntry(by, site, func() *SiteSLA { return &SiteSLA{Site: site} })
		c.Tickets++
		switch respond {
		case 1:
			c.RespondMet++
		case 2:
			c.RespondBreached++
		}
		switch resolve {
		case 1:
			c.ResolveMet++
		case 2:
			c.ResolveBreached++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: SLA by site: %w", err)
	}
	sites, err := s.Sites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SiteSLA, 0, len(sites))
	for _, site := range sites {
		out = append(out, *siteEntry(by, site, func() *SiteSLA { return &SiteSLA{Site: site} }))
	}
	return out, nil
}

// SiteInspections is where one site's inspections stand, by the statuses
// its daemon's inspections engine last stored (every minute while it runs:
// UpdatedAt says how fresh they are).
type SiteInspections struct {
	Site string `json:"site"`
	// Plans counts plan × device pairs; the others count them by status.
	Plans   int `json:"plans"`
	DueSoon int `json:"due_soon"`
	Due     int `json:"due"`
	Overdue int `json:"overdue"`
	// OpenTickets counts the pairs with an open inspection ticket.
	OpenTickets int `json:"open_tickets"`
	// UpdatedAt is the latest write of any of the site's states.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// InspectionsBySite returns the inspections of every site, by site name.
func (s *Store) InspectionsBySite(ctx context.Context) ([]SiteInspections, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site, COUNT(*),
		COUNT(*) FILTER (WHERE status = 'due_soon'), COUNT(*) FILTER (WHERE status = 'due'),
		COUNT(*) FILTER (WHERE status = 'overdue'), COUNT(ticket_id), MAX(updated_at)
		FROM inspection_state GROUP BY site`)
	if err != nil {
		return nil, fmt.Errorf("tickets: inspections by site: %w", err)
	}
	defer rows.Close()
	by := map[string]*SiteInspections{}
	for rows.Next() {
		var c SiteInspections
		var updated string
		if err := rows.Scan(&c.Site, &c.Plans, &c.DueSoon, &c.Due, &c.Overdue, &c.OpenTickets, &updated); err != nil {
			return nil, fmt.Errorf("tickets: inspections by site: %w", err)
		}
		var err error
		if c.UpdatedAt, err = parseStamp(updated); err != nil {
			return nil, fmt.Errorf("tickets: inspections by site: %w", err)
		}
		by[c.Site] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: inspections by site: %w", err)
	}
	sites, err := s.Sites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SiteInspections, 0, len(sites))
	for _, site := range sites {
		out = append(out, *siteEntry(by, site, func() *SiteInspections { return &SiteInspections{Site: site} }))
	}
	return out, nil
}

// Sites returns the name of every site with a ticket or an inspection
// state in the database, sorted.
func (s *Store) Sites(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT site FROM tickets UNION SELECT DISTINCT site FROM inspection_state`)
	if err != nil {
		return nil, fmt.Errorf("tickets: sites: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, fmt.Errorf("tickets: sites: %w", err)
		}
		out = append(out, site)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: sites: %w", err)
	}
	slices.Sort(out)
	return out, nil
}
