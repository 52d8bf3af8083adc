package tickets

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// transitions is the ticket lifecycle for people: the statuses each status
// may move to. Resolved may go back to in_progress (the fix did not hold);
// closed and cancelled are final, except that an alert firing again within
// reopen_within of closing reopens a closed ticket.
var transitions = map[Status][]Status{
	StatusOpen:         {StatusAcknowledged, StatusInProgress, StatusOnHold, StatusResolved, StatusCancelled},
	StatusAcknowledged: {StatusInProgress, StatusOnHold, StatusResolved, StatusCancelled},
	StatusInProgress:   {StatusOnHold, StatusResolved, StatusCancelled},
	StatusOnHold:       {StatusInProgress, StatusCancelled},
	StatusResolved:     {StatusClosed, StatusInProgress},
	StatusClosed:       nil,
	StatusCancelled:    nil,
}

// statusOrder is the lifecycle order, for messages.
var statusOrder = []Status{StatusOpen, StatusAcknowledged, StatusInProgress, StatusOnHold,
	StatusResolved, StatusClosed, StatusCancelled}

// Allowed reports whether the lifecycle lets a ticket move from one status to
// another.
func Allowed(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

func statusNames() string {
	names := make([]string, len(statusOrder))
	for i, s := range statusOrder {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func allowedFrom(from Status) string {
	next := transitions[from]
	if len(next) == 0 {
		return "none, " + string(from) + " is final"
	}
	names := make([]string, len(next))
	for i, s := range next {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Transition moves ticket id to status to on behalf of actor, recording
// comment in its history. The first move out of open is the response of the
// SLA; resolving starts the follow-up clock; moving to acknowledged or
// in_progress assigns an unassigned ticket to actor; moving resolved back to
// in_progress reopens it, unless another ticket has taken its key meanwhile.
// Closing needs a recorded follow-up check when the follow_up policy is
// required. A move the lifecycle does not allow is ErrTransition.
func (s *Store) Transition(ctx context.Context, id int64, to Status, actor, comment string) (Ticket, error) {
	return s.Move(ctx, id, Move{To: to, Actor: actor, Comment: comment})
}

// Move is a Transition with its options.
type Move struct {
	To             Status
	Actor, Comment string
	// Force resolves, closes or cancels a ticket whose alert still fires,
	// which is otherwise ErrAlertFiring; it needs a comment saying why.
	// The fault keeps firing, so facilityd opens a new ticket for it (see
	// Change.StillFiring), unless it is silenced.
	Force bool
}

// Move moves ticket id as m says; see Transition. Resolving, closing or
// cancelling a ticket raised by an alert that still fires (the ticket has
// no alert_resolved time) is ErrAlertFiring unless m.Force: the fault is
// still there, and closing its ticket would leave it without one.
func (s *Store) Move(ctx context.Context, id int64, m Move) (Ticket, error) {
	to, actor, comment := m.To, m.Actor, m.Comment
	if m.Force && strings.TrimSpace(comment) == "" {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w: force needs a comment saying why", id, ErrInvalid)
	}
	if !to.Valid() {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w: status %q, want one of %s", id, ErrInvalid, to, statusNames())
	}
	if err := checkText("comment", comment, maxText); err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	return s.update(ctx, id, actor, func(x *txn, t *Ticket) error {
		if t.AlertFiring() && !to.IsOpen() && t.Status.IsOpen() && actor != systemActor {
			if !m.Force {
				return fmt.Errorf("%w: %s → %s: the alert that raised this ticket still fires since %s; "+
					"fix the fault first, silence the alert, or force with a comment", ErrAlertFiring, t.Status, to,
					t.LastSeen.Format(time.RFC3339))
			}
			comment = "forced while the alert still fires: " + comment
		}
		// Resolving or closing an open inspection ticket completes its
		// cycle: the checklist must be done, and the plan advances.
		if isInspectionKey(t.Key) && t.Status.IsOpen() && (to == StatusResolved || to == StatusClosed) {
			return x.completeTicket(t, actor, comment)
		}
		return x.move(t, to, actor, comment)
	})
}

// update runs change on ticket id in a transaction, on behalf of actor.
func (s *Store) update(ctx context.Context, id int64, actor string, change func(*txn, *Ticket) error) (Ticket, error) {
	if err := checkActor(actor); err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	var t Ticket
	err := s.inTx(ctx, func(x *txn) error {
		var err error
		if t, err = x.load(id); err != nil {
			return err
		}
		return change(x, &t)
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	return t, nil
}

// maxText bounds actor names, comments and titles from outside.
const maxText = 10_000

func checkActor(actor string) error {
	switch {
	case strings.TrimSpace(actor) == "":
		return fmt.Errorf("%w: empty actor", ErrInvalid)
	case len(actor) > 200:
		return fmt.Errorf("%w: actor longer than 200 bytes", ErrInvalid)
	}
	return nil
}

// move is Transition inside a transaction.
func (x *txn) move(t *Ticket, to Status, actor, comment string) error {
	from, now := t.Status, x.now
	if !Allowed(from, to) {
		return fmt.Errorf("%w: %s → %s (from %s: %s)", ErrTransition, from, to, from, allowedFrom(from))
	}
	if to == StatusClosed && x.cfg.FollowUp == FollowUpRequired && t.FollowUpResult != FollowUpOK {
		return fmt.Errorf("%w: %s → %s: record the follow-up check first (policy follow_up: required)",
			ErrTransition, from, to)
	}
	detail := string(from) + " → " + string(to)
	if from == StatusOnHold && to != StatusCancelled {
		if err := x.unhold(t, actor); err != nil {
			return err
		}
	}
	if to != StatusOnHold {
		t.HeldSince = time.Time{}
	}
	if to == StatusOnHold {
		t.HeldSince = now
	}
	switch {
	case to == StatusResolved:
		t.Status = to
		t.ResolvedAt = now
		t.FollowUpBy = now.Add(x.cfg.SLAFor(t.Priority).FollowUpWithin)
		t.FollowUpAt, t.FollowUpResult = time.Time{}, ""
	case from == StatusResolved && to == StatusInProgress:
		t.reopened(now, x.cfg.SLAFor(t.Priority))
	case to == StatusClosed:
		t.Status, t.ClosedAt = to, now
	default:
		t.Status = to
	}
	if from == StatusOpen && t.RespondedAt.IsZero() && actor != systemActor {
		t.RespondedAt = now
	}
	if (to == StatusAcknowledged || to == StatusInProgress) && t.Assignee == "" {
		t.Assignee = actor
		detail += "; assigned to " + actor
	}
	if comment != "" {
		detail += ": " + comment
	}
	if err := x.savepoint(func() error { return x.save(t) }); isUnique(err) {
		var other int64
		_ = x.queryRow(`SELECT id FROM tickets WHERE site = ? AND key = ? AND `+openStatuses, t.Site, t.Key).Scan(&other)
		return fmt.Errorf("%w: cannot reopen: ticket %d is already open for key %q", ErrTransition, other, t.Key)
	} else if err != nil {
		return err
	}
	if err := x.leftOpen(t, from); err != nil {
		return err
	}
	return x.event(t, actor, EventTransition, detail)
}

// unhold ends the pause of a ticket leaving on_hold: time waiting for parts
// or access does not count against the repair, so resolve-by moves later by
// the time held, recorded as a sla_paused event. (A cancelled ticket has no
// deadline left to move: move does not call it.)
func (x *txn) unhold(t *Ticket, actor string) error {
	since := t.HeldSince
	t.HeldSince = time.Time{}
	held := x.now.Sub(since)
	if since.IsZero() || held <= 0 || t.Status != StatusOnHold {
		return nil
	}
	was := t.ResolveBy
	t.ResolveBy = t.ResolveBy.Add(held)
	if err := x.save(t); err != nil {
		return err
	}
	return x.event(t, actor, EventSLAPaused, fmt.Sprintf("on hold for %s: resolve-by moved from %s to %s",
		held.Round(time.Second), was.Format(time.RFC3339), t.ResolveBy.Format(time.RFC3339)))
}
