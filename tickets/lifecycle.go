package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// transitions is the ticket lifecycle: the statuses each status may move to.
// Resolved may go back to in_progress (reopen); closed and cancelled are
// final.
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
// comment in its history. Resolving starts the follow-up clock; moving to
// acknowledged or in_progress assigns an unassigned ticket to actor; moving
// resolved back to in_progress reopens it, unless another ticket has taken
// its key meanwhile. A move the lifecycle does not allow is ErrTransition.
func (s *Store) Transition(ctx context.Context, id int64, to Status, actor, comment string) (Ticket, error) {
	if !to.Valid() {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w: status %q, want one of %s", id, ErrInvalid, to, statusNames())
	}
	if strings.TrimSpace(actor) == "" {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w: empty actor", id, ErrInvalid)
	}
	now := s.now().UTC()
	var t Ticket
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = scanTicket(tx.QueryRowContext(ctx, selectTicket+" WHERE id = ?", id)); err != nil {
			return err
		}
		from := t.Status
		if !Allowed(from, to) {
			return fmt.Errorf("%w: %s → %s (from %s: %s)", ErrTransition, from, to, from, allowedFrom(from))
		}
		t.Status, t.UpdatedAt = to, now
		switch {
		case to == StatusResolved:
			t.ResolvedAt = now
			t.FollowUpBy = now.Add(s.cfg.SLAFor(t.Priority).FollowUpWithin)
		case from == StatusResolved && to == StatusInProgress:
			// Reopened: the fix did not hold, so the follow-up is moot.
			t.ResolvedAt, t.FollowUpBy = time.Time{}, time.Time{}
		}
		detail := string(from) + " → " + string(to)
		if (to == StatusAcknowledged || to == StatusInProgress) && t.Assignee == "" {
			t.Assignee = actor
			detail += "; assigned to " + actor
		}
		if comment != "" {
			detail += ": " + comment
		}
		_, err = tx.ExecContext(ctx, `UPDATE tickets SET status = ?, assignee = ?, updated_at = ?,
			resolved_at = ?, follow_up_by = ? WHERE id = ?`,
			t.Status, t.Assignee, stamp(now), nullStamp(t.ResolvedAt), nullStamp(t.FollowUpBy), id)
		if isUnique(err) {
			var other int64
			_ = tx.QueryRowContext(ctx, `SELECT id FROM tickets WHERE key = ?
				AND status NOT IN ('resolved','closed','cancelled')`, t.Key).Scan(&other)
			return fmt.Errorf("%w: cannot reopen: ticket %d is already open for key %q", ErrTransition, other, t.Key)
		}
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, id, now, actor, EventTransition, detail)
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	return t, nil
}

// isUnique reports whether err is a violated UNIQUE constraint.
func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
