package tickets

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"
)

// TestOutboxReports: a report delivery goes through the outbox in order
// with the ticket notifications, to the receivers named only, once per key
// however often it is queued, and survives a restart.
func TestOutboxReports(t *testing.T) { backends(t, testOutboxReports) }

func testOutboxReports(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	cfg := Config{Receivers: []Receiver{webhookReceiver("cmms"), webhookReceiver("other")}, Outbox: fastOutbox}
	path := tempDatabase(t)
	s1, err := Open(ctx, path, cfg, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	raise(t, s1, alert("1"))
	gen := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	n := ReportNotice{Name: "monthly", Kind: "energy", Period: "2026-11", Lang: "en", GeneratedAt: gen,
		From: gen.AddDate(0, -1, 0), To: gen,
		Files: []ReportFile{{Format: "pdf", Name: "monthly-2026-11-en.pdf", Path: "/var/lib/x.pdf", Size: 1234, URL: "http://h/api/v1/reports/files/monthly-2026-11-en.pdf"}}}
	if k, err := s1.EnqueueReport(ctx, "monthly-2026-11-en", []string{"cmms"}, n); err != nil || k != 1 {
		t.Fatalf("EnqueueReport: %d, %v; want 1 queued", k, err)
	}
	if k, err := s1.EnqueueReport(ctx, "monthly-2026-11-en", []string{"cmms"}, n); err != nil || k != 0 {
		t.Fatalf("EnqueueReport again: %d, %v; want none queued", k, err)
	}
	if _, err := s1.EnqueueReport(ctx, "", []string{"cmms"}, n); err == nil {
		t.Fatal("a report without a key was queued")
	}
	raise(t, s1, alert("2"))
	s1.Close()

	s2 := openAt(t, path, cfg, c)
	r, other := newRecorder(1), newRecorder(0)
	runDispatcher(t, s2, map[string]Notifier{"cmms": r, "other": other}, nil)
	r.wait(t, 3)
	other.wait(t, 2)
	got := r.accepted
	if got[0].Report != nil || got[1].Report == nil || got[2].Report != nil || got[0].Ticket.ID == 0 {
		t.Fatalf("delivered out of order: %+v", got)
	}
	rep := got[1].Report
	if got[1].ID != s2.instance+"-report-default-monthly-2026-11-en" || rep.Period != "2026-11" || !rep.GeneratedAt.Equal(gen) ||
		len(rep.Files) != 1 || rep.Files[0].Path != "/var/lib/x.pdf" || got[1].Ticket.ID != 0 {
		t.Fatalf("report delivery %+v %+v", got[1], rep)
	}
	if slices.ContainsFunc(other.accepted, func(n Notification) bool { return n.Report != nil }) {
		t.Error("a receiver not named got the report")
	}
	st := settled(t, s2)
	if len(st) != 2 || st[0].Delivered != 3 || st[1].Delivered != 2 {
		t.Fatalf("outbox %+v", st)
	}
}

// TestMigration6KeepsOutbox: the rebuild of the outbox keeps its pending
// and delivered rows in order, and new rows go on after them.
func TestMigration6KeepsOutbox(t *testing.T) { backends(t, testMigration6KeepsOutbox) }

func testMigration6KeepsOutbox(t *testing.T) {
	ctx := context.Background()
	path := tempDatabase(t)
	d, driver := dialectSQLite, "sqlite"
	if onPostgres(t) {
		d, driver = dialectPostgres, "pgx"
	}
	db, err := sql.Open(driver, path)
	if err != nil {
		t.Fatal(err)
	}
	const at = "2026-03-02T08:00:00.000000000Z"
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 5; n++ {
		q, err := d.migration(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("migration %d: %v", n, err)
		}
		if _, err := db.Exec(d.rebind(`INSERT INTO schema_migrations VALUES (?, ?)`), n, at); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO tickets (key, title, priority, status, source, first_seen, last_seen, created_at, updated_at,
			respond_by, resolve_by) VALUES ('k', 'Pump', 'P2', 'open', 'rule', '` + at + `', '` + at + `', '` + at + `',
			'` + at + `', '` + at + `', '` + at + `')`,
		`INSERT INTO events (ticket_id, at, actor, kind) VALUES (1, '` + at + `', 'a', 'created')`,
		`INSERT INTO events (ticket_id, at, actor, kind) VALUES (1, '` + at + `', 'a', 'comment')`,
		`INSERT INTO events (ticket_id, at, actor, kind) VALUES (1, '` + at + `', 'a', 'comment')`,
		// ids out of event order, one delivered: the order is the ids'
		`INSERT INTO outbox (id, event_id, receiver, payload, created_at, next_attempt) VALUES (5, 3, 'cmms', '{"id":"x-3"}', '` + at + `', '` + at + `')`,
		`INSERT INTO outbox (id, event_id, receiver, payload, created_at, next_attempt) VALUES (9, 1, 'cmms', '{"id":"x-1"}', '` + at + `', '` + at + `')`,
		`INSERT INTO outbox (id, event_id, receiver, payload, created_at, next_attempt, delivered_at) VALUES (2, 2, 'cmms', '{"id":"x-2"}', '` + at + `', '` + at + `', '` + at + `')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openAt(t, path, Config{}, newClock())
	if k, err := s.EnqueueReport(ctx, "r", []string{"cmms"}, ReportNotice{Name: "r"}); err != nil || k != 1 {
		t.Fatalf("EnqueueReport after migration: %d, %v", k, err)
	}
	rows, err := s.db.Query(`SELECT kind, COALESCE(event_id, 0), delivered_at IS NOT NULL FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var kind string
		var ev int64
		var delivered bool
		if err := rows.Scan(&kind, &ev, &delivered); err != nil {
			t.Fatal(err)
		}
		got = append(got, kind+map[bool]string{true: "+", false: ""}[delivered]+string(rune('0'+ev)))
	}
	if want := []string{"ticket+2", "ticket3", "ticket1", "report0"}; !slices.Equal(got, want) {
		t.Fatalf("outbox after migration 6: %v, want %v", got, want)
	}
	// A ticket row without its event, or a report row without its key, is refused.
	if _, err := s.db.Exec(`INSERT INTO outbox (kind, receiver, payload, created_at, next_attempt) VALUES ('ticket', 'c', '{}', 'x', 'x')`); err == nil {
		t.Error("a ticket row without event_id was accepted")
	}
}
