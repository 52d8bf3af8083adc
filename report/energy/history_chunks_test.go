package energy

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/energy/usage"
)

// recordingSource records the consumption queries a report makes.
type recordingSource struct {
	Source
	mu      sync.Mutex
	queries []usage.Query
}

func (s *recordingSource) Consumption(ctx context.Context, q usage.Query) (*usage.Report, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	return s.Source.Consumption(ctx, q)
}

// TestHistoryChunks: the history is read in requests of about
// chunkReadings readings a meter as InfluxDB holds them, whatever the poll
// interval: 3 days of readings a minute apart, so that no request of
// 1-minute data runs past the store's timeout, and about a quarter of
// hourly ones (a coarser backfill of a meter polled every minute), so that
// sparse history costs few requests; the requests tile the history without
// a gap or an overlap. (The request that reaches from the hourly readings
// into the 1-minute ones is sized by the hourly ones: the density is
// learnt from what came before.)
func TestHistoryChunks(t *testing.T) {
	p, _ := ParsePeriod("2026-11", sim.Zone)
	dense := p.From.AddDate(0, 0, -40) // every minute from here, hourly before
	var rs []usage.Reading
	v := 0.0
	for ts := p.From.AddDate(-2, 0, 0); ts.Before(p.To); v++ {
		rs = append(rs, usage.Reading{Time: ts, Value: v})
		if ts.Before(dense) {
			ts = ts.Add(time.Hour)
		} else {
			ts = ts.Add(time.Minute)
		}
	}
	m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity,
		PollInterval: time.Minute, MaxGap: 2 * time.Hour}
	src := &recordingSource{Source: &Readings{Meters: []*usage.Meter{m}, Points: map[string][]usage.Reading{"main": rs}}}
	if _, err := Build(context.Background(), src, Options{Period: p, Zone: sim.Zone}); err != nil {
		t.Fatal(err)
	}
	var hist []usage.Query
	for _, q := range src.queries {
		if q.Interval == usage.Hour {
			hist = append(hist, q)
		}
	}
	if len(hist) < 2 || !hist[len(hist)-1].To.Equal(p.To) {
		t.Fatalf("history requests %v, want them to end at %v", hist, p.To)
	}
	sparse, denseDays := 0, 0
	for i, q := range hist {
		if i > 0 && !q.From.Equal(hist[i-1].To) {
			t.Errorf("request %d starts at %v, the one before ends at %v", i, q.From, hist[i-1].To)
		}
		days := int(q.To.Sub(q.From).Round(24*time.Hour) / (24 * time.Hour))
		switch {
		case !q.To.After(dense):
			sparse = max(sparse, days)
		case !q.From.Before(p.From.AddDate(0, 0, 8)): // past the request into the dense part and the next
			denseDays = max(denseDays, days)
		}
	}
	if sparse < 85 || denseDays != 3 {
		t.Errorf("the longest history request spans %d days of hourly readings and %d of 1-minute ones, want about 92 and 3", sparse, denseDays)
	}
}

// TestChunkedPeriodSameFigures: a month of 1-minute readings, read in
// 3-day chunks, has the figures of the same counter read every 15 minutes
// (one request a month): one peak and one demand charge per month, the
// same days, quantity and cost.
func TestChunkedPeriodSameFigures(t *testing.T) {
	p, _ := ParsePeriod("2026-11", sim.Zone)
	spike := time.Date(2026, 11, 17, 10, 0, 0, 0, sim.Zone) // in no chunk's first day
	// Each quarter hour's use is spread over its minutes; the 15-minute
	// reading at t is the counter at t+14m, the quarter's last minute.
	var minutes, quarters []usage.Reading
	v := 0.0
	for ts := p.From.Add(-time.Hour); ts.Before(p.To); ts = ts.Add(time.Minute) {
		q := ts.Truncate(15 * time.Minute)
		rate := 1 + float64(q.Unix()/900%7)
		if q.Equal(spike) {
			rate = 20
		}
		v += rate
		minutes = append(minutes, usage.Reading{Time: ts, Value: v})
		if ts.Sub(q) == 14*time.Minute {
			quarters = append(quarters, usage.Reading{Time: q, Value: v})
		}
	}
	build := func(poll time.Duration, rs []usage.Reading) (*Report, int) {
		m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity,
			PollInterval: poll, MaxGap: 20 * time.Minute}
		src := &recordingSource{Source: &Readings{Meters: []*usage.Meter{m}, Points: map[string][]usage.Reading{"main": rs}}}
		r, err := Build(context.Background(), src, Options{Period: p, Zone: sim.Zone, Tariffs: mustTariffs(t, "testdata/month-tariff.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, q := range src.queries {
			if q.Interval == usage.Quarter {
				n++
			}
		}
		return r, n
	}
	whole, n1 := build(15*time.Minute, quarters)
	chunked, n2 := build(time.Minute, minutes)
	if n1 != 2 || n2 < 10 {
		t.Fatalf("period read in %d and %d requests, want 2 (a first day, then the rest) and at least 10", n1, n2)
	}
	w, c := whole.Meters[0], chunked.Meters[0]
	if len(chunked.Demand[0].Months) != 1 || math.Abs(c.DemandCost-w.DemandCost) > 1e-9 || c.DemandCost == 0 ||
		chunked.Demand[0].PeakKW != whole.Demand[0].PeakKW || !chunked.Demand[0].PeakAt.Equal(spike) {
		t.Errorf("chunked demand %+v (charge %v), want %+v (charge %v)", chunked.Demand[0], c.DemandCost, whole.Demand[0], w.DemandCost)
	}
	if len(c.Days) != 30 || len(c.Days) != len(w.Days) || math.Abs(c.Quantity-w.Quantity) > 1e-9 || math.Abs(c.Cost-w.Cost) > 1e-6 {
		t.Errorf("chunked: %d days, %v kWh, cost %v; whole: %d days, %v kWh, cost %v", len(c.Days), c.Quantity, c.Cost, len(w.Days), w.Quantity, w.Cost)
	}
}
