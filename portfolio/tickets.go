package portfolio

import (
	"context"
	"time"
)

// Tickets is what the portfolio reads of the shared ticket database.
type Tickets interface {
	// SiteTickets returns the figures of each of sites at now; a site
	// with no ticket may be left out.
	SiteTickets(ctx context.Context, sites []string, now time.Time) ([]SiteTickets, error)
}

// SiteTickets are one site's ticket figures.
type SiteTickets struct {
	Site string
	// Open counts the open tickets by priority.
	Open map[string]int
	// ResponseDue tickets had a response deadline by now, ResponseMet of
	// them were responded to by it; the same for resolution.
	ResponseDue, ResponseMet     int
	ResolutionDue, ResolutionMet int
	// InspectionsOverdue counts inspections past due and grace.
	InspectionsOverdue int
}

func (c SiteTickets) view() TicketsView {
	t := TicketsView{Open: map[string]int{}, InspectionsOverdue: c.InspectionsOverdue,
		Response:   SLAFigure{Due: c.ResponseDue, Met: c.ResponseMet, Pct: percent(c.ResponseMet, c.ResponseDue)},
		Resolution: SLAFigure{Due: c.ResolutionDue, Met: c.ResolutionMet, Pct: percent(c.ResolutionMet, c.ResolutionDue)}}
	for p, n := range c.Open {
		t.Open[p] = n
		t.OpenTotal += n
	}
	return t
}

// Priorities are the ticket priorities, most urgent first, as the page
// lists them.
var Priorities = []string{"P1", "P2", "P3", "P4"}
