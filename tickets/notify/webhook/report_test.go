package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// TestReportLink: a report reaches a webhook as JSON with its links, not
// through the ticket template, and without the daemon's file paths.
func TestReportLink(t *testing.T) {
	var body []byte
	var event string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		event = r.Header.Get(HeaderEvent)
	}))
	defer srv.Close()
	wh, err := New("cmms", tickets.WebhookConfig{URL: srv.URL, Template: `{"title": {{json .Ticket.Title}}}`})
	if err != nil {
		t.Fatal(err)
	}
	n := tickets.Notification{ID: "i-report-monthly", Report: &tickets.ReportNotice{Name: "monthly", Kind: "energy", Period: "2026-11",
		GeneratedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Files:       []tickets.ReportFile{{Format: "pdf", Name: "m.pdf", Path: "/var/lib/facilityd/reports/m.pdf", URL: "https://fm.example/api/v1/reports/files/m.pdf"}}}}
	if err := wh.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var got tickets.Notification
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if event != "report" || got.Report == nil || got.Report.Files[0].URL != "https://fm.example/api/v1/reports/files/m.pdf" ||
		strings.Contains(string(body), "/var/lib") || strings.Contains(string(body), `"ticket"`) || strings.Contains(string(body), "title") {
		t.Fatalf("event %q, body %s", event, body)
	}
	if n.Report.Files[0].Path == "" {
		t.Error("Body changed the caller's notification")
	}
}
