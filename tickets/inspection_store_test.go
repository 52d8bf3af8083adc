package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func fp(v float64) *float64 { return &v }

var dueDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func inspState(plan, device string) InspectionState {
	return InspectionState{Plan: plan, Device: device, Status: InspectionDueSoon, NextDue: dueDay, DueBy: "calendar"}
}

func inspAlert(title string) Alert {
	return Alert{Title: title, Priority: "P3", Category: "lifts", Location: "B1"}
}

// liftChecklist has a required reading with limits (whose failure is P2),
// an optional yes/no and a required text.
func liftChecklist() []ChecklistItem {
	return []ChecklistItem{
		{Text: "Brake lining thickness", Required: true, Evidence: EvidenceReading, Unit: "mm", Min: fp(4), Max: fp(10), Priority: "P2"},
		{Text: "Door reopens on obstruction", Evidence: EvidenceYesNo},
		{Text: "Remarks", Required: true, Evidence: EvidenceText},
	}
}

func openInsp(t testing.TB, s *Store, plan, device string, replaces ...string) Ticket {
	t.Helper()
	tk, created, err := s.OpenInspection(context.Background(), inspState(plan, device), inspAlert(plan+" on "+device),
		liftChecklist(), replaces)
	if err != nil || !created {
		t.Fatalf("OpenInspection(%s, %s): created %v, err %v", plan, device, created, err)
	}
	return tk
}

func history(t testing.TB, s *Store, f InspectionFilter) []InspectionRecord {
	t.Helper()
	rs, err := s.InspectionHistory(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func stateOf(t testing.TB, s *Store, plan, device string) InspectionState {
	t.Helper()
	sts, err := s.InspectionStates(context.Background(), device)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Plan == plan {
			return st
		}
	}
	t.Fatalf("no state of %s on %s in %+v", plan, device, sts)
	return InspectionState{}
}

// TestMigrateFromVersion4 upgrades a database of schema 4: tickets, events
// and breaches stay, tickets read with no related ticket, and the new kind
// of breach fits.
func TestMigrateFromVersion4(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tickets.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	const at = "2026-03-02T08:00:00.000000000Z"
	qs := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`}
	for i := range 4 {
		qs = append(qs, migrations[i], fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '%s')`, i+1, at))
	}
	qs = append(qs,
		`INSERT INTO tickets (key, title, priority, status, source, first_seen, last_seen, created_at, updated_at,
			respond_by, resolve_by) VALUES ('k', 'Pump', 'P2', 'open', 'rule', '`+at+`', '`+at+`', '`+at+`',
			'`+at+`', '`+at+`', '`+at+`')`,
		`INSERT INTO events (ticket_id, at, actor, kind, detail) VALUES (1, '`+at+`', 'facilityd', 'created', 'opened')`,
		`INSERT INTO sla_breaches (ticket_id, kind, deadline, at) VALUES (1, 'respond', '`+at+`', '`+at+`')`)
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openAt(t, path, Config{}, newClock())
	tk, evs, err := s.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Title != "Pump" || tk.Related != 0 || len(evs) != 1 {
		t.Fatalf("upgraded ticket %+v with %d events", tk, len(evs))
	}
	var version, breaches int
	if err := s.db.QueryRow(`SELECT MAX(version), (SELECT COUNT(*) FROM sla_breaches) FROM schema_migrations`).
		Scan(&version, &breaches); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) || breaches != 1 {
		t.Fatalf("schema version %d with %d breaches, want %d and the one of version 4", version, breaches, len(migrations))
	}
	if _, err := s.db.Exec(s.dialect.rebind(`INSERT INTO sla_breaches VALUES (1, 'overdue', ?, ?)`), at, at); err != nil {
		t.Fatalf("overdue breach: %v", err)
	}
	if sts, err := s.InspectionStates(ctx, ""); err != nil || len(sts) != 0 {
		t.Fatalf("states %v, %v; want none", sts, err)
	}
	// The upgraded file takes inspections.
	s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	openInsp(t, s, "half", "lift-1")
}

func TestPutInspectionStatesStale(t *testing.T) { backends(t, testPutInspectionStatesStale) }

func testPutInspectionStatesStale(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	a, b := inspState("half", "lift-1"), inspState("half", "lift-2")
	sts := []InspectionState{a, b}
	recs := []InspectionRecord{{Plan: "half", Device: "lift-1", Kind: RecordRebased, Note: "trips went from 9000 to 12",
		Counters: map[string]float64{"trips": 12}}}
	if err := s.PutInspectionStates(ctx, sts, recs); err != nil {
		t.Fatal(err)
	}
	if sts[0].Version != 1 || sts[1].Version != 1 || recs[0].ID == 0 || recs[0].Actor != systemActor {
		t.Fatalf("after the first put: %+v %+v", sts, recs)
	}
	got := stateOf(t, s, "half", "lift-1")
	if got.Version != 1 || got.Status != InspectionDueSoon || !got.NextDue.Equal(dueDay) || got.DueBy != "calendar" {
		t.Fatalf("stored %+v", got)
	}

	// lift-1 written with its version, lift-2 with the one before: nothing is written.
	fresh, old := sts[0], b
	fresh.Status, old.Status = InspectionDue, InspectionOverdue
	err := s.PutInspectionStates(ctx, []InspectionState{fresh, old},
		[]InspectionRecord{{Plan: "half", Device: "lift-2", Kind: RecordRebased}})
	if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), `"lift-2"`) || strings.Contains(err.Error(), `"lift-1"`) {
		t.Fatalf("stale put: %v, want ErrStale naming lift-2 only", err)
	}
	if got := stateOf(t, s, "half", "lift-1"); got.Status != InspectionDueSoon || got.Version != 1 {
		t.Fatalf("after the refused put lift-1 is %s v%d: it was written", got.Status, got.Version)
	}
	if rs := history(t, s, InspectionFilter{}); len(rs) != 1 {
		t.Fatalf("%d records after the refused put, want 1", len(rs))
	}
	sts[1].Status = InspectionDue
	if err := s.PutInspectionStates(ctx, sts, nil); err != nil || sts[0].Version != 2 || sts[1].Version != 2 {
		t.Fatalf("put with current versions: %v, versions %d %d", err, sts[0].Version, sts[1].Version)
	}
	bad := inspState("half", "lift-1")
	bad.Status = "late"
	if err := s.PutInspectionStates(ctx, []InspectionState{bad}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad status: %v, want ErrInvalid", err)
	}
	if all, _ := s.InspectionStates(ctx, ""); len(all) != 2 || all[0].Device != "lift-1" || all[1].Device != "lift-2" {
		t.Fatalf("all states %+v, want lift-1 then lift-2", all)
	}
}

// TestOpenInspectionOnce: processes (two Stores on one file) and their
// goroutines open one plan's ticket at once: one ticket, one checklist, one
// opened record, and every caller gets that ticket.
func TestOpenInspectionOnce(t *testing.T) { backends(t, testOpenInspectionOnce) }

func testOpenInspectionOnce(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	daemon, path := openTemp(t, Config{}, c)
	cli := openAt(t, path, Config{}, c)
	const n = 8
	got := make([]Ticket, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := []*Store{daemon, cli}[i%2]
		wg.Go(func() {
			got[i], created[i], errs[i] = s.OpenInspection(ctx, inspState("half", "lift-1"), inspAlert("Half-monthly"),
				liftChecklist(), nil)
		})
	}
	wg.Wait()
	opened := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if created[i] {
			opened++
		}
		if got[i].ID != got[0].ID {
			t.Errorf("caller %d got ticket %d, caller 0 %d", i, got[i].ID, got[0].ID)
		}
	}
	if opened != 1 {
		t.Fatalf("%d callers opened a ticket, want 1", opened)
	}
	tk := got[0]
	if tk.Key != "inspection:half:lift-1" || tk.Source != SourceInspection || tk.Device != "lift-1" ||
		!tk.RespondBy.Equal(dueDay) || !tk.ResolveBy.Equal(dueDay) {
		t.Fatalf("ticket %+v", tk)
	}
	if ts := list(t, cli, Filter{}); len(ts) != 1 {
		t.Fatalf("%d tickets, want 1", len(ts))
	}
	items, err := cli.Checklist(ctx, tk.ID)
	if err != nil || len(items) != 3 || items[0].Index != 1 || items[2].Index != 3 || *items[0].Min != 4 {
		t.Fatalf("checklist %+v, %v", items, err)
	}
	if rs := history(t, daemon, InspectionFilter{Kind: RecordOpened}); len(rs) != 1 || rs[0].TicketID != tk.ID ||
		!rs[0].DueAt.Equal(dueDay) {
		t.Fatalf("opened records %+v", rs)
	}
	if st := stateOf(t, daemon, "half", "lift-1"); st.TicketID != tk.ID || st.Version != 1 {
		t.Fatalf("state %+v, want ticket %d at version 1", st, tk.ID)
	}
}

func TestOpenInspectionReplaces(t *testing.T) { backends(t, testOpenInspectionReplaces) }

func testOpenInspectionReplaces(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	half := openInsp(t, s, "half", "lift-1")
	quarter := openInsp(t, s, "quarter", "lift-1", "half")
	got, evs, err := s.Get(ctx, half.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1].Detail
	if got.Status != StatusCancelled || !strings.Contains(last, fmt.Sprintf("replaced by ticket %d", quarter.ID)) {
		t.Fatalf("replaced ticket %s, last event %q", got.Status, last)
	}
	if st := stateOf(t, s, "half", "lift-1"); st.TicketID != 0 || st.Version != 2 {
		t.Fatalf("replaced plan's state %+v, want no ticket at version 2", st)
	}
	if ts := list(t, s, Filter{OpenOnly: true}); len(ts) != 1 || ts[0].ID != quarter.ID {
		t.Fatalf("open tickets %+v, want the quarterly only", ts)
	}
	// A state that moved on meanwhile opens nothing.
	st := inspState("yearly", "lift-1")
	st.Version = 3
	if _, _, err := s.OpenInspection(ctx, st, inspAlert("Yearly"), nil, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("open with a stale state: %v, want ErrStale", err)
	}
	if ts := list(t, s, Filter{OpenOnly: true}); len(ts) != 1 {
		t.Fatalf("%d open tickets after a stale open, want 1", len(ts))
	}
}

func TestInspectionHistoryFilters(t *testing.T) { backends(t, testInspectionHistoryFilters) }

func testInspectionHistoryFilters(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	day := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }
	recs := []InspectionRecord{
		{Plan: "half", Device: "lift-1", Kind: RecordDone, At: day(3), Actor: "ana", OnTime: true},
		{Plan: "half", Device: "lift-2", Kind: RecordSkipped, At: day(4), Actor: "bo", Note: "out of service"},
		{Plan: "quarter", Device: "lift-1", Kind: RecordDone, At: day(5), Actor: "ana", Via: "",
			Counters: map[string]float64{"trips": 5012}},
		{Plan: "half", Device: "lift-1", Kind: RecordDone, At: day(5), Actor: "ana", Via: "quarter"},
		{Plan: "pump", Device: "pump-1", Kind: RecordRebased, At: day(1)},
	}
	if err := s.PutInspectionStates(ctx, nil, recs); err != nil {
		t.Fatal(err)
	}
	ids := func(rs []InspectionRecord) string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprint(r.ID))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		f    InspectionFilter
		want string
	}{
		{InspectionFilter{}, "5,1,2,3,4"},
		{InspectionFilter{Plan: "half"}, "1,2,4"},
		{InspectionFilter{Device: "lift-1"}, "1,3,4"},
		{InspectionFilter{Kind: RecordDone}, "1,3,4"},
		{InspectionFilter{From: day(4)}, "2,3,4"},
		{InspectionFilter{To: day(4)}, "5,1"},
		{InspectionFilter{Plan: "half", Device: "lift-1", From: day(4), To: day(6)}, "4"},
		{InspectionFilter{Limit: 2}, "5,1"},
	} {
		if got := ids(history(t, s, tc.f)); got != tc.want {
			t.Errorf("%+v: records %s, want %s", tc.f, got, tc.want)
		}
	}
	rs := history(t, s, InspectionFilter{Plan: "quarter"})
	if len(rs) != 1 || rs[0].Counters["trips"] != 5012 || rs[0].Actor != "ana" || !rs[0].At.Equal(day(5)) {
		t.Fatalf("quarterly record %+v", rs)
	}
	if _, err := s.InspectionHistory(ctx, InspectionFilter{Kind: "finished"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown kind: %v, want ErrInvalid", err)
	}
	// The regulator's record: nothing changes or deletes it.
	for _, q := range []string{`DELETE FROM inspection_records`, `UPDATE inspection_records SET actor = 'x'`} {
		if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "never") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
}

// TestInspectionOverdue: the engine reports an overdue inspection once per
// cycle; it escalates like a missed deadline, and the SLA check leaves
// inspection tickets to it.
func TestInspectionOverdue(t *testing.T) { backends(t, testInspectionOverdue) }

func testInspectionOverdue(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	cfg := Config{
		Escalation: Escalation{Priority: EscalateRaise, Notify: []string{"duty"}},
		Receivers:  []Receiver{{Name: "duty", Events: []string{"created"}, Webhook: &WebhookConfig{URL: "http://127.0.0.1:1/"}}},
	}
	s, _ := openTemp(t, cfg, c)
	tk := openInsp(t, s, "half", "lift-1")
	if bs := breaches(t, s, dueDay.Add(30*24*time.Hour)); len(bs) != 0 {
		t.Fatalf("CheckSLA long after the due date: %+v, want none for an inspection", bs)
	}
	c.Set(dueDay.Add(3 * 24 * time.Hour))
	for i, want := range []bool{true, false} {
		got, err := s.RecordInspectionOverdue(ctx, tk.ID, dueDay)
		if err != nil || got != want {
			t.Fatalf("report %d: recorded %v, %v; want %v", i, got, err, want)
		}
	}
	got, evs, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if got.Priority != "P2" || last.Kind != EventSLABreach || !strings.Contains(last.Detail, "overdue by 72h") {
		t.Fatalf("after overdue: priority %s, last event %+v", got.Priority, last)
	}
	if n := outboxRows(t, s, "duty", EventSLABreach); n != 1 {
		t.Fatalf("%d breach notifications to the escalation receiver, want 1", n)
	}
	st, err := s.Stats(ctx, dueDay.Add(-30*24*time.Hour), c.Now())
	if err != nil {
		t.Fatal(err)
	}
	if all := st[len(st)-1]; all.Breaches[BreachOverdue] != 1 {
		t.Fatalf("stats %+v, want the overdue inspection counted", all)
	}
	other, _ := raise(t, s, alert("pump"))
	if _, err := s.RecordInspectionOverdue(ctx, other.ID, dueDay); !errors.Is(err, ErrInvalid) {
		t.Fatalf("overdue of a pump ticket: %v, want ErrInvalid", err)
	}
}

func TestOpenInspectionAssignee(t *testing.T) { backends(t, testOpenInspectionAssignee) }

// testOpenInspectionAssignee: a plan's assignee (the lift contractor) owns
// the inspection ticket from the start, and its created event says so.
func testOpenInspectionAssignee(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	a := inspAlert("Half-monthly on lift-1")
	a.Assignee = "lift-contractor"
	tk, created, err := s.OpenInspection(ctx, inspState("half", "lift-1"), a, liftChecklist(), nil)
	if err != nil || !created {
		t.Fatalf("open: %v %v", created, err)
	}
	got, evs, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Assignee != "lift-contractor" || !strings.Contains(evs[0].Detail, "assigned to lift-contractor") {
		t.Fatalf("assignee %q, created event %q", got.Assignee, evs[0].Detail)
	}
}
