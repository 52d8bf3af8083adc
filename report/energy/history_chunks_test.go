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
// chunkReadings readings a meter at its poll interval — 3 days of a
// meter read every minute, so that no request of 1-minute data runs past
// the store's timeout — and 52 days of one read every 15 minutes; the
// requests tile the history without a gap or an overlap.
func TestHistoryChunks(t *testing.T) {
	p, _ := ParsePeriod("2026-11", sim.Zone)
	for _, c := range []struct {
		poll    time.Duration
		maxDays int
	}{{time.Minute, 3}, {15 * time.Minute, 52}} {
		// Hourly readings are enough: the chunks follow the configured
		// poll interval.
		m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity, PollInterval: c.poll}
		var rs []usage.Reading
		for ts, v := p.From.AddDate(-2, 0, 0), 0.0; ts.Before(p.To); ts, v = ts.Add(time.Hour), v+1 {
			rs = append(rs, usage.Reading{Time: ts, Value: v})
		}
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
			t.Fatalf("poll %v: history requests %v, want them to end at %v", c.poll, hist, p.To)
		}
		longest := 0
		for i, q := range hist {
			if i > 0 && !q.From.Equal(hist[i-1].To) {
				t.Errorf("poll %v: request %d starts at %v, the one before ends at %v", c.poll, i, q.From, hist[i-1].To)
			}
			longest = max(longest, int(q.To.Sub(q.From).Round(24*time.Hour)/(24*time.Hour)))
		}
		if longest > c.maxDays || longest < c.maxDays-3 {
			t.Errorf("poll %v: the longest history request spans %d days, want %d at most and about that", c.poll, longest, c.maxDays)
		}
	}
}

// TestChunkedPeriodSameFigures: a month read in 3-day chunks (a meter
// polled every minute) has the figures of one read whole (the same
// readings, polled every 15 minutes): one peak and one demand charge per
// month, the same days, quantity and cost.
func TestChunkedPeriodSameFigures(t *testing.T) {
	p, _ := ParsePeriod("2026-11", sim.Zone)
	var rs []usage.Reading
	v := 0.0
	for ts := p.From.Add(-time.Hour); ts.Before(p.To); ts = ts.Add(15 * time.Minute) {
		rs = append(rs, usage.Reading{Time: ts, Value: v})
		l := ts.In(sim.Zone)
		v += 10 + float64(l.Day()%7) + float64(l.Hour()%5) // the peak falls on no chunk's edge
	}
	build := func(poll time.Duration) (*Report, int) {
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
	whole, n1 := build(15 * time.Minute)
	chunked, n2 := build(time.Minute)
	if n1 != 2 || n2 < 10 {
		t.Fatalf("period read in %d and %d requests, want 2 (a first day, then the rest) and at least 10", n1, n2)
	}
	w, c := whole.Meters[0], chunked.Meters[0]
	if len(chunked.Demand[0].Months) != 1 || c.DemandCost != w.DemandCost || c.DemandCost == 0 ||
		chunked.Demand[0].PeakKW != whole.Demand[0].PeakKW || !chunked.Demand[0].PeakAt.Equal(whole.Demand[0].PeakAt) {
		t.Errorf("chunked demand %+v (charge %v), want %+v (charge %v)", chunked.Demand[0], c.DemandCost, whole.Demand[0], w.DemandCost)
	}
	if len(c.Days) != 30 || len(c.Days) != len(w.Days) || math.Abs(c.Quantity-w.Quantity) > 1e-9 || math.Abs(c.Cost-w.Cost) > 1e-6 {
		t.Errorf("chunked: %d days, %v kWh, cost %v; whole: %d days, %v kWh, cost %v", len(c.Days), c.Quantity, c.Cost, len(w.Days), w.Quantity, w.Cost)
	}
}
