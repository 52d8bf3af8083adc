package store

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

func TestHistoryStep(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, span := range []time.Duration{time.Minute, time.Hour, 33*time.Hour + 7*time.Second, 30 * day, 366 * day} {
		every := HistoryStep(t0, t0.Add(span), MaxHistoryPoints)
		if every < time.Second || every%time.Second != 0 {
			t.Errorf("%v: step %v, want whole seconds ≥ 1s", span, every)
		}
		// windows touched, aligned to the epoch: at most MaxHistoryPoints
		if n := int(span/every) + 1; n > MaxHistoryPoints {
			t.Errorf("%v: step %v gives %d windows", span, every, n)
		}
	}
}

// writeLines posts line protocol (seconds) straight to influxd's v1 API.
func writeLines(t *testing.T, inf *testenv.Influxd, lines []string) {
	t.Helper()
	for len(lines) > 0 {
		n := min(len(lines), 5000)
		resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=s", "text/plain", strings.NewReader(strings.Join(lines[:n], "\n")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("write: %s", resp.Status)
		}
		lines = lines[n:]
	}
}

// TestHistoryInfluxd reads six hours of 1-second data (21,600 points per field; a day took over the client timeout on a loaded 2-core machine)
// back as at most MaxHistoryPoints means per field, booleans as the share of
// time true, and the alert state changes of a device newest first.
func TestHistoryInfluxd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	inf := testenv.StartInfluxd(t)
	q := newTestQuerier(t, inf)
	t0 := time.Now().Add(-7 * time.Hour).Truncate(time.Hour)
	var lines []string
	for i := range 21600 {
		running := i%2 == 0
		lines = append(lines, fmt.Sprintf(`pump,site=hq,device=pump-1 discharge_pressure=%g,running=%t,mode="auto" %d`,
			3+float64(i%60)/60, running, t0.Unix()+int64(i)))
	}
	lines = append(lines,
		fmt.Sprintf(`alerts,site=hq,device=pump-1 pump_low_pressure="firing",pump_low_pressure_severity="major" %d`, t0.Unix()+100),
		fmt.Sprintf(`alerts,site=hq,device=pump-1 pump_low_pressure="resolved",pump_low_pressure_severity="major" %d`, t0.Unix()+200),
		fmt.Sprintf(`alerts,site=hq,device=meter-1 meter_x="firing",meter_x_severity="minor" %d`, t0.Unix()+150))
	writeLines(t, inf, lines)

	ctx := context.Background()
	start, stop := t0, t0.Add(6*time.Hour)
	series, every, err := q.History(ctx, "pump", "pump-1", []string{"discharge_pressure", "running", "nothing"}, start, stop, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 3 || series[0].Field != "discharge_pressure" || series[1].Field != "running" || len(series[2].Points) != 0 {
		t.Fatalf("series: %+v", series)
	}
	for _, s := range series[:2] {
		if n := len(s.Points); n < MaxHistoryPoints/2 || n > MaxHistoryPoints {
			t.Errorf("%s: %d points over six hours every %v, want ≤ %d", s.Field, n, every, MaxHistoryPoints)
		}
		for i, p := range s.Points {
			if p.Time.Before(start) || !p.Time.Before(stop) || (i > 0 && !p.Time.After(s.Points[i-1].Time)) {
				t.Fatalf("%s: point %d at %v out of order or range", s.Field, i, p.Time)
			}
		}
	}
	if p := series[0].Points[10]; p.Value < 3 || p.Value > 4 {
		t.Errorf("mean pressure %v, want within [3, 4]", p.Value)
	}
	if p := series[1].Points[10]; p.Value < 0.4 || p.Value > 0.6 {
		t.Errorf("running share %v, want about 0.5", p.Value)
	}
	// a short range is not aggregated below a second: raw points come back
	short, _, err := q.History(ctx, "pump", "pump-1", []string{"discharge_pressure"}, t0, t0.Add(time.Minute), 0)
	if err != nil || len(short[0].Points) != 60 {
		t.Errorf("a minute: %d points, %v; want 60", len(short[0].Points), err)
	}
	if _, _, err := q.History(ctx, "pump", "pump-1", []string{"mode"}, start, stop, 0); err == nil {
		t.Errorf("text field: %v, want an error naming it", err)
	}

	ev, err := q.AlertHistory(ctx, "alerts", "pump-1", t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].State != "resolved" || ev[1].State != "firing" || ev[0].Severity != "major" || ev[0].Rule != "pump_low_pressure" {
		t.Errorf("alert history: %+v", ev)
	}
	all, err := q.AlertHistory(ctx, "alerts", "", t0, t0.Add(time.Hour), 2)
	if err != nil || len(all) != 2 || all[1].Device != "meter-1" {
		t.Errorf("alert history of every device, limit 2: %+v, %v", all, err)
	}
}
