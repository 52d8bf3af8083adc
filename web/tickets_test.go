package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

const (
	viewerToken   = "viewer-token-0123456789"
	operatorToken = "operator-token-0123456789"
)

func testAuth(t testing.TB) *Auth {
	t.Helper()
	t.Setenv("FACILITYD_TEST_VIEWER", viewerToken)
	t.Setenv("FACILITYD_TEST_OPERATOR", operatorToken)
	a, err := NewAuth([]Token{
		{Name: "wall-display", Role: "viewer", Env: "FACILITYD_TEST_VIEWER"},
		{Name: "ana", Role: "operator", Env: "FACILITYD_TEST_OPERATOR"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ticketServer(t *testing.T) (*Server, *tickets.Store) {
	t.Helper()
	st, err := tickets.Open(context.Background(), filepath.Join(t.TempDir(), "tickets.db"), tickets.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Deps{Tickets: st, Auth: testAuth(t)}, slog.New(slog.DiscardHandler)), st
}

// call sends a request and decodes a JSON answer into out, if given.
func call(t *testing.T, s *Server, method, path, token, body string, out any) int {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, rec.Code, rec.Body.String(), err)
		}
	}
	return rec.Code
}

func TestTicketAuth(t *testing.T) {
	s, _ := ticketServer(t)
	body := `{"title": "Leaking tap in 12B", "priority": "P3"}`
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "not-a-token-0123456789", http.StatusUnauthorized},
		{"viewer", viewerToken, http.StatusForbidden},
		{"operator", operatorToken, http.StatusCreated},
	} {
		req := httptest.NewRequest("POST", "/api/v1/tickets", strings.NewReader(body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body.String(), tt.want)
		}
		if tt.want == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tt.name)
		}
	}
	for _, path := range []string{"/api/v1/tickets/1/ack", "/api/v1/tickets/1/comment"} {
		if code := call(t, s, "POST", path, "", `{}`, nil); code != http.StatusUnauthorized {
			t.Errorf("POST %s without token: %d", path, code)
		}
		if code := call(t, s, "POST", path, viewerToken, `{}`, nil); code != http.StatusForbidden {
			t.Errorf("POST %s as viewer: %d", path, code)
		}
	}
	var ts []tickets.Ticket
	if code := call(t, s, "GET", "/api/v1/tickets", "", "", &ts); code != 200 || len(ts) != 1 {
		t.Errorf("list: %d %+v, want the one ticket the operator made", code, ts)
	}
}

func TestTicketLifecycleOverHTTP(t *testing.T) {
	s, _ := ticketServer(t)
	var tk tickets.Ticket
	if code := call(t, s, "POST", "/api/v1/tickets", operatorToken,
		`{"key": "desk-4711", "title": "Lift 2 stuck", "location": "Tower A", "category": "lifts", "priority": "P1"}`, &tk); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if code := call(t, s, "POST", "/api/v1/tickets", operatorToken, `{"key": "desk-4711", "title": "Lift 2 stuck", "priority": "P1"}`,
		&tk); code != 200 || tk.Occurrences != 2 {
		t.Fatalf("create again with the key: %d %+v, want 200 and the same ticket", code, tk)
	}
	base := "/api/v1/tickets/" + itoa(tk.ID)
	steps := []struct {
		action, body string
		want         int
		status       tickets.Status
	}{
		{"ack", `{"comment": "on my way"}`, 200, tickets.StatusAcknowledged},
		{"assign", `{"assignee": "lift-co", "comment": "contractor"}`, 200, tickets.StatusAcknowledged},
		{"comment", `{"text": "passengers freed"}`, 200, tickets.StatusAcknowledged},
		{"start", ``, 200, tickets.StatusInProgress},
		{"resolve", `{"comment": "door sensor replaced"}`, 200, tickets.StatusResolved},
		{"close", `{}`, http.StatusConflict, ""}, // follow-up required
		{"follow-up", `{"result": "ok", "note": "ran 20 trips"}`, 200, tickets.StatusResolved},
		{"close", `{}`, 200, tickets.StatusClosed},
		{"cancel", `{}`, http.StatusConflict, ""},
	}
	for _, st := range steps {
		var got tickets.Ticket
		var out any = &got
		if st.want != 200 {
			out = nil
		}
		if code := call(t, s, "POST", base+"/"+st.action, operatorToken, st.body, out); code != st.want {
			t.Fatalf("%s: %d, want %d", st.action, code, st.want)
		}
		if st.want == 200 && got.Status != st.status {
			t.Fatalf("%s: status %s, want %s", st.action, got.Status, st.status)
		}
	}
	var shown struct {
		Ticket tickets.Ticket
		Events []tickets.Event
	}
	call(t, s, "GET", base, "", "", &shown)
	if shown.Ticket.Assignee != "lift-co" || len(shown.Events) != 9 {
		t.Fatalf("shown %+v with %d events", shown.Ticket, len(shown.Events))
	}
	for _, e := range shown.Events {
		if e.Actor != "ana" {
			t.Errorf("event %s by %q, want the token's name", e.Kind, e.Actor)
		}
	}
	var list []tickets.Ticket
	if call(t, s, "GET", "/api/v1/tickets?status=closed&category=lifts", "", "", &list); len(list) != 1 {
		t.Errorf("filtered list %+v", list)
	}
	if call(t, s, "GET", "/api/v1/tickets?category=plumbing", "", "", &list); len(list) != 0 {
		t.Errorf("other category: %+v", list)
	}
	var stats struct {
		Categories []map[string]any
	}
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if code := call(t, s, "GET", "/api/v1/tickets/stats?from="+from, "", "", &stats); code != 200 ||
		len(stats.Categories) != 2 || stats.Categories[0]["category"] != "lifts" || stats.Categories[0]["resolved"] != 1.0 {
		t.Errorf("stats: %d %+v", code, stats)
	}
	if code := call(t, s, "GET", "/api/v1/tickets/stats?from=yesterday", "", "", nil); code != 400 {
		t.Errorf("stats with a bad time: %d", code)
	}
	var outbox []any
	if code := call(t, s, "GET", "/api/v1/tickets/outbox", "", "", &outbox); code != 200 || len(outbox) != 0 {
		t.Errorf("outbox: %d %v", code, outbox)
	}
}

func TestTicketBadRequests(t *testing.T) {
	s, st := ticketServer(t)
	tk, _, err := st.Create(context.Background(), "ana", tickets.Manual{Title: "x", Priority: "P3"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tickets/" + itoa(tk.ID)
	for _, tt := range []struct {
		path, body string
		want       int
		text       string
	}{
		{base + "/reboot", `{}`, 404, "unknown action"},
		{"/api/v1/tickets/x/ack", `{}`, 400, "positive integer"},
		{"/api/v1/tickets/0/ack", `{}`, 400, "positive integer"},
		{"/api/v1/tickets/999/ack", `{}`, 404, "not found"},
		{base + "/ack", `{"coment": "typo"}`, 400, `unknown field \"coment\"`},
		{base + "/ack", `{"text": "wrong action"}`, 400, `unknown field \"text\"`},
		{base + "/ack", `{"comment": 5}`, 400, "cannot unmarshal"},
		{base + "/ack", `{} {}`, 400, "one JSON object"},
		{base + "/ack", `[]`, 400, "body"},
		{base + "/ack", `{"comment": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "too large"},
		{base + "/assign", `{"comment": "who?"}`, 400, "assignee"},
		{base + "/comment", `{"text": ""}`, 400, "empty comment"},
		{base + "/follow-up", `{"result": "fine"}`, 400, "follow-up result"},
		{base + "/follow-up", `{"result": "ok"}`, 409, "resolved tickets"},
		{base + "/close", ``, 409, "open → closed"},
		{"/api/v1/tickets", `{"title": "x", "priority": "P9"}`, 400, "priority"},
		{"/api/v1/tickets", `{"title": "x", "priority": "P3", "status": "closed"}`, 400, `unknown field \"status\"`},
		{"/api/v1/tickets", ``, 400, "EOF"},
	} {
		req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer "+operatorToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.text) {
			t.Errorf("POST %s %.40s: %d %s, want %d mentioning %q", tt.path, tt.body, rec.Code, rec.Body.String(), tt.want, tt.text)
		}
	}
	if code := call(t, s, "GET", "/api/v1/tickets?status=opne", "", "", nil); code != 400 {
		t.Errorf("list with a bad status: %d", code)
	}
}

func itoa(id int64) string { return strings.TrimSpace(string(must(json.Marshal(id)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// fakeTickets records the last change asked of it.
type fakeTickets struct {
	TicketReader
	last []any
}

func (f *fakeTickets) Create(_ context.Context, actor string, m tickets.Manual) (tickets.Ticket, bool, error) {
	f.last = []any{"create", actor, m}
	return tickets.Ticket{ID: 1}, true, nil
}

func (f *fakeTickets) Move(_ context.Context, id int64, m tickets.Move) (tickets.Ticket, error) {
	f.last = []any{"transition", id, m.To, m.Actor, m.Comment}
	if m.Force {
		f.last = append(f.last, "force")
	}
	return tickets.Ticket{ID: id, Status: m.To}, nil
}

func (f *fakeTickets) Assign(_ context.Context, id int64, assignee, actor, comment string) (tickets.Ticket, error) {
	f.last = []any{"assign", id, assignee, actor, comment}
	return tickets.Ticket{ID: id}, nil
}

func (f *fakeTickets) Comment(_ context.Context, id int64, actor, text string) (tickets.Ticket, error) {
	f.last = []any{"comment", id, actor, text}
	return tickets.Ticket{ID: id}, nil
}

func (f *fakeTickets) FollowUp(_ context.Context, id int64, actor, result, note string) (tickets.Ticket, error) {
	f.last = []any{"follow-up", id, actor, result, note}
	return tickets.Ticket{ID: id}, nil
}

// FuzzTicketAction feeds outside bodies to every write route: the server
// must answer 2xx or 4xx, never fail or panic, and a change it accepts
// must be exactly the body's, on behalf of the token's owner.
func FuzzTicketAction(f *testing.F) {
	for _, seed := range []struct{ action, body string }{
		{"ack", `{"comment": "on my way"}`}, {"ack", ``}, {"assign", `{"assignee": "carl"}`},
		{"assign", `{"assignee": null}`}, {"comment", `{"text": "x\u0000y"}`}, {"follow-up", `{"result": "ok", "note": "é"}`},
		{"create", `{"title": "Lift", "priority": "P1", "key": "k"}`}, {"resolve", `{"comment": "a"} x`},
		{"close", `null`}, {"cancel", `{"comment": "\ud800"}`}, {"hold", `{"comment": {"nested": 1}}`},
	} {
		f.Add(seed.action, []byte(seed.body))
	}
	auth := testAuth(f)
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		fake := &fakeTickets{}
		s := New(Deps{Tickets: fake, Auth: auth}, slog.New(slog.DiscardHandler))
		path := "/api/v1/tickets/7/" + action
		if action == "create" {
			path = "/api/v1/tickets"
		}
		if strings.ContainsAny(action, "/?#% \t\r\n") || action == "" || !validPath(path) {
			return
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+operatorToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 300 {
			if fake.last != nil {
				t.Fatalf("%s %q: answered %d but changed %v", action, body, rec.Code, fake.last)
			}
			return
		}
		if fake.last == nil {
			t.Fatalf("%s %q: answered %d without a change", action, body, rec.Code)
		}
		var actor any
		switch fake.last[0] {
		case "create":
			actor = fake.last[1]
		default:
			actor = fake.last[len(fake.last)-2]
			if fake.last[0] == "comment" || fake.last[0] == "follow-up" {
				actor = fake.last[2]
			}
			if fake.last[1] != int64(7) {
				t.Fatalf("%s: changed ticket %v, want 7", action, fake.last[1])
			}
		}
		if actor != "ana" {
			t.Fatalf("%s %q: change %v not on behalf of ana", action, body, fake.last)
		}
		var in map[string]any // what was accepted must be what was sent
		if json.Unmarshal(body, &in) == nil {
			for k, v := range in {
				if s, ok := v.(string); ok && !containsValue(fake.last, s) && !strings.ContainsRune(s, '\uFFFD') {
					t.Fatalf("%s %q: field %s=%q not passed on: %v", action, body, k, s, fake.last)
				}
			}
		}
	})
}

func validPath(p string) bool {
	req, err := http.NewRequest("POST", p, io.NopCloser(strings.NewReader("")))
	return err == nil && req.URL.Path == p
}

func containsValue(xs []any, s string) bool {
	for _, x := range xs {
		switch v := x.(type) {
		case string:
			if v == s {
				return true
			}
		case tickets.Manual:
			if s == v.Key || s == v.Title || s == v.Description || s == v.Device || s == v.Location || s == v.Category || s == v.Priority {
				return true
			}
		}
	}
	return false
}

// TestTicketQueueAPI: GET /api/v1/tickets pages, searches and filters in
// the store: limit and offset give the page, X-Total-Count all that match,
// q searches the texts, and bad paging is refused naming the parameter.
func TestTicketQueueAPI(t *testing.T) {
	s, st := ticketServer(t)
	ctx := context.Background()
	for i := range 30 {
		m := tickets.Manual{Title: fmt.Sprintf("Lamp %d out", i), Priority: "P3", Category: "lighting"}
		if i == 12 {
			m.Title, m.Description, m.Category = "Tap drips", "B1 toilets, the washer", "plumbing"
		}
		if _, _, err := st.Create(ctx, "ana", m); err != nil {
			t.Fatal(err)
		}
	}
	page := func(query string) ([]tickets.Ticket, string) {
		t.Helper()
		rec := get(s, "/api/v1/tickets?"+query, "")
		var ts []tickets.Ticket
		if err := json.Unmarshal(rec.Body.Bytes(), &ts); rec.Code != 200 || err != nil {
			t.Fatalf("%s: %d %s", query, rec.Code, rec.Body.String())
		}
		return ts, rec.Header().Get("X-Total-Count")
	}
	ts, total := page("limit=25&offset=25")
	if len(ts) != 5 || total != "30" || ts[0].Title != "Lamp 4 out" {
		t.Errorf("second page: %d tickets, total %q, first %+v; want 5 of 30 from Lamp 4", len(ts), total, ts)
	}
	if ts, total := page("q=WASHER"); len(ts) != 1 || total != "1" || ts[0].Title != "Tap drips" {
		t.Errorf("search: %d, total %s", len(ts), total)
	}
	if ts, total := page("category=lighting&q=lamp+2&limit=3"); len(ts) != 3 || total != "11" {
		t.Errorf("filtered search: %d of %s, want 3 of 11 (Lamp 2, 20..29)", len(ts), total)
	}
	for _, q := range []string{"offset=-1", "offset=x", "limit=10001", "q=" + strings.Repeat("x", tickets.MaxSearch+1), "status=gone"} {
		rec := get(s, "/api/v1/tickets?"+q, "")
		if name, _, _ := strings.Cut(q, "="); rec.Code != 400 || !strings.Contains(rec.Body.String(), name) {
			t.Errorf("%s: %d %s, want 400 naming %s", q, rec.Code, rec.Body.String(), name)
		}
	}
}
