package energy

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestGoldenInfluxd holds a report over readings written to a real influxd
// (read through the InfluxQL engine the daemon uses, in 3-day chunks for a
// meter polled every minute) to hand-computed totals, per meter, category
// and band, with the price change of 6 June, a meter reset and a gap.
// 1–10 June 2026 (+08:00); golden-tariff.yaml, water at 5 a m³:
//
//	main, every minute, 10 kWh a quarter hour (40 kW); reset at 3 June
//	  12:00 (to the minute's use, counted after it); no readings from
//	  8 June 13:00 to 15:00 (the 80 kWh rise lands at 15:00, flat, and is
//	  no demand)
//	  peak   10 d × 160 kWh = 1600 kWh, 5 × 160 × 1.0 + 5 × 160 × 1.2 = 1760
//	  flat   10 d × 480 kWh = 4800 kWh, × 0.5 = 2400
//	  valley 10 d × 320 kWh = 3200 kWh, × 0.2 = 640
//	  energy 9600 kWh, 4800; fixed 300 × 5/30 + 600 × 5/30 = 150;
//	  demand 40 kW × 40 × 10/30 = 533.333…
//	water, 0.05 m³ a quarter hour: 48 m³, 240
func TestGoldenInfluxd(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	inf := testenv.StartInfluxd(t)
	loc := time.FixedZone("CST", 8*3600)
	from, to := time.Date(2026, 6, 1, 0, 0, 0, 0, loc), time.Date(2026, 6, 11, 0, 0, 0, 0, loc)
	reset := time.Date(2026, 6, 3, 12, 0, 0, 0, loc)
	gapFrom, gapTo := time.Date(2026, 6, 8, 13, 0, 0, 0, loc), time.Date(2026, 6, 8, 15, 0, 0, 0, loc)
	var lp bytes.Buffer
	main, water := 5000.0, 20.0
	for ts := from.Add(-time.Hour); !ts.After(to); ts = ts.Add(time.Minute) {
		if ts.After(from.Add(-time.Hour)) {
			main += 10.0 / 15
		}
		if ts.Equal(reset) {
			main = 10.0 / 15
		}
		if ts.Minute()%15 == 0 {
			fmt.Fprintf(&lp, "water_meter,device=water-1 total_volume=%v %d\n", water, ts.Unix())
			water += 0.05
		}
		if !ts.After(gapFrom) || !ts.Before(gapTo) {
			fmt.Fprintf(&lp, "energy_meter,device=meter-1 import_energy=%v %d\n", main, ts.Unix())
		}
	}
	if err := postLP(t.Context(), inf.URL+"/write?db="+inf.DB+"&precision=s", lp.Bytes()); err != nil {
		t.Fatal(err)
	}
	q, err := store.NewQuerier(store.Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	meters := []*usage.Meter{
		{ID: "main", Device: "meter-1", Measurement: "energy_meter", Counter: "import_energy", Unit: usage.KWh,
			Category: usage.Electricity, PollInterval: time.Minute, MaxGap: 20 * time.Minute},
		{ID: "water", Device: "water-1", Measurement: "water_meter", Counter: "total_volume", Unit: usage.M3,
			Category: usage.Water, PollInterval: 15 * time.Minute},
	}
	tariffs := mustTariffs(t, "testdata/golden-tariff.yaml")
	tariffs.Water = []*Schedule{{From: "2026-01-01", Price: 5}}
	src := &recordingSource{Source: &engineSource{Engine: usage.NewEngine(q, &usage.Config{Meters: meters}),
		spent: map[usage.Interval]time.Duration{}, calls: map[usage.Interval]int{}}}
	p, _ := NewRange(from, to)
	r, err := Build(t.Context(), src, Options{Period: p, Zone: loc, Tariffs: tariffs})
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %.6f, want %.6f", what, got, want)
		}
	}
	if len(r.Meters) != 2 || r.Meters[0].Meter != "main" {
		t.Fatalf("meters %+v", r.Meters)
	}
	m, w := r.Meters[0], r.Meters[1]
	near("main kWh", m.Quantity, 9600)
	near("main energy cost", m.EnergyCost, 4800)
	near("main fixed", m.FixedCost, 150)
	near("main demand", m.DemandCost, 40*40*10/30.0)
	near("water m³", w.Quantity, 48)
	near("water cost", w.Cost, 240)
	want := map[BandName][2]float64{"peak": {1600, 1760}, "flat": {4800, 2400}, "valley": {3200, 640}}
	for _, b := range r.Bands {
		if b.Category != usage.Electricity {
			continue
		}
		near(string(b.Band)+" kWh", b.Quantity, want[b.Band][0])
		near(string(b.Band)+" cost", b.Cost, want[b.Band][1])
		delete(want, b.Band)
	}
	if len(want) > 0 {
		t.Errorf("bands %v missing: %+v", want, r.Bands)
	}
	for _, c := range r.Categories {
		switch c.Category {
		case usage.Electricity:
			near("electricity cost", c.Cost, 4800+150+40*40*10/30.0)
		case usage.Water:
			near("water category", c.Quantity, 48)
		}
	}
	if qr := r.Quality[0]; qr.Resets != 1 || qr.Gaps != 1 || qr.LongestGap != 2*time.Hour {
		t.Errorf("main's quality %+v, want one reset and one gap of 2 h", qr)
	}
	chunks := 0
	for _, q := range src.queries {
		if q.Interval == usage.Quarter {
			chunks++
		}
	}
	if chunks < 4 {
		t.Errorf("the period was read in %d requests, want the 1-minute meter's 3-day chunks", chunks)
	}
}
