package tickets

import (
	"context"
	"fmt"
	"time"
)

// Deadlines a ticket can miss, as recorded in sla_breaches.
const (
	BreachRespond  = "respond"
	BreachResolve  = "resolve"
	BreachFollowUp = "follow_up"
	// BreachOverdue is an inspection past its due date and grace, as the
	// inspections engine reports it (RecordInspectionOverdue).
	BreachOverdue = "overdue"
)

// overdue selects every missed deadline of a site (?2) not yet recorded: respond-by of
// tickets nobody has moved out of open, resolve-by of tickets still open,
// follow-up-by of resolved tickets without a follow-up check. A ticket
// on_hold misses no resolve-by: its clock is paused (see txn.unhold). An
// inspection ticket is late by its plan (due date and grace), which the
// inspections engine reports through RecordInspectionOverdue, not by the
// SLA of its priority.
const overdue = `
SELECT id, 'respond', respond_by FROM tickets t WHERE site = ?2 AND status = 'open' AND respond_by < ?1
	AND substr(key, 1, 11) != 'inspection:'
	AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'respond' AND b.deadline = t.respond_by)
UNION ALL
SELECT id, 'resolve', resolve_by FROM tickets t WHERE site = ?2 AND ` + openStatuses + ` AND status != 'on_hold' AND resolve_by < ?1
	AND substr(key, 1, 11) != 'inspection:'
	AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'resolve' AND b.deadline = t.resolve_by)
UNION ALL
SELECT id, 'follow_up', follow_up_by FROM tickets t WHERE site = ?2 AND status = 'resolved' AND follow_up_at IS NULL
	AND follow_up_by < ?1
	AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id AND b.kind = 'follow_up' AND b.deadline = t.follow_up_by)
ORDER BY 3, 1`

// Breach is one missed deadline that CheckSLA recorded.
type Breach struct {
	TicketID int64     `json:"ticket_id"`
	Kind     string    `json:"kind"` // respond, resolve or follow_up
	Deadline time.Time `json:"deadline"`
	// Priority is the ticket's priority after escalation.
	Priority string `json:"priority"`
}

// CheckSLA records every deadline of the store's site missed by now, once per deadline (a
// reopened ticket's new deadline can be missed again), and escalates each:
// a sla_breach event in the ticket's history, which goes to the
// escalation's receivers besides the usual ones, and with the raise policy
// the priority one step up. Run it periodically; it is idempotent.
func (s *Store) CheckSLA(ctx context.Context, now time.Time) ([]Breach, error) {
	now = now.UTC()
	var out []Breach
	err := s.inTxAt(ctx, now, func(x *txn) error {
		out = nil
		rows, err := x.query(overdue, stamp(now), x.site)
		if err != nil {
			return err
		}
		var found []Breach
		for rows.Next() {
			var b Breach
			var deadline string
			if err := rows.Scan(&b.TicketID, &b.Kind, &deadline); err != nil {
				rows.Close()
				return err
			}
			if b.Deadline, err = parseStamp(deadline); err != nil {
				rows.Close()
				return err
			}
			found = append(found, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, b := range found {
			t, err := x.load(b.TicketID)
			if err != nil {
				return err
			}
			if b.Priority, err = x.breach(&t, b.Kind, b.Deadline); err != nil {
				return fmt.Errorf("ticket %d: %w", t.ID, err)
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: check SLA: %w", err)
	}
	return out, nil
}

// breach records and escalates one missed deadline of t.
func (x *txn) breach(t *Ticket, kind string, deadline time.Time) (string, error) {
	if _, err := x.exec(`INSERT INTO sla_breaches (ticket_id, kind, deadline, at) VALUES (?, ?, ?, ?)`,
		t.ID, kind, stamp(deadline), stamp(x.now)); err != nil {
		return "", err
	}
	return x.escalate(t, fmt.Sprintf("%s-by %s missed by %s", map[string]string{BreachRespond: "respond",
		BreachResolve: "resolve", BreachFollowUp: "follow-up"}[kind],
		deadline.Format(time.RFC3339), x.now.Sub(deadline).Round(time.Second)))
}

// escalate records a breach of t described by detail as a sla_breach event
// for the escalation's receivers besides the usual ones, and raises the
// priority one step under the raise policy. It returns the priority.
func (x *txn) escalate(t *Ticket, detail string) (string, error) {
	if x.cfg.Escalation.Priority == EscalateRaise && t.Priority > "P1" {
		was := t.Priority
		t.Priority = fmt.Sprintf("P%c", t.Priority[1]-1)
		detail += fmt.Sprintf("; priority raised %s → %s", was, t.Priority)
	}
	if err := x.save(t); err != nil {
		return "", err
	}
	return t.Priority, x.event(t, systemActor, EventSLABreach, detail, x.cfg.Escalation.Notify...)
}
