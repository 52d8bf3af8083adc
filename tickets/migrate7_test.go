package tickets

import (
	"context"
	"database/sql"
	"testing"
)

// atVersion makes a database of t's backend with the schema of version n
// and returns it with a connection to it.
func atVersion(t *testing.T, n int) (string, *sql.DB) {
	t.Helper()
	path, driver, d := tempDatabase(t), "sqlite", dialectSQLite
	if onPostgres(t) {
		driver, d = "pgx", dialectPostgres
	}
	db, err := sql.Open(driver, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		q, err := d.migration(i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("migration %d: %v", i, err)
		}
		if _, err := db.Exec(d.rebind(`INSERT INTO schema_migrations VALUES (?, '2026-03-01T00:00:00.000000000Z')`), i); err != nil {
			t.Fatal(err)
		}
	}
	return path, db
}

// TestMigration7GivesRowsTheirSite: a database of version 6 with tickets,
// history, SLA breaches, both kinds of outbox rows, an inspection state,
// record and checklist migrates to version 7 without losing a row, every
// row of a site's becomes the migrating store's, and what held for one
// database (one open ticket per key, the reports queued once, records that
// never change) now holds per site.
func TestMigration7GivesRowsTheirSite(t *testing.T) { backends(t, testMigration7GivesRowsTheirSite) }

func testMigration7GivesRowsTheirSite(t *testing.T) {
	ctx := context.Background()
	path, db := atVersion(t, 6)
	const at = "'2026-03-02T08:00:00.000000000Z'"
	for _, q := range []string{
		`INSERT INTO tickets (key, title, priority, status, source, first_seen, last_seen, created_at, updated_at,
			respond_by, resolve_by) VALUES
			('rule:pump-1', 'Pump 1 tripped', 'P2', 'open', 'manual', ` + at + `, ` + at + `, ` + at + `, ` + at + `, ` + at + `, ` + at + `),
			('inspection:boiler-annual:boiler-1', 'Boiler annual', 'P3', 'open', 'inspection', ` + at + `, ` + at + `, ` + at + `,
			` + at + `, ` + at + `, ` + at + `),
			('rule:pump-1', 'Pump 1 tripped before', 'P2', 'closed', 'manual', ` + at + `, ` + at + `, ` + at + `, ` + at + `,
			` + at + `, ` + at + `)`,
		`INSERT INTO events (ticket_id, at, actor, kind, detail) VALUES (1, ` + at + `, 'facilityd', 'created', 'opened P2'),
			(2, ` + at + `, 'facilityd', 'created', 'opened P3'), (3, ` + at + `, 'ana', 'transition', 'resolved → closed')`,
		`INSERT INTO sla_breaches (ticket_id, kind, deadline, at) VALUES (1, 'respond', ` + at + `, ` + at + `)`,
		`INSERT INTO outbox (event_id, receiver, payload, created_at, next_attempt) VALUES (1, 'ops', '{"id":"i-1"}', ` + at + `, ` + at + `)`,
		`INSERT INTO outbox (kind, report_key, receiver, payload, created_at, next_attempt)
			VALUES ('report', 'monthly-2026-02-en', 'ops', '{"id":"i-report"}', ` + at + `, ` + at + `)`,
		`INSERT INTO applied_changes (id, applied_at) VALUES ('change-1', ` + at + `)`,
		`INSERT INTO inspection_state (plan, device, status, ticket_id, version, updated_at)
			VALUES ('boiler-annual', 'boiler-1', 'due', 2, 3, ` + at + `)`,
		`INSERT INTO inspection_records (plan, device, kind, at, actor, ticket_id)
			VALUES ('boiler-annual', 'boiler-1', 'opened', ` + at + `, 'facilityd', 2)`,
		`INSERT INTO checklist_items (ticket_id, idx, text, evidence) VALUES (2, 1, 'Flue clear', 'yes_no')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	before := rowCounts(t, db)

	north := openAt(t, path, Config{Site: "north"}, newClock())
	after := rowCounts(t, db)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("table %s: %d rows after the migration, %d before", table, after[table], n)
		}
	}
	for _, table := range []string{"tickets", "inspection_state", "inspection_records", "outbox"} {
		var other int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table + ` WHERE site != 'north'`).Scan(&other); err != nil {
			t.Fatal(err)
		}
		if other != 0 {
			t.Errorf("table %s: %d rows of another site than the migrating store's", table, other)
		}
	}
	var left int
	if err := db.QueryRow(`SELECT COUNT(*) FROM meta WHERE key = 'migration_site'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("meta still has migration_site (%d rows, err %v)", left, err)
	}

	tk, evs, err := north.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Site != "north" || tk.Key != "rule:pump-1" || tk.Title != "Pump 1 tripped" || len(evs) != 1 {
		t.Errorf("ticket 1 after the migration: %+v with %d events", tk, len(evs))
	}
	if r, created := raise(t, north, Alert{Key: "rule:pump-1", Title: "x", Priority: "P2", Source: SourceManual}); created || r.ID != 1 {
		t.Errorf("north's raise of the migrated key: created=%v ticket %d, want an occurrence on ticket 1", created, r.ID)
	}
	states, err := north.InspectionStates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].TicketID != 2 || states[0].Version != 3 || states[0].Status != "due" {
		t.Errorf("north's inspection states: %+v", states)
	}
	recs, err := north.InspectionHistory(ctx, InspectionFilter{})
	if err != nil || len(recs) != 1 || recs[0].TicketID != 2 {
		t.Errorf("inspection history: %+v, %v", recs, err)
	}
	if _, err := db.Exec(`UPDATE inspection_records SET note = 'changed'`); err == nil {
		t.Error("an inspection record could be changed after the migration")
	}
	if n, err := north.EnqueueReport(ctx, "monthly-2026-02-en", []string{"ops"}, ReportNotice{}); err != nil || n != 0 {
		t.Errorf("north queued the migrated report again: %d, %v", n, err)
	}
	ob, err := north.Outbox(ctx)
	if err != nil || len(ob) != 1 || ob[0].Pending != 2 {
		t.Errorf("north's outbox: %+v, %v; want ops with 2 pending", ob, err)
	}

	// Another site's daemon, later on the same database, owns none of it.
	south := openAt(t, path, Config{Site: "south"}, newClock())
	if states, err := south.InspectionStates(ctx, ""); err != nil || len(states) != 0 {
		t.Errorf("south's inspection states: %+v, %v; want none", states, err)
	}
	if n, err := south.EnqueueReport(ctx, "monthly-2026-02-en", []string{"ops"}, ReportNotice{}); err != nil || n != 1 {
		t.Errorf("south's report of the same name: queued %d, %v; want 1", n, err)
	}
	if ob, err := south.Outbox(ctx); err != nil || len(ob) != 1 || ob[0].Pending != 1 {
		t.Errorf("south's outbox: %+v, %v; want its one report", ob, err)
	}
	if r, created := raise(t, south, Alert{Key: "rule:pump-1", Title: "x", Priority: "P2", Source: SourceManual}); !created || r.Site != "south" {
		t.Errorf("south's raise of north's key: created=%v site %q, want a ticket of south's", created, r.Site)
	}
}

// rowCounts counts the rows of every table CopyDatabase moves.
func rowCounts(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range copyTables {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}
