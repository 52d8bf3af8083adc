package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/web"
)

// TestInspectionsEndToEnd runs the daemon with two plans on a simulated
// pump: recording past work through the API makes one plan due soon (its
// ticket opens with the checklist) and the other overdue (the inspection
// alerts fire and the ticket is escalated); the ticket cannot be closed
// before its required item is answered, and closing it advances the plan
// with the pump's live run hours; the iCalendar feed lists both.
func TestInspectionsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const token = "operator-token-for-inspections-0123"
	t.Setenv("FACILITYD_TEST_TOKEN", token)
	dir := t.TempDir()
	simAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	plans := `inspections:
  - name: pump_service
    description: 水泵保养 pump service
    match: {type: pump}
    every: 30d
    counters: [{point: run_hours, every: 2000}]
    lead: 7d
    grace: 2d
    checklist:
      - {text: "轴承温度 / bearing temperature", required: true, evidence: reading, unit: °C, max: 80}
      - {text: "机封无泄漏 / no seal leak", evidence: yes_no}
    ticket: {priority: P3, category: plumbing, assignee: pump-contractor}
  - name: pump_weekly_round
    description: 水泵巡检 weekly round
    match: {type: pump}
    every: 7d
    lead: 1d
    grace: 1d
    ticket: {priority: P4, category: plumbing}
`
	if err := os.WriteFile(filepath.Join(dir, "plans.yaml"), []byte(plans), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`site: test-site
timezone: Asia/Shanghai
state_dir: %q
influxdb: {url: %q, bucket: %q, flush_interval: 200ms}
http:
  listen: %q
  tokens: [{name: ana, role: operator, env: FACILITYD_TEST_TOKEN}]
profile_files: [%q]
inspection_files: [plans.yaml]
devices:
  - id: pump-1
    profile: booster_pump
    location: B2 pump room
    modbus: {address: %q, unit_id: 1, interval: 200ms, timeout: 500ms}
`, filepath.Join(dir, "state"), influx.URL, influx.Bucket, httpAddr, filepath.Join(root, "configs/profiles/*.yaml"), simAddr)
	path := filepath.Join(dir, "facilityd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	startSim(t, ctx, cfg, logger, "pump-1:low_pressure@1h", sim.Config{Seed: 1})
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(runCtx, cfg, app.Options{Logger: logger, InspectEvery: 200 * time.Millisecond})
	}()
	defer func() {
		stopRun()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	base := "http://" + httpAddr
	call := func(method, path, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if out != nil && resp.StatusCode < 300 {
			if err := json.Unmarshal(buf.Bytes(), out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, buf.String())
			}
		}
		if resp.StatusCode >= 300 {
			t.Logf("%s %s: %d %s", method, path, resp.StatusCode, buf.String())
		}
		return resp.StatusCode
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	list := func() map[string]web.Inspection {
		var l []web.Inspection
		call("GET", "/api/v1/inspections", "", &l)
		out := map[string]web.Inspection{}
		for _, in := range l {
			out[in.Plan] = in
		}
		return out
	}
	// First sight: both pairs start a cycle, nothing due.
	waitFor("both pairs evaluated", func() bool { return len(list()) == 2 })
	if l := list(); l["pump_service"].Status != tickets.InspectionOK || l["pump_service"].Interval != "every 30d or 2000 run_hours" {
		t.Fatalf("first sight: %+v", l["pump_service"])
	}
	// The last service was 25 days ago: due in 5 days, inside the lead.
	now := time.Now()
	body := fmt.Sprintf(`{"at": %q, "note": "recorded from the paper log"}`, now.Add(-25*24*time.Hour).Format(time.RFC3339))
	if code := call("POST", "/api/v1/inspections/pump_service:pump-1/done", body, nil); code != 200 {
		t.Fatalf("done: %d", code)
	}
	// The weekly round was last made 10 days ago: overdue.
	body = fmt.Sprintf(`{"at": %q}`, now.Add(-10*24*time.Hour).Format(time.RFC3339))
	if code := call("POST", "/api/v1/inspections/pump_weekly_round:pump-1/done", body, nil); code != 200 {
		t.Fatalf("done: %d", code)
	}
	waitFor("the service ticket", func() bool { return list()["pump_service"].TicketID != 0 })
	svc := list()["pump_service"]
	if svc.Status != tickets.InspectionDueSoon {
		t.Errorf("service status %s, want due_soon", svc.Status)
	}
	var tk struct {
		Ticket tickets.Ticket
		Events []tickets.Event
	}
	call("GET", fmt.Sprintf("/api/v1/tickets/%d", svc.TicketID), "", &tk)
	if tk.Ticket.Source != tickets.SourceInspection || tk.Ticket.Key != "inspection:pump_service:pump-1" || tk.Ticket.Category != "plumbing" ||
		tk.Ticket.Assignee != "pump-contractor" {
		t.Errorf("ticket = %+v", tk.Ticket)
	}
	var items []tickets.ChecklistItem
	call("GET", fmt.Sprintf("/api/v1/tickets/%d/checklist", svc.TicketID), "", &items)
	if len(items) != 2 || !items[0].Required || items[0].Unit != "°C" {
		t.Fatalf("checklist = %+v", items)
	}
	// Overdue: both inspection alerts fire, and the round's ticket is escalated.
	waitFor("inspection alerts", func() bool {
		var alerts []web.Alert
		call("GET", "/api/v1/alerts", "", &alerts)
		n := 0
		for _, a := range alerts {
			if a.State == "firing" && a.Labels["plan"] == "pump_weekly_round" && (a.Rule == "inspection_due" || a.Rule == "inspection_overdue") {
				n++
			}
		}
		return n == 2
	})
	round := list()["pump_weekly_round"]
	if round.Status != tickets.InspectionOverdue || round.TicketID == 0 {
		t.Fatalf("round = %+v", round)
	}
	waitFor("the overdue escalation", func() bool {
		call("GET", fmt.Sprintf("/api/v1/tickets/%d", round.TicketID), "", &tk)
		for _, ev := range tk.Events {
			if ev.Kind == tickets.EventSLABreach {
				return true
			}
		}
		return false
	})
	// Closing needs the required reading.
	if code := call("POST", fmt.Sprintf("/api/v1/tickets/%d/close", svc.TicketID), `{}`, nil); code != 400 {
		t.Fatalf("close without the required item: %d", code)
	}
	if code := call("POST", fmt.Sprintf("/api/v1/tickets/%d/checklist", svc.TicketID), `{"index":1,"value":61.5}`, nil); code != 200 {
		t.Fatalf("answer: %d", code)
	}
	if code := call("POST", fmt.Sprintf("/api/v1/tickets/%d/close", svc.TicketID), `{}`, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	var one struct {
		Inspection web.Inspection
		History    []tickets.InspectionRecord
	}
	waitFor("the service advanced", func() bool {
		call("GET", "/api/v1/inspections/pump_service:pump-1", "", &one)
		return one.Inspection.Status == tickets.InspectionOK && one.Inspection.TicketID == 0
	})
	last := one.History[len(one.History)-1]
	if last.Kind != tickets.RecordDone || last.Actor != "ana" || last.Counters["run_hours"] <= 0 || !last.OnTime {
		t.Errorf("completion record = %+v", last)
	}
	if due := one.Inspection.NextDue; due.Before(now.Add(29*24*time.Hour)) || due.After(now.Add(31*24*time.Hour)) {
		t.Errorf("next due %v, want about 30 days from now", due)
	}
	if want := last.Counters["run_hours"] + 2000; one.Inspection.NextCounters["run_hours"] != want {
		t.Errorf("next run_hours due %v, want %v", one.Inspection.NextCounters["run_hours"], want)
	}
	// The calendar feed lists both.
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/inspections.ics?token="+token, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var feed bytes.Buffer
	feed.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(feed.String(), "BEGIN:VEVENT") != 2 || !strings.Contains(feed.String(), "pump-1: OVERDUE") {
		t.Errorf("feed: %d\n%s", resp.StatusCode, feed.String())
	}
}
