package energy

import (
	"context"
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
// historyReadings readings a meter at its poll interval — 13 days of a
// meter read every minute, so that no request of 1-minute data runs past
// the store's timeout — and a quarter of one read every 15 minutes; the
// requests tile the history without a gap or an overlap.
func TestHistoryChunks(t *testing.T) {
	p, _ := ParsePeriod("2026-11", sim.Zone)
	for _, c := range []struct {
		poll    time.Duration
		maxDays int
	}{{time.Minute, 13}, {15 * time.Minute, 92}} {
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
