package store

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

// TestHistoryInfluxQLMatchesFlux reads two hours of 1-second data, whose
// series change tags half way (a device moved to another site), from a
// start that is not on a window boundary, with History (Flux) and
// HistoryInfluxQL, and wants the same windows and means.
func TestHistoryInfluxQLMatchesFlux(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	inf := testenv.StartInfluxd(t)
	q := newTestQuerier(t, inf)
	t0 := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	var lines []string
	for i := range 7200 {
		site := "hq"
		if i >= 3600 {
			site = "annex"
		}
		lines = append(lines, fmt.Sprintf(`pump,site=%s,device=pump-1 discharge_pressure=%g,motor_current=%di %d`,
			site, 3+float64(i%60)/60, 10+i%7, t0.Unix()+int64(i)))
	}
	lines = append(lines, fmt.Sprintf(`pump,site=hq,device=pump-2 discharge_pressure=99 %d`, t0.Unix()+10))
	writeLines(t, inf, lines)

	ctx := context.Background()
	fields := []string{"discharge_pressure", "motor_current", "nothing"}
	start, stop := t0.Add(time.Second), t0.Add(2*time.Hour)
	flux, fluxEvery, err := q.History(ctx, "pump", "pump-1", fields, start, stop, 0)
	if err != nil {
		t.Fatal(err)
	}
	ql, every, err := q.HistoryInfluxQL(ctx, "pump", "pump-1", fields, start, stop, 0)
	if err != nil {
		t.Fatal(err)
	}
	if every != fluxEvery || every != 4*time.Second {
		t.Errorf("step %v, Flux %v, want 4s", every, fluxEvery)
	}
	if len(ql) != 3 || len(ql[2].Points) != 0 {
		t.Fatalf("series: %+v", ql)
	}
	for i, f := range fields[:2] {
		a, b := ql[i].Points, flux[i].Points
		if ql[i].Field != f || len(a) != len(b) || len(a) < 1700 || len(a) > MaxHistoryPoints {
			t.Fatalf("%s: %d points, Flux %d, want the same, 1700 to %d", f, len(a), len(b), MaxHistoryPoints)
		}
		for j := range a {
			if !a[j].Time.Equal(b[j].Time) || math.Abs(a[j].Value-b[j].Value) > 1e-9 {
				t.Fatalf("%s: point %d: %v %v, Flux %v %v", f, j, a[j].Time, a[j].Value, b[j].Time, b[j].Value)
			}
		}
		if !a[0].Time.Equal(start) {
			t.Errorf("%s: first point at %v, want the start %v", f, a[0].Time, start)
		}
	}
	// pump-2's 99 is not pump-1's
	for _, p := range ql[0].Points {
		if p.Value > 4 {
			t.Fatalf("pump-1's mean %v at %v holds another device's reading", p.Value, p.Time)
		}
	}
	if _, _, err := q.HistoryInfluxQL(ctx, "pump", "pump-1", fields, stop, start, 0); err == nil {
		t.Error("start after stop: no error")
	}
}
