package tickets

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// enqueue queues the notification of ev for every receiver that wants it
// and for extra receivers, in the transaction that recorded ev: the change
// and its notifications commit together or not at all.
func (x *txn) enqueue(ev Event, t *Ticket, extra []string) error {
	var to []string
	for i := range x.cfg.Receivers {
		r := &x.cfg.Receivers[i]
		if r.wants(ev.Kind, t) || slices.Contains(extra, r.Name) {
			to = append(to, r.Name)
		}
	}
	if len(to) == 0 {
		return nil
	}
	payload, err := json.Marshal(Notification{ID: fmt.Sprintf("%s-%d", x.s.instance, ev.ID), Event: ev, Ticket: *t})
	if err != nil {
		return err
	}
	for _, r := range to {
		if _, err := x.exec(`INSERT INTO outbox (site, event_id, receiver, payload, created_at, next_attempt)
			VALUES (?, ?, ?, ?, ?, ?)`, x.s.site, ev.ID, r, string(payload), stamp(x.now), stamp(x.now)); err != nil {
			return err
		}
	}
	x.queued = true
	return nil
}

// entry is one queued notification for one receiver.
type entry struct {
	id          int64
	receiver    string
	n           Notification
	attempts    int
	created     time.Time
	nextAttempt time.Time
	// reportKey is the key a report delivery was queued under (kind
	// report), for the log; empty for a ticket's notification.
	reportKey string
	// claim, on PostgreSQL, holds the entry's row locked while it is
	// sent; recording the outcome ends it.
	claim *claim
}

// claim is the transaction of a claimed entry; once ended, recording goes
// on outside it.
type claim struct {
	tx    *sql.Tx
	ended bool
}

const entryColumns = `id, payload, attempts, created_at, next_attempt, COALESCE(report_key, '')`

// nextEntry returns the oldest undelivered notification of receiver, if
// any. On PostgreSQL the entry is claimed (see claimEntry) and the caller
// must record its outcome or release it.
func (s *Store) nextEntry(ctx context.Context, receiver string) (entry, bool, error) {
	if s.dialect == dialectPostgres {
		return s.claimEntry(ctx, receiver)
	}
	st, err := s.prepare(ctx, `SELECT `+entryColumns+` FROM outbox
		WHERE site = ? AND receiver = ? AND delivered_at IS NULL AND dropped_at IS NULL ORDER BY id LIMIT 1`)
	if err != nil {
		return entry{}, false, err
	}
	return scanEntry(st.QueryRowContext(ctx, s.site, receiver), receiver)
}

// claimEntry returns the oldest undelivered notification of receiver with
// its row locked in a transaction, so that the dispatchers of other
// daemons on the same database skip it (FOR UPDATE SKIP LOCKED) until its
// outcome is recorded. Only the oldest is ever claimed, to keep each
// receiver's notifications in order: while another dispatcher sends it,
// there is none to claim. A daemon that dies while sending loses its lock
// with its connection, and the entry goes out again with the same ID.
func (s *Store) claimEntry(ctx context.Context, receiver string) (entry, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return entry{}, false, err
	}
	var head int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM outbox
		WHERE site = $1 AND receiver = $2 AND delivered_at IS NULL AND dropped_at IS NULL ORDER BY id LIMIT 1`,
		s.site, receiver).Scan(&head)
	if err == nil {
		var e entry
		var ok bool
		e, ok, err = scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM outbox
			WHERE id = $1 AND delivered_at IS NULL AND dropped_at IS NULL FOR UPDATE SKIP LOCKED`, head), receiver)
		if err == nil && ok {
			e.claim = &claim{tx: tx}
			return e, true, nil
		}
	}
	tx.Rollback()
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return entry{}, false, err
}

func scanEntry(r scanner, receiver string) (entry, bool, error) {
	e := entry{receiver: receiver}
	var payload, created, next string
	err := r.Scan(&e.id, &payload, &e.attempts, &created, &next, &e.reportKey)
	if errors.Is(err, sql.ErrNoRows) {
		return entry{}, false, nil
	}
	if err != nil {
		return entry{}, false, err
	}
	if e.created, err = parseStamp(created); err != nil {
		return entry{}, false, err
	}
	if e.nextAttempt, err = parseStamp(next); err != nil {
		return entry{}, false, err
	}
	if err := json.Unmarshal([]byte(payload), &e.n); err != nil {
		return entry{}, false, fmt.Errorf("outbox entry %d: %w", e.id, err)
	}
	return e, true, nil
}

// outboxExec runs one statement on an outbox entry outside any ticket
// transaction.
func (s *Store) outboxExec(ctx context.Context, q string, args ...any) error {
	st, err := s.prepare(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// entryExec records the outcome of e by q, and ends its claim.
func (s *Store) entryExec(ctx context.Context, e entry, q string, args ...any) error {
	if e.claim == nil || e.claim.ended {
		return s.outboxExec(ctx, q, args...)
	}
	e.claim.ended = true
	if _, err := e.claim.tx.ExecContext(ctx, s.dialect.rebind(q), args...); err != nil {
		e.claim.tx.Rollback()
		return err
	}
	return e.claim.tx.Commit()
}

// release gives up the claim of e without recording anything: another
// dispatcher may take it.
func (s *Store) release(e entry) {
	if e.claim != nil && !e.claim.ended {
		e.claim.ended = true
		e.claim.tx.Rollback()
	}
}

func (s *Store) markDelivered(ctx context.Context, e entry, at time.Time) error {
	return s.entryExec(ctx, e, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?`, stamp(at), e.id)
}

func (s *Store) markRetry(ctx context.Context, e entry, next time.Time, msg string) error {
	return s.entryExec(ctx, e, `UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`,
		stamp(next), msg, e.id)
}

func (s *Store) markDropped(ctx context.Context, e entry, at time.Time, msg string) error {
	return s.entryExec(ctx, e, `UPDATE outbox SET attempts = attempts + 1, dropped_at = ?, last_error = ? WHERE id = ?`,
		stamp(at), msg, e.id)
}

// pruneOutbox deletes notifications delivered before cutoff.
func (s *Store) pruneOutbox(ctx context.Context, cutoff time.Time) error {
	return s.outboxExec(ctx, `DELETE FROM outbox WHERE delivered_at < ?`, stamp(cutoff))
}

// OutboxState is the outbox of one receiver.
type OutboxState struct {
	Receiver  string `json:"receiver"`
	Pending   int    `json:"pending"`
	Delivered int    `json:"delivered"`
	Dropped   int    `json:"dropped"`
	// Oldest is when the oldest pending notification was queued.
	Oldest    time.Time `json:"oldest,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Outbox reports the outbox of every receiver of the store's site that
// has rows, by name.
func (s *Store) Outbox(ctx context.Context) ([]OutboxState, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT receiver,
		COUNT(*) FILTER (WHERE delivered_at IS NULL AND dropped_at IS NULL),
		COUNT(delivered_at), COUNT(dropped_at),
		COALESCE(MIN(created_at) FILTER (WHERE delivered_at IS NULL AND dropped_at IS NULL), ''),
		COALESCE((SELECT last_error FROM outbox o2 WHERE o2.site = outbox.site AND o2.receiver = outbox.receiver
			AND last_error != '' ORDER BY id DESC LIMIT 1), '')
		FROM outbox WHERE site = ? GROUP BY site, receiver ORDER BY receiver`), s.site)
	if err != nil {
		return nil, fmt.Errorf("tickets: outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxState
	for rows.Next() {
		var o OutboxState
		var oldest string
		if err := rows.Scan(&o.Receiver, &o.Pending, &o.Delivered, &o.Dropped, &oldest, &o.LastError); err != nil {
			return nil, fmt.Errorf("tickets: outbox: %w", err)
		}
		if oldest != "" {
			if o.Oldest, err = parseStamp(oldest); err != nil {
				return nil, fmt.Errorf("tickets: outbox: %w", err)
			}
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ReportNotice is a generated report as its delivery carries it: the
// email notifier attaches the files, the webhook and MQTT ones send their
// links.
type ReportNotice struct {
	// Name is the schedule's (the reports: entry), Kind the report's.
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Period      string       `json:"period"`
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	Lang        string       `json:"lang"`
	Building    string       `json:"building,omitempty"`
	Category    string       `json:"category,omitempty"`
	GeneratedAt time.Time    `json:"generated_at"`
	Files       []ReportFile `json:"files"`
}

// ReportFile is one archived file of a report.
type ReportFile struct {
	Format string `json:"format"`
	// Name is the file's name in the archive; Path where the daemon keeps
	// it (for the email attachment: never sent to a webhook).
	Name string `json:"name"`
	Path string `json:"path,omitempty"`
	Size int64  `json:"size"`
	// URL is the link to the archived file in the API.
	URL string `json:"url"`
}

// EnqueueReport queues the delivery of report n to each of receivers, once
// per receiver for key (the archived report's name): a second call with the
// same key queues nothing more, so a scheduler that runs again after a
// crash does not send twice. It returns how many deliveries it queued. The
// rows are delivered by the dispatcher like ticket notifications, in order
// with them, retried through an outage and after a restart.
func (s *Store) EnqueueReport(ctx context.Context, key string, receivers []string, n ReportNotice) (int, error) {
	if key == "" {
		return 0, fmt.Errorf("%w: a report delivery needs a key", ErrInvalid)
	}
	queued := 0
	err := s.inTx(ctx, func(x *txn) error {
		queued = 0
		// The site is in the id: on a shared database, the sites' reports
		// of one period have the same key and one instance.
		payload, err := json.Marshal(Notification{ID: fmt.Sprintf("%s-report-%s-%s", x.s.instance, x.s.site, key), Report: &n})
		if err != nil {
			return err
		}
		for _, r := range receivers {
			res, err := x.exec(`INSERT INTO outbox (site, kind, report_key, receiver, payload, created_at, next_attempt)
				VALUES (?, 'report', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, x.s.site, key, r, string(payload), stamp(x.now), stamp(x.now))
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				queued++
				x.queued = true
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tickets: queue report %s: %w", key, err)
	}
	return queued, nil
}
