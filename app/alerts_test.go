package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

const alertTestRules = `
groups:
  - name: pump
    rules:
      - name: pump_fault
        match: {type: pump}
        expr: fault
        flapping: {window: 0s}
        ticket: {priority: P2, category: plumbing}
      - name: pump_low_pressure
        match: {type: pump}
        expr: discharge_pressure < 1.5
        for: 10m
        ticket: {priority: P2, category: plumbing}
`

// alertApp is an app with tickets, a writer that never sends, and the rules
// above over one pump, with a clock the test sets; tickets are applied
// synchronously.
type alertApp struct {
	*app
	cfg   *config.Config
	clock time.Time
}

func newAlertApp(t testing.TB, dir string) *alertApp {
	t.Helper()
	f, err := rules.ParseFile("rules.yaml", []byte(alertTestRules))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{StateDir: dir,
		Profiles: map[string]*drivers.Profile{"pump": {Type: "pump", Points: []drivers.Point{
			{Name: "fault", Type: drivers.TypeBool}, {Name: "discharge_pressure", Type: drivers.TypeFloat32}}}},
		Devices: []*config.Device{{ID: "pump-1", Profile: "pump"}},
		Rules:   f.Rules()}
	st, err := tickets.Open(context.Background(), filepath.Join(dir, "tickets.db"), tickets.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := store.NewWriter(store.Config{URL: "http://127.0.0.1:1", Bucket: "facility/autogen"}, store.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	aa := &alertApp{cfg: cfg, clock: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	aa.app = &app{log: slog.New(slog.DiscardHandler), now: func() time.Time { return aa.clock }, tickets: st,
		writer: w, cfg: cfg, silences: rules.NewSilenceStore(filepath.Join(dir, rules.SilencesFile))}
	return aa
}

func (aa *alertApp) poll(al *alerter, kv ...any) {
	var ss []drivers.Sample
	for i := 0; i < len(kv); i += 2 {
		s := drivers.Sample{Time: aa.clock, Device: "pump-1", Measurement: "pump", Point: kv[i].(string)}
		switch v := kv[i+1].(type) {
		case bool:
			s.Value = drivers.Bool(v)
		case float64:
			s.Value = drivers.Float(v)
		}
		ss = append(ss, s)
	}
	al.observe(context.Background(), ss)
}

func openTickets(t *testing.T, a *app) []tickets.Ticket {
	t.Helper()
	ts, err := a.tickets.List(context.Background(), tickets.Filter{OpenOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestAlertStateAcrossRestart restarts the app while one alert fires and
// another is pending: the firing one opens no second ticket, and the
// downtime does not count as pending time.
func TestAlertStateAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	aa := newAlertApp(t, dir)
	ctx := context.Background()
	al, err := aa.newAlerter(ctx, aa.cfg)
	if err != nil {
		t.Fatal(err)
	}
	aa.poll(al, "fault", true, "discharge_pressure", 1.0) // fires, and starts 10 minutes pending
	aa.clock = aa.clock.Add(4 * time.Minute)
	al.tick(ctx)
	al.stop()
	open := openTickets(t, aa.app)
	if len(open) != 1 || open[0].Occurrences != 1 {
		t.Fatalf("before the restart: %+v", open)
	}
	if _, err := os.Stat(filepath.Join(dir, rules.StateFile)); err != nil {
		t.Fatalf("no state file: %v", err)
	}

	// An hour later, a new process.
	bb := newAlertApp(t, dir)
	bb.clock = aa.clock.Add(time.Hour)
	al2, err := bb.newAlerter(ctx, bb.cfg)
	if err != nil {
		t.Fatal(err)
	}
	open = openTickets(t, bb.app)
	if len(open) != 1 || open[0].ID != 1 || open[0].Occurrences != 2 {
		t.Fatalf("after the restart, want the same ticket with a second occurrence: %+v", open)
	}
	states := func() []string {
		var out []string
		for _, a := range bb.alertsView() {
			out = append(out, a.Rule+":"+a.State.String())
		}
		slices.Sort(out)
		return out
	}
	if got := states(); !slices.Equal(got, []string{"pump_fault:firing", "pump_low_pressure:pending"}) {
		t.Fatalf("restored alerts = %v", got)
	}
	bb.clock = bb.clock.Add(5*time.Minute + 59*time.Second)
	bb.poll(al2, "fault", true, "discharge_pressure", 1.0)
	if got := states(); got[1] != "pump_low_pressure:pending" {
		t.Errorf("pending 9m59s in all, without the downtime: %v", got)
	}
	bb.clock = bb.clock.Add(time.Second)
	bb.poll(al2, "fault", true, "discharge_pressure", 1.0)
	if got := states(); got[1] != "pump_low_pressure:firing" {
		t.Errorf("pending 10m in all: %v", got)
	}
	if n := len(openTickets(t, bb.app)); n != 2 {
		t.Errorf("open tickets = %d, want the fault's and the pressure's", n)
	}
}

// TestSilenceFromTheAPI mutes an alert with a silence added the way the
// API adds it: the alert is recorded, no ticket opens until it ends.
func TestSilenceFromTheAPI(t *testing.T) {
	aa := newAlertApp(t, t.TempDir())
	ctx := context.Background()
	al, err := aa.newAlerter(ctx, aa.cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := rules.ParseMatchers([]string{`device="pump-1"`})
	s, err := aa.AddSilence(ctx, rules.Silence{Kind: rules.KindMaintenance, Matchers: m, EndsAt: aa.clock.Add(time.Hour), Comment: "seal change"})
	if err != nil {
		t.Fatal(err)
	}
	al.tick(ctx) // picks the file up
	aa.poll(al, "fault", true, "discharge_pressure", 3.0)
	if v := aa.alertsView(); len(v) != 1 || v[0].State != rules.Firing || len(v[0].SilencedBy) != 1 || v[0].SilencedBy[0] != s.ID {
		t.Fatalf("alerts = %+v", v)
	}
	if n := len(openTickets(t, aa.app)); n != 0 {
		t.Fatalf("a silenced alert opened %d tickets", n)
	}
	if err := aa.ExpireSilence(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	aa.clock = aa.clock.Add(time.Second)
	al.tick(ctx)
	if n := len(openTickets(t, aa.app)); n != 1 {
		t.Fatalf("after the silence ended: %d tickets, want 1", n)
	}
	if list, _ := aa.ListSilences(ctx); len(list) != 1 || list[0].Active(aa.clock) {
		t.Errorf("silences = %+v", list)
	}
}

// BenchmarkSampleToTicket is the latency from a poll's arrival at the rules
// to its alert's ticket change committed in SQLite (and the alert state
// saved), one firing or resolution per poll.
func BenchmarkSampleToTicket(b *testing.B) {
	aa := newAlertApp(b, b.TempDir())
	ctx := context.Background()
	al, err := aa.newAlerter(ctx, aa.cfg)
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		aa.clock = aa.clock.Add(time.Second)
		start := time.Now()
		aa.poll(al, "fault", i%2 == 0, "discharge_pressure", 3.0)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
