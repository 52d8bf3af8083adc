package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// systemActor is the actor of the events facilityd records by itself.
const systemActor = "facilityd"

// Store is the ticket database. It is safe for concurrent use, and several
// processes (the daemon and the operator CLI) may open the same file.
type Store struct {
	db  *sql.DB
	cfg Config
	now func() time.Time
}

// Open opens or creates the SQLite file at path and brings its schema up to
// date. now is the clock for created/updated times and SLA deadlines; nil
// means time.Now.
func Open(ctx context.Context, path string, cfg Config, now func() time.Time) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("tickets: open: %w: empty database path", ErrInvalid)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("tickets: open %s: %w: path must not contain '?'", path, ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	// Every connection gets the same pragmas. _txlock=immediate takes the
	// write lock at BEGIN, so a read-then-write transaction (Raise) never
	// fails to upgrade its lock under contention; busy_timeout makes writers
	// wait for each other instead of failing. synchronous=NORMAL is durable
	// enough in WAL mode: a power cut loses at most the last commits, and an
	// alert that is still firing raises its ticket again.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("tickets: open %s: %w", path, err)
	}
	s := &Store{db: db, cfg: cfg, now: now}
	if err := migrate(ctx, db, stamp(now())); err != nil {
		db.Close()
		return nil, fmt.Errorf("tickets: open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Raise records that alert a fired. If a ticket for a.Key is open it gains an
// occurrence (created is false); otherwise a resolved ticket within the
// reopen cool-down is reopened, or a new ticket is opened (created is true).
// All of it happens in one transaction, so repeats, restarts and concurrent
// callers never open a second ticket for one key. Each call is a write
// transaction (about 0.3 ms): call it when an alert fires, not per sample.
func (s *Store) Raise(ctx context.Context, a Alert) (t Ticket, created bool, err error) {
	if err := checkAlert(a); err != nil {
		return Ticket{}, false, err
	}
	now := s.now().UTC()
	at := a.At.UTC()
	if a.At.IsZero() {
		at = now
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		t, err = scanTicket(tx.QueryRowContext(ctx, selectTicket+
			` WHERE key = ? AND status NOT IN ('resolved','closed','cancelled')`, a.Key))
		switch {
		case err == nil:
			return s.addOccurrence(ctx, tx, &t, at, now)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if ok, err := s.reopen(ctx, tx, &t, a.Key, at, now); ok || err != nil {
			return err
		}
		created = true
		t, err = s.insert(ctx, tx, a, at, now)
		return err
	})
	if err != nil {
		return Ticket{}, false, fmt.Errorf("tickets: raise %q: %w", a.Key, err)
	}
	return t, created, nil
}

func checkAlert(a Alert) error {
	switch {
	case a.Key == "":
		return fmt.Errorf("tickets: raise: %w: empty alert key", ErrInvalid)
	case a.Title == "":
		return fmt.Errorf("tickets: raise %q: %w: empty title", a.Key, ErrInvalid)
	case !validPriority(a.Priority):
		return fmt.Errorf("tickets: raise %q: %w: priority %q, want P1, P2, P3 or P4", a.Key, ErrInvalid, a.Priority)
	case !validSource(a.Source):
		return fmt.Errorf("tickets: raise %q: %w: source %q, want rule, inspection, energy or manual",
			a.Key, ErrInvalid, a.Source)
	}
	return nil
}

func (s *Store) addOccurrence(ctx context.Context, tx *sql.Tx, t *Ticket, at, now time.Time) error {
	t.Occurrences++
	t.LastSeen = later(t.LastSeen, at)
	t.UpdatedAt = now
	t.AlertResolvedAt = time.Time{} // firing again
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET occurrences = ?, last_seen = ?, updated_at = ?,
		alert_resolved_at = NULL WHERE id = ?`, t.Occurrences, stamp(t.LastSeen), stamp(now), t.ID); err != nil {
		return err
	}
	return addEvent(ctx, tx, t.ID, now, systemActor, EventOccurrence,
		fmt.Sprintf("occurrence %d at %s", t.Occurrences, at.Format(time.RFC3339)))
}

// reopen moves the newest ticket of key back to in_progress if it was
// resolved (not yet closed) within the cool-down.
func (s *Store) reopen(ctx context.Context, tx *sql.Tx, t *Ticket, key string, at, now time.Time) (bool, error) {
	if s.cfg.ReopenWithin <= 0 {
		return false, nil
	}
	last, err := scanTicket(tx.QueryRowContext(ctx, selectTicket+` WHERE key = ? ORDER BY id DESC LIMIT 1`, key))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil || last.Status != StatusResolved || at.Sub(last.ResolvedAt) > s.cfg.ReopenWithin {
		return false, err
	}
	*t = last
	t.Status, t.ResolvedAt, t.FollowUpBy, t.AlertResolvedAt = StatusInProgress, time.Time{}, time.Time{}, time.Time{}
	t.Occurrences++
	t.LastSeen = later(t.LastSeen, at)
	t.UpdatedAt = now
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = ?, resolved_at = NULL, follow_up_by = NULL,
		alert_resolved_at = NULL, occurrences = ?, last_seen = ?, updated_at = ? WHERE id = ?`,
		t.Status, t.Occurrences, stamp(t.LastSeen), stamp(now), t.ID); err != nil {
		return false, err
	}
	return true, addEvent(ctx, tx, t.ID, now, systemActor, EventReopened,
		fmt.Sprintf("alert fired again at %s, within %s of resolution", at.Format(time.RFC3339), s.cfg.ReopenWithin))
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, a Alert, at, now time.Time) (Ticket, error) {
	sla := s.cfg.SLAFor(a.Priority)
	t := Ticket{
		Key: a.Key, Title: a.Title, Description: a.Description, Device: a.Device,
		Location: a.Location, Category: a.Category, Priority: a.Priority, Source: a.Source,
		Status: StatusOpen, Occurrences: 1, FirstSeen: at, LastSeen: at,
		CreatedAt: now, UpdatedAt: now,
		RespondBy: now.Add(sla.RespondWithin), ResolveBy: now.Add(sla.ResolveWithin),
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO tickets (key, title, description, device, location, category,
		priority, status, source, occurrences, first_seen, last_seen, created_at, updated_at, respond_by, resolve_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Key, t.Title, t.Description, t.Device, t.Location, t.Category, t.Priority, t.Status, t.Source,
		t.Occurrences, stamp(at), stamp(at), stamp(now), stamp(now), stamp(t.RespondBy), stamp(t.ResolveBy),
	).Scan(&t.ID)
	if err != nil {
		return Ticket{}, err
	}
	return t, addEvent(ctx, tx, t.ID, now, systemActor, EventCreated,
		fmt.Sprintf("opened %s from %s; alert fired at %s", t.Priority, t.Source, at.Format(time.RFC3339)))
}

// AlertResolved records on the open ticket of key that its alert cleared at
// at. The ticket stays open: people close tickets. No open ticket for key is
// not an error, since people may have closed it already.
func (s *Store) AlertResolved(ctx context.Context, key string, at time.Time) error {
	now := s.now().UTC()
	if at.IsZero() {
		at = now
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE tickets SET alert_resolved_at = ?, updated_at = ?
			WHERE key = ? AND status NOT IN ('resolved','closed','cancelled') RETURNING id`,
			stamp(at), stamp(now), key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, id, now, systemActor, EventAlertResolved,
			"alert cleared at "+at.UTC().Format(time.RFC3339))
	})
	if err != nil {
		return fmt.Errorf("tickets: alert resolved %q: %w", key, err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op once committed
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func addEvent(ctx context.Context, tx *sql.Tx, id int64, at time.Time, actor string, kind EventKind, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (ticket_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)`,
		id, stamp(at), actor, kind, detail)
	return err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// timeLayout has a fixed width, so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// stamp formats t for the database, in UTC.
func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullStamp is stamp with the zero time as NULL.
func nullStamp(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: stamp(t), Valid: true}
}
