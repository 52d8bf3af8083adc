package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// selectTicket lists the columns in the order scanTicket reads them.
const selectTicket = `SELECT ` + ticketColumns + ` FROM tickets`

// ticketColumns are the columns of a ticket in the order scanTicket reads them.
const ticketColumns = `id, site, key, title, description, device, location, category, priority, status,
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
	err := r.Scan(&t.ID, &t.Site, &t.Key, &t.Title, &t.Description, &t.Device, &t.Location, &t.Category,
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
	where, args, err := filterWhere(f, s.site)
	if err != nil {
		return nil, fmt.Errorf("tickets: list: %w", err)
	}
	q := selectTicket + where + " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	ts, err := listRows(ctx, s.db, s.dialect, q, args)
	if err != nil {
		return nil, fmt.Errorf("tickets: list: %w", err)
	}
	return ts, nil
}

// Query selects a page of the queue: Filter's conditions and a text
// search, newest first, from Offset on, at most Limit tickets (all when
// zero). The count of all that match comes with the page, read in the same
// transaction.
type Query struct {
	Filter
	// Search keeps the tickets whose title, description, key, device,
	// location, category or assignee contains it, in any case; a number
	// (12 or #12) also finds that ticket.
	Search string
	// Offset skips that many of the tickets that match.
	Offset int
}

// Page is one page of a Query and how many tickets match in all.
type Page struct {
	Tickets []Ticket `json:"tickets"`
	Total   int      `json:"total"`
}

// MaxSearch is the longest search text Query takes, in bytes.
const MaxSearch = 200

// searchColumns are what Query.Search looks in.
var searchColumns = []string{"title", "description", "key", "device", "location", "category", "assignee"}

// Query returns the page of tickets q selects and the count of all that
// match it.
func (s *Store) Query(ctx context.Context, q Query) (Page, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return Page{}, fmt.Errorf("tickets: query: %w: offset %d, limit %d: want 0 or more", ErrInvalid, q.Offset, q.Limit)
	}
	if len(q.Search) > MaxSearch {
		return Page{}, fmt.Errorf("tickets: query: %w: search of %d bytes, at most %d", ErrInvalid, len(q.Search), MaxSearch)
	}
	where, args, err := filterWhere(q.Filter, s.site)
	if err != nil {
		return Page{}, fmt.Errorf("tickets: query: %w", err)
	}
	if text := strings.TrimSpace(q.Search); text != "" {
		// LOWER on both sides: PostgreSQL's LIKE minds case, SQLite's
		// does not (for ASCII); the wildcards of the text are escaped.
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text)) + "%"
		var or []string
		for _, col := range searchColumns {
			or = append(or, "LOWER("+col+") LIKE ? ESCAPE '\\'")
			args = append(args, like)
		}
		if id, err := strconv.ParseInt(strings.TrimPrefix(text, "#"), 10, 64); err == nil && id > 0 {
			or = append(or, "id = ?")
			args = append(args, id)
		}
		cond := "(" + strings.Join(or, " OR ") + ")"
		if where == "" {
			where = " WHERE " + cond
		} else {
			where += " AND " + cond
		}
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return Page{}, fmt.Errorf("tickets: query: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	var p Page
	if err := tx.QueryRowContext(ctx, s.dialect.rebind("SELECT COUNT(*) FROM tickets"+where), args...).Scan(&p.Total); err != nil {
		return Page{}, fmt.Errorf("tickets: query: count: %w", err)
	}
	sel := selectTicket + where + " ORDER BY created_at DESC, id DESC"
	switch {
	case q.Limit > 0:
		sel += " LIMIT ?"
		args = append(args, q.Limit)
	case q.Offset > 0:
		sel += " LIMIT ?" // both databases want a limit before an offset
		args = append(args, math.MaxInt32)
	}
	if q.Offset > 0 {
		sel += " OFFSET ?"
		args = append(args, q.Offset)
	}
	if p.Tickets, err = listRows(ctx, tx, s.dialect, sel, args); err != nil {
		return Page{}, fmt.Errorf("tickets: query: %w", err)
	}
	return p, nil
}

// filterWhere is the WHERE clause (with its leading space, or "") and
// arguments of f's conditions, for a store of site.
func filterWhere(f Filter, site string) (string, []any, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		for _, st := range f.Status {
			if !Status(st).Valid() {
				return "", nil, fmt.Errorf("%w: status %q, want one of %s", ErrInvalid, st, statusNames())
			}
			args = append(args, st)
		}
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Status)-1)+")")
	}
	// In a fixed order, so that the same filter is the same statement.
	switch f.Site {
	case AllSites:
	case "":
		where, args = append(where, "site = ?"), append(args, site)
	default:
		where, args = append(where, "site = ?"), append(args, f.Site)
	}
	for _, c := range []struct{ col, v string }{{"device", f.Device}, {"category", f.Category}, {"priority", f.Priority},
		{"assignee", f.Assignee}, {"source", f.Source}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if f.OpenOnly {
		where = append(where, openStatuses)
	}
	if len(where) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(where, " AND "), args, nil
}

// querier is what *sql.DB and *sql.Tx have in common for reading rows.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listRows reads the tickets of a selectTicket statement.
func listRows(ctx context.Context, db querier, d dialect, q string, args []any) ([]Ticket, error) {
	rows, err := db.QueryContext(ctx, d.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ts := []Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
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

// OpenKeys returns the keys of the store's site's open tickets raised from source, each
// with whether the ticket believes its alert still fires (no alert_resolved
// time): what the daemon compares with its alerts to find a firing alert
// without a ticket, or a ticket whose alert cleared unnoticed.
func (s *Store) OpenKeys(ctx context.Context, source string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT key, alert_resolved_at IS NULL FROM tickets
		WHERE site = ? AND source = ? AND `+openStatuses), s.site, source)
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
