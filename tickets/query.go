package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// selectTicket lists the columns in the order scanTicket reads them.
const selectTicket = `SELECT ` + ticketColumns + ` FROM tickets`

// ticketColumns are the columns of a ticket in the order scanTicket reads them.
const ticketColumns = `id, key, title, description, device, location, category, priority, status,
	source, assignee, occurrences, first_seen, last_seen, created_at, updated_at, respond_by, resolve_by,
	follow_up_by, alert_resolved_at, resolved_at, responded_at, follow_up_at, closed_at, follow_up_result, held_since,
	COALESCE(related_id, 0)`

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// scanTicket reads one row of selectTicket; no row is ErrNotFound.
func scanTicket(r scanner) (Ticket, error) {
	var t Ticket
	var times [6]string
	var optional [7]sql.NullString
	err := r.Scan(&t.ID, &t.Key, &t.Title, &t.Description, &t.Device, &t.Location, &t.Category,
		&t.Priority, &t.Status, &t.Source, &t.Assignee, &t.Occurrences,
		&times[0], &times[1], &times[2], &times[3], &times[4], &times[5],
		&optional[0], &optional[1], &optional[2], &optional[3], &optional[4], &optional[5], &t.FollowUpResult, &optional[6],
		&t.Related)
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, err
	}
	dst := []*time.Time{&t.FirstSeen, &t.LastSeen, &t.CreatedAt, &t.UpdatedAt, &t.RespondBy, &t.ResolveBy}
	for i, s := range times {
		if *dst[i], err = parseStamp(s); err != nil {
			return Ticket{}, fmt.Errorf("ticket %d: %w", t.ID, err)
		}
	}
	for i, dst := range []*time.Time{&t.FollowUpBy, &t.AlertResolvedAt, &t.ResolvedAt, &t.RespondedAt,
		&t.FollowUpAt, &t.ClosedAt, &t.HeldSince} {
		if !optional[i].Valid {
			continue
		}
		if *dst, err = parseStamp(optional[i].String); err != nil {
			return Ticket{}, fmt.Errorf("ticket %d: %w", t.ID, err)
		}
	}
	return t, nil
}

func parseStamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// List returns the tickets f selects, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Ticket, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		for _, st := range f.Status {
			if !Status(st).Valid() {
				return nil, fmt.Errorf("tickets: list: %w: status %q, want one of %s", ErrInvalid, st, statusNames())
			}
			args = append(args, st)
		}
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Status)-1)+")")
	}
	for col, v := range map[string]string{"device": f.Device, "category": f.Category, "priority": f.Priority,
		"assignee": f.Assignee, "source": f.Source} {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	if f.OpenOnly {
		where = append(where, openStatuses)
	}
	q := selectTicket
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("tickets: list: %w", err)
	}
	defer rows.Close()
	ts := []Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("tickets: list: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: list: %w", err)
	}
	return ts, nil
}

// Get returns ticket id and its history, oldest event first.
func (s *Store) Get(ctx context.Context, id int64) (Ticket, []Event, error) {
	// A read transaction, so the ticket and its events agree.
	tx, err := s.readTx(ctx)
	if err != nil {
		return Ticket{}, nil, fmt.Errorf("tickets: get %d: %w", id, err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	t, err := scanTicket(tx.QueryRowContext(ctx, s.dialect.rebind(selectTicket+" WHERE id = ?"), id))
	if err != nil {
		return Ticket{}, nil, fmt.Errorf("tickets: get %d: %w", id, err)
	}
	evs, err := events(ctx, tx, s.dialect, id)
	if err != nil {
		return Ticket{}, nil, fmt.Errorf("tickets: get %d: events: %w", id, err)
	}
	return t, evs, nil
}

func events(ctx context.Context, tx *sql.Tx, d dialect, id int64) ([]Event, error) {
	rows, err := tx.QueryContext(ctx, d.rebind(`SELECT id, ticket_id, at, actor, kind, detail FROM events
		WHERE ticket_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	evs := []Event{}
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&e.ID, &e.TicketID, &at, &e.Actor, &e.Kind, &e.Detail); err != nil {
			return nil, err
		}
		if e.At, err = parseStamp(at); err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// OpenKeys returns the keys of the open tickets raised from source, each
// with whether the ticket believes its alert still fires (no alert_resolved
// time): what the daemon compares with its alerts to find a firing alert
// without a ticket, or a ticket whose alert cleared unnoticed.
func (s *Store) OpenKeys(ctx context.Context, source string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT key, alert_resolved_at IS NULL FROM tickets WHERE source = ? AND `+openStatuses), source)
	if err != nil {
		return nil, fmt.Errorf("tickets: open keys: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var key string
		var firing bool
		if err := rows.Scan(&key, &firing); err != nil {
			return nil, fmt.Errorf("tickets: open keys: %w", err)
		}
		out[key] = firing
	}
	return out, rows.Err()
}
