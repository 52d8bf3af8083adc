package web

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

func TestParseThresholds(t *testing.T) {
	for expr, want := range map[string]string{
		"discharge_pressure < 1.5 && running":                                                "discharge_pressure<1.5",
		"running && suction_pressure < 0.3 && discharge_pressure < 1.0 && motor_current < 6": "suction_pressure<0.3 discharge_pressure<1 motor_current<6",
		"backup_power_fault || battery_voltage < 21.6":                                       "battery_voltage<21.6",
		"age(import_energy) > 900":                                                           "",
		"18 <= motor_current":                                                                "motor_current>=18",
		"fault_code == \"entrapment\"":                                                       "",
		"x.y > 3":                                                                            "",
		"":                                                                                   "",
	} {
		var got []string
		for _, th := range ParseThresholds(expr) {
			got = append(got, th.Point+th.Op+strconv.FormatFloat(th.Value, 'g', -1, 64))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("ParseThresholds(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestOverview: a firing alert makes its device and the site "alarm" (the
// header said "ok" before), offline and overdue come next, an alert on a
// gateway counts for the site, and tickets count by SLA state.
func TestOverview(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	devs := []Device{
		{ID: "pump-1", Type: "pump", Tags: map[string]string{"building": "A", "floor": "B1", "system": "water"}, State: "online"},
		{ID: "meter-1", Type: "energy_meter", Tags: map[string]string{"building": "A", "category": "electricity"}, State: "offline"},
		{ID: "lift-1", Type: "elevator", State: "online"},
		{ID: "new-1", Type: "pump", State: "unknown"},
	}
	ok := map[string]any{"status": "ok"}
	o := BuildOverview(ok, devs, nil, nil, nil, now)
	if o.State != StateOffline || tile(o, "meter-1").System != "electricity" || tile(o, "new-1").State != StateUnknown {
		t.Errorf("no alerts: %+v", o)
	}
	alerts := []Alert{{Rule: "pump_low_pressure", Device: "pump-1", Severity: "major", State: "firing"},
		{Rule: "pump_dry_run", Device: "pump-1", Severity: "critical", State: "pending"}}
	open := []tickets.Ticket{
		{ID: 1, Status: tickets.StatusOpen, RespondBy: now.Add(-time.Minute)},
		{ID: 2, Status: tickets.StatusInProgress, ResolveBy: now.Add(30 * time.Minute)},
		{ID: 3, Status: tickets.StatusAcknowledged, ResolveBy: now.Add(3 * time.Hour)},
		{ID: 4, Status: tickets.StatusOnHold},
	}
	ins := []Inspection{{InspectionState: tickets.InspectionState{Plan: "lift-monthly", Device: "lift-1", Status: tickets.InspectionOverdue}},
		{InspectionState: tickets.InspectionState{Plan: "pump-yearly", Device: "pump-1", Status: tickets.InspectionDueSoon}}}
	o = BuildOverview(ok, devs, alerts, open, ins, now)
	if o.State != StateAlarm || tile(o, "pump-1").State != StateAlarm || tile(o, "lift-1").State != StateOverdue {
		t.Errorf("firing alert: site %s, pump %s, lift %s", o.State, tile(o, "pump-1").State, tile(o, "lift-1").State)
	}
	if o.Alerts["major"] != 1 || o.Pending != 1 || o.Inspections["overdue"] != 1 || o.Inspections["due_soon"] != 1 {
		t.Errorf("counts: alerts %v pending %d inspections %v", o.Alerts, o.Pending, o.Inspections)
	}
	if want := map[string]int{SLABreached: 1, SLADueSoon: 1, SLAOK: 1, SLAPaused: 1}; !equalCounts(o.Tickets, want) {
		t.Errorf("tickets by SLA %v, want %v", o.Tickets, want)
	}
	gw := BuildOverview(ok, devs[2:3], []Alert{{Rule: "gateway_offline", Device: "gateway 10.0.0.1:502", Severity: "major", State: "firing"}}, nil, nil, now)
	if gw.State != StateAlarm {
		t.Errorf("gateway alert: site %s, want alarm", gw.State)
	}
	if f := BuildOverview(map[string]any{"status": "failing"}, nil, nil, nil, nil, now); f.State != StateAlarm {
		t.Errorf("failing daemon: site %s", f.State)
	}
}

func tile(o Overview, id string) Tile {
	for _, t := range o.Devices {
		if t.ID == id {
			return t
		}
	}
	return Tile{}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// alertStatus is a daemon whose alerts a test sets.
type alertStatus struct {
	dashStatus
	alerts chan []Alert
	last   []Alert
}

func (s *alertStatus) Alerts() []Alert {
	select {
	case s.last = <-s.alerts:
	default:
	}
	return s.last
}

// TestEventStream: the stream needs a token, takes it as ?token= (and only
// there, for GETs), says hello, and carries an alert that starts firing as
// an alerts and an overview event; shutdown ends it.
func TestEventStream(t *testing.T) {
	st := &alertStatus{alerts: make(chan []Alert, 1)}
	s := New(Deps{Status: st, Auth: testAuth(t), Read: ReadToken, Events: NewHub()}, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { s.Serve(ctx, ln); close(served) }()
	go s.Watch(ctx, 20*time.Millisecond)
	base := "http://" + ln.Addr().String() + "/api/v1/events"
	for _, c := range []struct {
		url  string
		want int
	}{{base, 401}, {base + "?token=wrong-token-0123456789", 401}} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}
	if resp, _ := http.Get("http://" + ln.Addr().String() + "/api/v1/devices?token=" + viewerToken); resp.StatusCode != 401 {
		t.Errorf("?token= on another route: %d, want 401", resp.StatusCode)
	}
	resp, err := http.Get(base + "?token=" + viewerToken)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("stream ended before %q: %v", prefix, lines.Err())
		return ""
	}
	next("event: hello")
	time.Sleep(50 * time.Millisecond) // the watcher has looked once
	st.alerts <- []Alert{{Rule: "pump_low_pressure", Device: "gateway x", Severity: "major", State: "firing"}}
	for seen := map[string]bool{}; !seen["event: alerts"] || !seen["event: overview"]; {
		seen[next("event: ")] = true
	}
	if d := next("data: "); !strings.Contains(d, `"alarm"`) && !strings.Contains(d, "pump_low_pressure") {
		t.Errorf("event data %s", d)
	}
	if n := s.Events.Stats().Clients; n != 1 {
		t.Errorf("%d clients, want 1", n)
	}
	cancel()
	select {
	case <-served:
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return with a stream open")
	}
}
