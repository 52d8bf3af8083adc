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
}

// migrate brings the schema up to date. Each step reads the version inside
// its own write transaction, so two processes opening a new file at once
// apply every migration exactly once.
func migrate(ctx context.Context, db *sql.DB, now string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateOne(ctx, db, now)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration and reports whether none
// was left.
func migrateOne(ctx context.Context, db *sql.DB, now string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // a no-op once committed
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
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", next, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		next, now); err != nil {
		return false, fmt.Errorf("migration %d: record: %w", next, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", next, err)
	}
	return false, nil
}
