package portfolio

import (
	"context"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// SLAWindow is the span of ticket creation the SLA figures cover: the
// tickets created in the last 30 days.
const SLAWindow = 30 * 24 * time.Hour

// storeTickets reads the figures from the shared ticket store.
type storeTickets struct{ st *tickets.Store }

var _ Tickets = storeTickets{}

// StoreTickets is the Tickets of st: open tickets and inspections by site
// as they stand, SLA compliance over the tickets created in the last
// SLAWindow as of st's clock.
func StoreTickets(st *tickets.Store) Tickets { return storeTickets{st} }

// SiteTickets implements Tickets.
func (s storeTickets) SiteTickets(ctx context.Context, _ []string, now time.Time) ([]SiteTickets, error) {
	open, err := s.st.OpenBySite(ctx)
	if err != nil {
		return nil, err
	}
	sla, err := s.st.SLABySite(ctx, now.Add(-SLAWindow), now)
	if err != nil {
		return nil, err
	}
	ins, err := s.st.InspectionsBySite(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]*SiteTickets{}
	var order []string
	get := func(site string) *SiteTickets {
		c := by[site]
		if c == nil {
			c = &SiteTickets{Site: site, Open: map[string]int{}}
			by[site] = c
			order = append(order, site)
		}
		return c
	}
	for _, o := range open {
		c := get(o.Site)
		for p, n := range o.ByPriority {
			c.Open[p] += n
		}
	}
	for _, x := range sla {
		c := get(x.Site)
		c.ResponseMet, c.ResponseDue = x.RespondMet, x.RespondMet+x.RespondBreached
		c.ResolutionMet, c.ResolutionDue = x.ResolveMet, x.ResolveMet+x.ResolveBreached
	}
	for _, x := range ins {
		get(x.Site).InspectionsOverdue = x.Overdue
	}
	out := make([]SiteTickets, 0, len(order))
	for _, site := range order {
		out = append(out, *by[site])
	}
	return out, nil
}
