package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/facilityd/facilityd/tickets"
)

// fakeInspections is an InspectionService over a fixed list; it records
// completions and refuses one whose version is old, as the store does.
// With store set, checklists are that ticket store's.
type fakeInspections struct {
	mu    sync.Mutex
	list  []Inspection
	done  []tickets.Completion
	store *tickets.Store
}

var _ InspectionService = (*fakeInspections)(nil)

// completions returns the completions recorded so far.
func (f *fakeInspections) completions() []tickets.Completion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.done)
}

func (f *fakeInspections) Inspections(_ context.Context, q InspectionQuery) ([]Inspection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Inspection
	for _, in := range f.list {
		if (q.Device == "" || in.Device == q.Device) && (!q.Overdue || in.Status == tickets.InspectionOverdue) {
			out = append(out, in)
		}
	}
	return out, nil
}

func (f *fakeInspections) Inspection(_ context.Context, plan, device string) (Inspection, []tickets.InspectionRecord, error) {
	for _, in := range f.list {
		if in.Plan == plan && in.Device == device {
			at := in.NextDue.AddDate(0, 0, -15)
			return in, []tickets.InspectionRecord{{Plan: plan, Device: device, Kind: tickets.RecordDone, Actor: "li", At: at,
				DueAt: at.Add(time.Hour), OnTime: true, Note: "bearings greased", Counters: map[string]float64{"run_hours": 1999.5}}}, nil
		}
	}
	return Inspection{}, nil, fmt.Errorf("inspection %s on %s: %w", plan, device, tickets.ErrNotFound)
}

func (f *fakeInspections) CompleteInspection(_ context.Context, c tickets.Completion) ([]tickets.InspectionRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, in := range f.list {
		if in.Plan == c.Plan && in.Device == c.Device {
			if c.Version != 0 && c.Version != in.Version {
				return nil, fmt.Errorf("completed meanwhile: %w", tickets.ErrStale)
			}
			f.list[i].Version++
			f.done = append(f.done, c)
			kind := tickets.RecordDone
			if c.Skip {
				kind = tickets.RecordSkipped
			}
			return []tickets.InspectionRecord{{Plan: c.Plan, Device: c.Device, Kind: kind, Actor: c.Actor}}, nil
		}
	}
	return nil, fmt.Errorf("inspection %s on %s: %w", c.Plan, c.Device, tickets.ErrNotFound)
}

func (f *fakeInspections) Checklist(ctx context.Context, id int64) ([]tickets.ChecklistItem, error) {
	if f.store != nil {
		return f.store.Checklist(ctx, id)
	}
	if id != 7 {
		return nil, fmt.Errorf("ticket %d: %w", id, tickets.ErrNotFound)
	}
	return []tickets.ChecklistItem{{Index: 1, Text: "制动器间隙 / brake gap", Evidence: tickets.EvidenceReading, Required: true}}, nil
}

func (f *fakeInspections) AnswerItem(ctx context.Context, id int64, index int, answer string, value *float64, note, actor string) (tickets.ChecklistItem, error) {
	if f.store != nil {
		return f.store.AnswerItem(ctx, id, index, answer, value, note, actor)
	}
	if id != 7 || index != 1 {
		return tickets.ChecklistItem{}, fmt.Errorf("item %d of ticket %d: %w", index, id, tickets.ErrNotFound)
	}
	if value == nil {
		return tickets.ChecklistItem{}, fmt.Errorf("a reading needs a number: %w", tickets.ErrInvalid)
	}
	return tickets.ChecklistItem{Index: 1, Value: value, Note: note, AnsweredBy: actor}, nil
}

func inspectionList(t *testing.T) []Inspection {
	t.Helper()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(plan, device, status string, due time.Time, loc *time.Location) Inspection {
		return Inspection{ID: InspectionID(plan, device), Zone: loc, Title: plan + " 保养",
			Category: "lifts", Location: "Building A",
			Description: "轿厢照明、风扇、应急照明 / car lighting, fan, emergency light; 层门门锁 / landing door locks; " +
				strings.Repeat("制动器 brake ", 8),
			InspectionState: tickets.InspectionState{Plan: plan, Device: device, Status: status, NextDue: due, Version: 3}}
	}
	return []Inspection{
		// 16:30 UTC is already the next day in Shanghai (UTC+8).
		mk("elevator_half_monthly", "elevator-1", tickets.InspectionDueSoon, time.Date(2026, 12, 14, 16, 30, 0, 0, time.UTC), shanghai),
		mk("elevator_quarterly", "elevator-1", tickets.InspectionOverdue, time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC), shanghai),
		// 23:30 UTC on 28 March is 01:30 on the 29th in Berlin, the night
		// the clocks go forward.
		mk("pump_service", "pump-1", tickets.InspectionOK, time.Date(2027, 3, 28, 23, 30, 0, 0, time.UTC), berlin),
		mk("water_tank", "tank-1", tickets.InspectionSkipped, time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), shanghai),
		mk("fire_monthly", "fire-panel-1", tickets.InspectionOK, time.Time{}, shanghai),
	}
}

func inspectionServer(t *testing.T, read ReadMode) (*Server, *fakeInspections) {
	t.Helper()
	f := &fakeInspections{list: inspectionList(t)}
	return New(Deps{Status: dashStatus{}, Inspections: f, Auth: testAuth(t), Read: read}, slog.New(slog.DiscardHandler)), f
}

func TestInspectionRoutes(t *testing.T) {
	s, f := inspectionServer(t, ReadOpen)
	rec := get(s, "/api/v1/inspections?device=elevator-1", "")
	var list []Inspection
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list) != 2 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if list[0].ID != "elevator_half_monthly:elevator-1" || list[0].Status != "due_soon" {
		t.Errorf("list[0] = %+v", list[0])
	}
	if rec := get(s, "/api/v1/inspections?overdue=true", ""); !strings.Contains(rec.Body.String(), `"elevator_quarterly:elevator-1"`) ||
		strings.Contains(rec.Body.String(), "pump-1") {
		t.Errorf("overdue list: %s", rec.Body)
	}
	if rec := get(s, "/api/v1/inspections?due_within=tomorrow", ""); rec.Code != 400 || !strings.Contains(errorOf(t, rec), "due_within") {
		t.Errorf("bad due_within: %d %s", rec.Code, rec.Body)
	}
	if rec := get(s, "/api/v1/inspections/pump_service:pump-1", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"history"`) {
		t.Errorf("get: %d %s", rec.Code, rec.Body)
	}
	if rec := get(s, "/api/v1/inspections/pump_service:pump-9", ""); rec.Code != 404 {
		t.Errorf("unknown pair: %d", rec.Code)
	}
	if rec := get(s, "/api/v1/inspections/pump_service", ""); rec.Code != 400 {
		t.Errorf("id without device: %d", rec.Code)
	}

	post := func(path, authz, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	op := "Bearer " + operatorToken
	if rec := post("/api/v1/inspections/pump_service:pump-1/done", "", `{}`); rec.Code != 401 {
		t.Errorf("done without token: %d", rec.Code)
	}
	if rec := post("/api/v1/inspections/pump_service:pump-1/done", "Bearer "+viewerToken, `{}`); rec.Code != 403 {
		t.Errorf("done as viewer: %d", rec.Code)
	}
	if rec := post("/api/v1/inspections/pump_service:pump-1/skip", op, `{}`); rec.Code != 400 || !strings.Contains(errorOf(t, rec), "say why") {
		t.Errorf("skip without reason: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/v1/inspections/pump_service:pump-1/done", op, `{"readings":{"run_hours":2000.5},"note":"bearings greased","version":3}`); rec.Code != 200 {
		t.Fatalf("done: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/v1/inspections/pump_service:pump-1/done", op, `{"version":3}`); rec.Code != 409 {
		t.Errorf("second completion of the same cycle: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/v1/inspections/pump_service:pump-1/redo", op, `{}`); rec.Code != 404 {
		t.Errorf("unknown action: %d", rec.Code)
	}
	if rec := post("/api/v1/inspections/pump_service:pump-1/done", op, `{"colour":"red"}`); rec.Code != 400 {
		t.Errorf("unknown field: %d", rec.Code)
	}
	if rec := get(s, "/api/v1/tickets/7/checklist", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "brake gap") {
		t.Errorf("checklist: %d %s", rec.Code, rec.Body)
	}
	if rec := get(s, "/api/v1/tickets/8/checklist", ""); rec.Code != 404 {
		t.Errorf("checklist of another ticket: %d", rec.Code)
	}
	if rec := post("/api/v1/tickets/7/checklist", "Bearer "+viewerToken, `{"index":1,"value":0.4}`); rec.Code != 403 {
		t.Errorf("answer as viewer: %d", rec.Code)
	}
	if rec := post("/api/v1/tickets/7/checklist", op, `{"index":1,"answer":"fine"}`); rec.Code != 400 {
		t.Errorf("reading without a number: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/v1/tickets/7/checklist", op, `{"index":1,"value":0.4,"note":"ok"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"answered_by": "ana"`) {
		t.Errorf("answer: %d %s", rec.Code, rec.Body)
	}
	if len(f.done) != 1 || f.done[0].Actor != "ana" || f.done[0].Counters["run_hours"] != 2000.5 || f.done[0].Note != "bearings greased" {
		t.Errorf("completions = %+v", f.done)
	}
}

func TestInspectionCalendar(t *testing.T) {
	s, _ := inspectionServer(t, ReadToken)
	if rec := get(s, "/api/v1/inspections.ics", ""); rec.Code != 401 || errorOf(t, rec) != msgNoToken {
		t.Fatalf("feed without token: %d %s", rec.Code, rec.Body)
	}
	if rec := get(s, "/api/v1/inspections.ics?token=wrong-token-000000", ""); rec.Code != 401 || errorOf(t, rec) != msgBadToken {
		t.Fatalf("feed with a wrong token: %d %s", rec.Code, rec.Body)
	}
	// The query token is for the feed only.
	if rec := get(s, "/api/v1/inspections?token="+viewerToken, ""); rec.Code != 401 {
		t.Fatalf("query token on a JSON route: %d", rec.Code)
	}
	rec := get(s, "/api/v1/inspections.ics?token="+viewerToken, "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/calendar") {
		t.Fatalf("feed: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	body := rec.Body.Bytes()
	// RFC 5545 3.1: CRLF line ends, content lines of at most 75 octets.
	for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\r\n")), []byte("\r\n")) {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
	}
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	for _, p := range []string{ical.PropVersion, ical.PropProductID} {
		if cal.Props.Get(p) == nil {
			t.Errorf("calendar lacks %s", p)
		}
	}
	events := cal.Events()
	// Skipped and undated pairs have no event.
	want := []struct{ uid, start, summary string }{
		{"elevator_quarterly:elevator-1-20261120@example.com", "20261120", "elevator-1: OVERDUE 已逾期: elevator_quarterly 保养"},
		{"elevator_half_monthly:elevator-1-20261215@example.com", "20261215", "elevator-1: elevator_half_monthly 保养"},
		{"pump_service:pump-1-20270329@example.com", "20270329", "pump-1: pump_service 保养"},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(events), len(want), body)
	}
	for i, w := range want {
		ev := events[i]
		uid, _ := ev.Props.Text(ical.PropUID)
		sum, _ := ev.Props.Text(ical.PropSummary)
		start := ev.Props.Get(ical.PropDateTimeStart)
		if uid != w.uid || sum != w.summary || start == nil || start.Value != w.start || start.ValueType() != ical.ValueDate {
			t.Errorf("event %d: uid %q summary %q start %+v, want %+v", i, uid, sum, start, w)
		}
		if ev.Props.Get(ical.PropDateTimeStamp) == nil {
			t.Errorf("event %d has no DTSTAMP", i)
		}
		if desc, _ := ev.Props.Text(ical.PropDescription); !strings.Contains(desc, "轿厢照明、风扇、应急照明") || !strings.Contains(desc, "\n") {
			t.Errorf("event %d description lost its text or lines after folding: %q", i, desc)
		}
	}
	// DTEND is the next day: an all-day event.
	if end := events[2].Props.Get(ical.PropDateTimeEnd); end == nil || end.Value != "20270330" {
		t.Errorf("DTEND = %+v", end)
	}
}

// TestFoldUTF8 folds a long line of Chinese text without cutting a
// character: every folded line is valid UTF-8 and unfolding gives it back.
func TestFoldUTF8(t *testing.T) {
	line := "DESCRIPTION:" + strings.Repeat("检查曳引机、制动器和限速器。", 12)
	out := fold([]byte(line + "\r\n"))
	parts := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
	if len(parts) < 5 {
		t.Fatalf("not folded: %d parts", len(parts))
	}
	var joined strings.Builder
	for i, p := range parts {
		if len(p) > 75 {
			t.Errorf("part %d: %d octets", i, len(p))
		}
		if i > 0 {
			if !strings.HasPrefix(p, " ") {
				t.Fatalf("part %d does not start with a space", i)
			}
			p = p[1:]
		}
		if !utf8Valid(p) {
			t.Errorf("part %d cut inside a character: %q", i, p)
		}
		joined.WriteString(p)
	}
	if joined.String() != line {
		t.Errorf("unfolded text differs")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
