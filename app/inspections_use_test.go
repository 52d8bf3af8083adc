package app

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/inspections"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestReadDailyUse writes counters into a real influxd and reads their
// daily use over the last 30 days, against hand arithmetic: (last − first)
// ÷ the days between those readings, across measurements (a device's
// counter in two of them is one counter), integer and float fields alike;
// a counter that went backwards (a reset) and one with under a day of data
// give no estimate, and points no plan watches are not read.
func TestReadDailyUse(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	inf := testenv.StartInfluxd(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(days float64) int64 { return now.Add(-time.Duration(days * 24 * float64(time.Hour))).Unix() }
	var lp bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&lp, format+"\n", a...) }
	w("pump,device=pump-1 run_hours=100 %d", at(40))    // before the span: not read
	w("pump,device=pump-1 run_hours=1000 %d", at(29.5)) // first
	w("pump,device=pump-1 run_hours=1200 %d", at(10))
	w("pump,device=pump-1 run_hours=1480 %d", at(0.5))         // last: 480 h over 29 days
	w("pump,device=pump-1 run_hours=9999 %d", at(-1))          // after now: not read
	w("motor,device=pump-2 run_hours=50i,trips=3i %d", at(20)) // integers (a field has one type per measurement)
	w("motor,device=pump-2 run_hours=90i,trips=7i %d", at(10)) // 40 h, 4 trips over 10 days
	w("breaker,device=pump-2 trips=9i %d", at(5))              // the same counter in another measurement: last
	w("pump,device=pump-3 run_hours=500 %d", at(20))
	w("pump,device=pump-3 run_hours=2 %d", at(2)) // reset: no estimate
	w("pump,device=pump-4 run_hours=10 %d", at(0.9))
	w("pump,device=pump-4 run_hours=20 %d", at(0.1)) // under a day: none
	w("pump,device=pump-5 other=1 %d", at(20))
	w("pump,device=pump-5 other=5 %d", at(1)) // no plan watches it
	resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=s", "text/plain", &lp)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	cfg := &config.Config{InfluxDB: store.Config{URL: inf.URL, Bucket: inf.Bucket},
		Inspections: []*inspections.Plan{{Name: "svc", Counters: []inspections.Counter{{Point: "run_hours", Every: 2000}, {Point: "trips", Every: 50}}}}}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got, err := readDailyUse(context.Background(), q, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		"pump-1": {"run_hours": 480.0 / 29},
		"pump-2": {"run_hours": 40.0 / 10, "trips": 6.0 / 15},
	}
	if len(got) != len(want) {
		t.Errorf("use of %d devices, want %d: %v", len(got), len(want), got)
	}
	for dev, points := range want {
		if len(got[dev]) != len(points) {
			t.Errorf("%s: %v, want %v", dev, got[dev], points)
		}
		for p, v := range points {
			if g, ok := got[dev][p]; !ok || math.Abs(g-v) > 1e-9*v {
				t.Errorf("%s %s: %v a day (found %v), want %v", dev, p, g, ok, v)
			}
		}
	}
}
