package tickets

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each once, each in its own transaction;
// the database records the count in schema_migrations. Append only: never
// edit a migration that has shipped.
var migrations = []string{
	// 1: tickets and their history.
	`CREATE TABLE tickets (
		id                INTEGER PRIMARY KEY,
		key               TEXT NOT NULL,
		title             TEXT NOT NULL,
		description       TEXT NOT NULL DEFAULT '',
		device            TEXT NOT NULL DEFAULT '',
		location          TEXT NOT NULL DEFAULT '',
		category          TEXT NOT NULL DEFAULT '',
		priority          TEXT NOT NULL CHECK (priority IN ('P1','P2','P3','P4')),
		status            TEXT NOT NULL CHECK (status IN
			('open','acknowledged','in_progress','on_hold','resolved','closed','cancelled')),
		source            TEXT NOT NULL CHECK (source IN ('rule','inspection','energy','manual')),
		assignee          TEXT NOT NULL DEFAULT '',
		occurrences       INTEGER NOT NULL DEFAULT 1,
		first_seen        TEXT NOT NULL,
		last_seen         TEXT NOT NULL,
		created_at        TEXT NOT NULL,
		updated_at        TEXT NOT NULL,
		respond_by        TEXT NOT NULL,
		resolve_by        TEXT NOT NULL,
		follow_up_by      TEXT,
		alert_resolved_at TEXT,
		resolved_at       TEXT
	);
	-- At most one open ticket per alert key, whatever the number of writers.
	CREATE UNIQUE INDEX tickets_open_key ON tickets (key)
		WHERE status NOT IN ('resolved','closed','cancelled');
	CREATE INDEX tickets_key ON tickets (key, id);
	CREATE INDEX tickets_created ON tickets (created_at, id);
	CREATE INDEX tickets_device ON tickets (device);
	CREATE TABLE events (
		id        INTEGER PRIMARY KEY,
		ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
		at        TEXT NOT NULL,
		actor     TEXT NOT NULL,
		kind      TEXT NOT NULL,
		detail    TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_ticket ON events (ticket_id, id);`,

	// 2: follow-up, response and close times; SLA breaches; the outbox.
	`ALTER TABLE tickets ADD COLUMN responded_at TEXT;
	ALTER TABLE tickets ADD COLUMN follow_up_at TEXT;
	ALTER TABLE tickets ADD COLUMN follow_up_result TEXT NOT NULL DEFAULT '';
	ALTER TABLE tickets ADD COLUMN closed_at TEXT;
	-- Best guesses for tickets of version 1: the first move out of open,
	-- and the last change of a closed ticket.
	UPDATE tickets SET responded_at = (SELECT MIN(at) FROM events
		WHERE events.ticket_id = tickets.id AND kind = 'transition') WHERE status != 'open';
	UPDATE tickets SET closed_at = updated_at WHERE status = 'closed';
	CREATE INDEX tickets_status ON tickets (status);
	-- One row per breached deadline: a breach is recorded once, and a new
	-- deadline (after a reopen) may be breached again.
	CREATE TABLE sla_breaches (
		ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
		kind      TEXT NOT NULL CHECK (kind IN ('respond','resolve','follow_up')),
		deadline  TEXT NOT NULL,
		at        TEXT NOT NULL,
		PRIMARY KEY (ticket_id, kind, deadline)
	);
	-- Notifications, written in the transaction of the change they report;
	-- each receiver gets its rows in id order.
	CREATE TABLE outbox (
		id           INTEGER PRIMARY KEY,
		event_id     INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
		receiver     TEXT NOT NULL,
		payload      TEXT NOT NULL,
		created_at   TEXT NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		next_attempt TEXT NOT NULL,
		last_error   TEXT NOT NULL DEFAULT '',
		delivered_at TEXT,
		dropped_at   TEXT,
		UNIQUE (event_id, receiver)
	);
	CREATE INDEX outbox_pending ON outbox (receiver, id) WHERE delivered_at IS NULL AND dropped_at IS NULL;
	CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
	-- instance makes idempotency keys unique beyond this file.
	CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	INSERT INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(6))));`,

	// 3: on_hold pauses the resolve-by clock; held_since is when the
	// ticket went on hold (NULL otherwise). Tickets already on hold start
	// their pause now: their history has the real start, but a guess
	// that moved deadlines later would be worse than a short pause.
	`ALTER TABLE tickets ADD COLUMN held_since TEXT;
	UPDATE tickets SET held_since = updated_at WHERE status = 'on_hold';`,

	// 4: the ids of alert transitions applied, so that a durable queue
	// that retries after a crash applies each exactly once; rows older
	// than a retention are pruned.
	`CREATE TABLE applied_changes (
		id         TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	);
	CREATE INDEX applied_changes_at ON applied_changes (applied_at);`,

	// 5: preventive-maintenance inspections. inspection_state is where
	// each plan stands on each device (version counts its writes);
	// inspection_records is the regulator's history, which nothing may
	// change or delete; checklist_items are the lines of an inspection
	// ticket with their answers; related_id links a corrective ticket to
	// the inspection ticket whose item failed. sla_breaches gains the
	// kind overdue (an inspection past its grace), which takes rebuilding
	// the table for its CHECK.
	`ALTER TABLE tickets ADD COLUMN related_id INTEGER REFERENCES tickets (id);
	CREATE INDEX tickets_related ON tickets (related_id) WHERE related_id IS NOT NULL;
	CREATE TABLE inspection_state (
		plan          TEXT NOT NULL,
		device        TEXT NOT NULL,
		status        TEXT NOT NULL CHECK (status IN ('ok','due_soon','due','overdue','skipped')),
		last_done     TEXT,
		last_counters TEXT NOT NULL DEFAULT '{}',
		anchor        TEXT,
		next_due      TEXT,
		next_counters TEXT NOT NULL DEFAULT '{}',
		estimated     TEXT,
		due_by        TEXT NOT NULL DEFAULT '',
		ticket_id     INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
		version       INTEGER NOT NULL,
		updated_at    TEXT NOT NULL,
		PRIMARY KEY (plan, device)
	);
	CREATE INDEX inspection_state_device ON inspection_state (device, plan);
	CREATE INDEX inspection_state_ticket ON inspection_state (ticket_id) WHERE ticket_id IS NOT NULL;
	CREATE TABLE inspection_records (
		id        INTEGER PRIMARY KEY,
		plan      TEXT NOT NULL,
		device    TEXT NOT NULL,
		kind      TEXT NOT NULL CHECK (kind IN ('done','skipped','rebased','opened')),
		at        TEXT NOT NULL,
		actor     TEXT NOT NULL,
		note      TEXT NOT NULL DEFAULT '',
		due_at    TEXT,
		on_time   INTEGER NOT NULL DEFAULT 0,
		counters  TEXT NOT NULL DEFAULT '{}',
		ticket_id INTEGER,
		via       TEXT NOT NULL DEFAULT '',
		checklist TEXT NOT NULL DEFAULT '[]'
	);
	CREATE INDEX inspection_records_at ON inspection_records (at, id);
	CREATE INDEX inspection_records_subject ON inspection_records (device, plan, at);
	CREATE INDEX inspection_records_ticket ON inspection_records (ticket_id) WHERE ticket_id IS NOT NULL;
	CREATE TRIGGER inspection_records_no_update BEFORE UPDATE ON inspection_records
		BEGIN SELECT RAISE(ABORT, 'inspection records are never changed'); END;
	CREATE TRIGGER inspection_records_no_delete BEFORE DELETE ON inspection_records
		BEGIN SELECT RAISE(ABORT, 'inspection records are never deleted'); END;
	CREATE TABLE checklist_items (
		ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
		idx         INTEGER NOT NULL,
		text        TEXT NOT NULL,
		required    INTEGER NOT NULL DEFAULT 0,
		evidence    TEXT NOT NULL CHECK (evidence IN ('reading','yes_no','text')),
		unit        TEXT NOT NULL DEFAULT '',
		min         REAL,
		max         REAL,
		priority    TEXT NOT NULL DEFAULT '',
		answer      TEXT NOT NULL DEFAULT '',
		value       REAL,
		failed      INTEGER NOT NULL DEFAULT 0,
		note        TEXT NOT NULL DEFAULT '',
		answered_by TEXT NOT NULL DEFAULT '',
		answered_at TEXT,
		corrective  INTEGER REFERENCES tickets (id),
		PRIMARY KEY (ticket_id, idx)
	);
	CREATE TABLE sla_breaches_5 (
		ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
		kind      TEXT NOT NULL CHECK (kind IN ('respond','resolve','follow_up','overdue')),
		deadline  TEXT NOT NULL,
		at        TEXT NOT NULL,
		PRIMARY KEY (ticket_id, kind, deadline)
	);
	INSERT INTO sla_breaches_5 (ticket_id, kind, deadline, at) SELECT ticket_id, kind, deadline, at FROM sla_breaches;
	DROP TABLE sla_breaches;
	ALTER TABLE sla_breaches_5 RENAME TO sla_breaches;`,

	// 6: the outbox carries report deliveries too (kind report): they
	// belong to no ticket event, so event_id may be NULL, and report_key
	// (the archived report) queues each report once per receiver. Taking
	// NOT NULL off a column means rebuilding the table on SQLite; the rows
	// are copied in id order without their ids (so that PostgreSQL's
	// identity goes on after them): each receiver keeps its order.
	`CREATE TABLE outbox_6 (
		id           INTEGER PRIMARY KEY,
		event_id     INTEGER REFERENCES events (id) ON DELETE CASCADE,
		receiver     TEXT NOT NULL,
		payload      TEXT NOT NULL,
		created_at   TEXT NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		next_attempt TEXT NOT NULL,
		last_error   TEXT NOT NULL DEFAULT '',
		delivered_at TEXT,
		dropped_at   TEXT,
		kind         TEXT NOT NULL DEFAULT 'ticket' CHECK (kind IN ('ticket','report')),
		report_key   TEXT,
		CHECK ((kind = 'ticket' AND event_id IS NOT NULL) OR (kind = 'report' AND report_key IS NOT NULL)),
		UNIQUE (event_id, receiver),
		UNIQUE (report_key, receiver)
	);
	INSERT INTO outbox_6 (event_id, receiver, payload, created_at, attempts, next_attempt, last_error, delivered_at, dropped_at)
		SELECT event_id, receiver, payload, created_at, attempts, next_attempt, last_error, delivered_at, dropped_at
		FROM outbox ORDER BY id;
	DROP TABLE outbox;
	ALTER TABLE outbox_6 RENAME TO outbox;
	CREATE INDEX outbox_pending ON outbox (receiver, id) WHERE delivered_at IS NULL AND dropped_at IS NULL;
	CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;`,

	// 7: the site. The daemons of many sites share one PostgreSQL, and
	// two of them may have the same device ids and rules: tickets,
	// inspection states and records and outbox rows are a site's, and a
	// key is unique among one site's open tickets. The rows of version 6
	// become the site of the process that migrates (Config.Site), which
	// migrateOne puts in meta as migration_site for this step only: a
	// version-6 database was one site's, or sites shared its tickets
	// anyway. inspection_state gains site in its key and the outbox in its
	// report uniqueness, which takes rebuilding both tables (the outbox
	// as in migration 6, its rows in id order); an inspection record can
	// be given its site only with the trigger that refuses updates out of
	// the way for the moment.
	`ALTER TABLE tickets ADD COLUMN site TEXT NOT NULL DEFAULT '';
	UPDATE tickets SET site = (SELECT value FROM meta WHERE key = 'migration_site');
	DROP INDEX tickets_open_key;
	CREATE UNIQUE INDEX tickets_open_key ON tickets (site, key)
		WHERE status NOT IN ('resolved','closed','cancelled');
	DROP INDEX tickets_key;
	CREATE INDEX tickets_key ON tickets (site, key, id);
	CREATE INDEX tickets_site_created ON tickets (site, created_at, id);
	CREATE TABLE inspection_state_7 (
		site          TEXT NOT NULL,
		plan          TEXT NOT NULL,
		device        TEXT NOT NULL,
		status        TEXT NOT NULL CHECK (status IN ('ok','due_soon','due','overdue','skipped')),
		last_done     TEXT,
		last_counters TEXT NOT NULL DEFAULT '{}',
		anchor        TEXT,
		next_due      TEXT,
		next_counters TEXT NOT NULL DEFAULT '{}',
		estimated     TEXT,
		due_by        TEXT NOT NULL DEFAULT '',
		ticket_id     INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
		version       INTEGER NOT NULL,
		updated_at    TEXT NOT NULL,
		PRIMARY KEY (site, plan, device)
	);
	INSERT INTO inspection_state_7 (site, plan, device, status, last_done, last_counters, anchor, next_due,
		next_counters, estimated, due_by, ticket_id, version, updated_at)
		SELECT (SELECT value FROM meta WHERE key = 'migration_site'), plan, device, status, last_done, last_counters,
		anchor, next_due, next_counters, estimated, due_by, ticket_id, version, updated_at FROM inspection_state;
	DROP TABLE inspection_state;
	ALTER TABLE inspection_state_7 RENAME TO inspection_state;
	CREATE INDEX inspection_state_device ON inspection_state (site, device, plan);
	CREATE INDEX inspection_state_ticket ON inspection_state (ticket_id) WHERE ticket_id IS NOT NULL;
	ALTER TABLE inspection_records ADD COLUMN site TEXT NOT NULL DEFAULT '';
	DROP TRIGGER inspection_records_no_update;
	UPDATE inspection_records SET site = (SELECT value FROM meta WHERE key = 'migration_site');
	CREATE TRIGGER inspection_records_no_update BEFORE UPDATE ON inspection_records
		BEGIN SELECT RAISE(ABORT, 'inspection records are never changed'); END;
	DROP INDEX inspection_records_subject;
	CREATE INDEX inspection_records_subject ON inspection_records (site, device, plan, at);
	CREATE TABLE outbox_7 (
		id           INTEGER PRIMARY KEY,
		site         TEXT NOT NULL,
		event_id     INTEGER REFERENCES events (id) ON DELETE CASCADE,
		receiver     TEXT NOT NULL,
		payload      TEXT NOT NULL,
		created_at   TEXT NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		next_attempt TEXT NOT NULL,
		last_error   TEXT NOT NULL DEFAULT '',
		delivered_at TEXT,
		dropped_at   TEXT,
		kind         TEXT NOT NULL DEFAULT 'ticket' CHECK (kind IN ('ticket','report')),
		report_key   TEXT,
		CHECK ((kind = 'ticket' AND event_id IS NOT NULL) OR (kind = 'report' AND report_key IS NOT NULL)),
		UNIQUE (event_id, receiver),
		UNIQUE (site, report_key, receiver)
	);
	INSERT INTO outbox_7 (site, event_id, receiver, payload, created_at, attempts, next_attempt, last_error,
		delivered_at, dropped_at, kind, report_key)
		SELECT (SELECT value FROM meta WHERE key = 'migration_site'), event_id, receiver, payload, created_at, attempts,
		next_attempt, last_error, delivered_at, dropped_at, kind, report_key FROM outbox ORDER BY id;
	DROP TABLE outbox;
	ALTER TABLE outbox_7 RENAME TO outbox;
	CREATE INDEX outbox_pending ON outbox (site, receiver, id) WHERE delivered_at IS NULL AND dropped_at IS NULL;
	CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
	DELETE FROM meta WHERE key = 'migration_site';`,
}

// siteMigrations are the migrations that read the migrating process's site
// from meta (key migration_site), which migrateOne writes in their
// transaction.
var siteMigrations = map[int]bool{7: true}

// migrate brings the schema up to date. Each step reads the version inside
// its own write transaction, so two processes opening a new file at once
// apply every migration exactly once.
func migrate(ctx context.Context, db *sql.DB, d dialect, now, site string) error {
	// In a write transaction taken at BEGIN: a plain statement starts as a
	// reader and, in WAL mode, fails at once with SQLITE_BUSY when another
	// process wrote meanwhile, without waiting for busy_timeout.
	tx, err := db.BeginTx(ctx, nil)
	if err == nil {
		err = d.lockMigrations(ctx, tx)
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at TEXT NOT NULL
		)`)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
	}
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateOne(ctx, db, d, now, site)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration and reports whether none
// was left. site is the one rows of an older schema get, where a step
// gives rows a site.
func migrateOne(ctx context.Context, db *sql.DB, d dialect, now, site string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // a no-op once committed
	// On PostgreSQL, reading the version and applying the next step are
	// not atomic by themselves: the advisory lock makes them so.
	if err := d.lockMigrations(ctx, tx); err != nil {
		return false, fmt.Errorf("lock migrations: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case version > len(migrations):
		return false, fmt.Errorf("database schema version %d is newer than this facilityd knows (%d): upgrade facilityd",
			version, len(migrations))
	case version == len(migrations):
		return true, nil
	}
	next := version + 1
	step, err := d.migration(next)
	if err != nil {
		return false, err
	}
	if siteMigrations[next] {
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO meta (key, value) VALUES ('migration_site', ?)`), site); err != nil {
			return false, fmt.Errorf("migration %d: site: %w", next, err)
		}
	}
	if _, err := tx.ExecContext(ctx, step); err != nil {
		return false, fmt.Errorf("migration %d: %w", next, err)
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		next, now); err != nil {
		return false, fmt.Errorf("migration %d: record: %w", next, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", next, err)
	}
	return false, nil
}
