package tickets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoMigrateRefusesOldSchema: a store of Config.NoMigrate (the
// portfolio's) refuses a database of schema 6 with an error that says
// what to do, and leaves it at 6 with its ticket's site as it was (a
// migration would have given it the opener's); it refuses a database no
// daemon has opened, and does not create a missing SQLite file; it opens
// one at the current schema and reads it.
func TestNoMigrateRefusesOldSchema(t *testing.T) { backends(t, testNoMigrateRefusesOldSchema) }

func testNoMigrateRefusesOldSchema(t *testing.T) {
	ctx := context.Background()
	path, db := atVersion(t, 6)
	const at = "'2026-03-02T08:00:00.000000000Z'"
	if _, err := db.Exec(`INSERT INTO tickets (key, title, priority, status, source, first_seen, last_seen, created_at, updated_at,
		respond_by, resolve_by) VALUES ('rule:pump-1', 'Pump 1 tripped', 'P2', 'open', 'manual', ` + at + `, ` + at + `, ` + at + `, ` + at + `, ` + at + `, ` + at + `)`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, path, Config{NoMigrate: true}, nil)
	if !errors.Is(err, ErrSchemaBehind) || !strings.Contains(err.Error(), "ticket database at schema 6") ||
		!strings.Contains(err.Error(), "start a site's daemon (it migrates) first") {
		t.Fatalf("open of schema 6: %v, want it refused: at schema 6, start a site's daemon", err)
	}
	var version int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != 6 {
		t.Fatalf("schema after the refused open: %d %v, want 6", version, err)
	}
	if _, err := db.Exec(`SELECT site FROM tickets`); err == nil {
		t.Fatal("the tickets have a site: migration 7 ran")
	}

	// A database no daemon has opened.
	empty := tempDatabase(t)
	if _, err := Open(ctx, empty, Config{NoMigrate: true}, nil); !errors.Is(err, ErrSchemaBehind) {
		t.Fatalf("open of an empty database: %v, want ErrSchemaBehind", err)
	}
	if !onPostgres(t) {
		if _, err := os.Stat(empty); !os.IsNotExist(err) {
			t.Errorf("the refused open created %s: %v", empty, err)
		}
		missing := filepath.Join(t.TempDir(), "none", "tickets.db")
		if _, err := Open(ctx, missing, Config{NoMigrate: true}, nil); !errors.Is(err, ErrSchemaBehind) || !strings.Contains(err.Error(), "no ticket database") {
			t.Fatalf("open of a missing file: %v", err)
		}
	}

	// Migrated by a site's daemon, it opens and reads.
	north := openAt(t, path, Config{Site: "north"}, newClock())
	north.Close()
	ro, err := Open(ctx, path, Config{NoMigrate: true}, nil)
	if err != nil {
		t.Fatalf("open at the current schema: %v", err)
	}
	defer ro.Close()
	open, err := ro.OpenBySite(ctx)
	if err != nil || len(open) != 1 || open[0].Site != "north" {
		t.Fatalf("open by site: %+v %v, want north's ticket", open, err)
	}
}
