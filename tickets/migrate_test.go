package tickets

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMigrationsIdempotent(t *testing.T) { backends(t, testMigrationsIdempotent) }

func testMigrationsIdempotent(t *testing.T) {
	c := newClock()
	s, path := openTemp(t, Config{}, c)
	raise(t, s, alert("1"))
	s2 := openAt(t, path, Config{}, c)
	var n, version int
	if err := s2.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || version != len(migrations) {
		t.Fatalf("schema_migrations: %d rows, version %d; want %d", n, version, len(migrations))
	}
	if ts := list(t, s2, Filter{}); len(ts) != 1 {
		t.Fatalf("%d tickets after reopening, want 1", len(ts))
	}
	// The partial unique index is what holds the line for writers that
	// bypass Raise: a second open ticket for a key must not fit.
	_, err := s2.db.Exec(`INSERT INTO tickets (site, key, title, priority, status, source, first_seen, last_seen,
		created_at, updated_at, respond_by, resolve_by) SELECT site, key, title, priority, 'acknowledged', source,
		first_seen, last_seen, created_at, updated_at, respond_by, resolve_by FROM tickets`)
	if !isUnique(err) {
		t.Fatalf("second open ticket for one key: err %v, want a UNIQUE violation", err)
	}
	// The key is a site's: another site's open ticket for it fits.
	if _, err := s2.db.Exec(`INSERT INTO tickets (site, key, title, priority, status, source, first_seen, last_seen,
		created_at, updated_at, respond_by, resolve_by) SELECT 'elsewhere', key, title, priority, 'acknowledged', source,
		first_seen, last_seen, created_at, updated_at, respond_by, resolve_by FROM tickets`); err != nil {
		t.Fatalf("another site's open ticket for the key: %v", err)
	}
	if _, err := s2.db.Exec(s.dialect.rebind(`INSERT INTO schema_migrations VALUES (?, '')`), len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), path, Config{}, c.Now); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a newer schema: err %v, want one saying it is newer", err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tickets.db")
	cfg := Config{SLA: map[string]SLA{"P9": {}, "P1": {RespondWithin: 5 * time.Hour}}}
	_, err := Open(context.Background(), path, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `"P9"`) || !strings.Contains(err.Error(), "sla P1: resolve_within") {
		t.Fatalf("err %v, want both problems named", err)
	}
}

func TestOpenConcurrentlyMigratesOnce(t *testing.T) { backends(t, testOpenConcurrentlyMigratesOnce) }

func testOpenConcurrentlyMigratesOnce(t *testing.T) {
	path := tempDatabase(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), path, Config{}, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var n int
	if err := stores[0].db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) {
		t.Fatalf("%d migrations recorded, want %d", n, len(migrations))
	}
}

// TestMigrateFromVersion1 upgrades a database written by the first schema:
// tickets keep their data and gain the best guesses of the new columns.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tickets.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	const at, acked = "2026-03-02T08:00:00.000000000Z", "2026-03-02T08:20:00.000000000Z"
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`,
		migrations[0],
		`INSERT INTO schema_migrations VALUES (1, '` + at + `')`,
		`INSERT INTO tickets (key, title, priority, status, source, first_seen, last_seen, created_at, updated_at,
			respond_by, resolve_by) VALUES ('k', 'Pump', 'P2', 'closed', 'rule', '` + at + `', '` + at + `', '` + at + `',
			'` + acked + `', '` + at + `', '` + at + `')`,
		`INSERT INTO events (ticket_id, at, actor, kind, detail) VALUES (1, '` + acked + `', 'ana', 'transition', 'open → acknowledged')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openAt(t, path, Config{}, newClock())
	tk, _, err := s.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := time.Parse(time.RFC3339, "2026-03-02T08:20:00Z")
	if !tk.RespondedAt.Equal(want) || !tk.ClosedAt.Equal(want) || tk.Title != "Pump" {
		t.Fatalf("upgraded ticket %+v", tk)
	}
	if s.instance == "" {
		t.Error("no instance id")
	}
}
