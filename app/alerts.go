package app

import (
	"context"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/tickets"
)

// handle turns alert transitions into ticket changes.
func (a *app) handle(ctx context.Context, engine *rules.Engine, ts []rules.Transition) {
	for _, t := range ts {
		al := t.Alert
		a.log.Info("alert", "rule", al.Rule, "device", al.Device, "from", t.From.String(), "to", t.To.String(), "severity", al.Severity)
		switch {
		case t.To == rules.Firing && al.Ticket != nil:
			tk, created, err := a.tickets.Raise(ctx, ticketFor(al, t.At))
			if err != nil {
				a.log.Error("ticket not raised", "rule", al.Rule, "device", al.Device, "err", err)
				continue
			}
			a.log.Info("ticket", "id", tk.ID, "created", created, "occurrences", tk.Occurrences)
		case t.Resolved() && al.Ticket != nil:
			if err := a.tickets.AlertResolved(ctx, al.Fingerprint, t.At); err != nil {
				a.log.Error("ticket not updated", "rule", al.Rule, "device", al.Device, "err", err)
			}
		}
	}
	if len(ts) > 0 {
		alerts := engine.Alerts()
		a.mu.Lock()
		a.alerts = alerts
		a.mu.Unlock()
	}
}

func ticketFor(al rules.Alert, at time.Time) tickets.Alert {
	title := al.Annotations["summary"]
	if title == "" {
		title = al.Rule
	}
	desc := al.Annotations["description"]
	if desc == "" {
		desc = fmt.Sprintf("Rule %s fired on %s (%s) at %s.", al.Rule, al.Device, al.Severity, at.Format(time.RFC3339))
	}
	return tickets.Alert{
		Key:         al.Fingerprint,
		Title:       fmt.Sprintf("%s: %s", al.Device, title),
		Description: desc,
		Device:      al.Device,
		Location:    al.Location,
		Category:    al.Ticket.Category,
		Priority:    al.Ticket.Priority,
		Source:      "rule",
		At:          at,
	}
}
