package energy

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

// TestFixedDaily: a daily standing charge is charged per day with the
// schedule in force that day, with the monthly one prorated, and the last
// day of a partial period in part; a negative one is refused.
//
//	1–5 June:  5 days × 2                    = 10
//	6–9 June:  4 days × (3 + 30/30)          = 16
//	10 June until 12:00: ½ × (3 + 30/30)     =  2
//	total                                    = 28
func TestFixedDaily(t *testing.T) {
	const tariff = `tariffs:
  water:
    - {from: 2026-06-01, price: 5, fixed_daily: 2}
    - {from: 2026-06-06, price: 5, fixed_daily: 3, fixed_monthly: 30}
`
	tf, err := Decode("tariff.yaml", []byte(tariff))
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("CST", 8*3600)
	p, _ := ParsePeriod("2026-06", loc)
	var rs []usage.Reading
	for ts, v := p.From.Add(-15*time.Minute), 0.0; ts.Before(p.To); ts, v = ts.Add(15*time.Minute), v+0.1 {
		rs = append(rs, usage.Reading{Time: ts, Value: v})
	}
	m := &usage.Meter{ID: "water", Device: "water-1", Counter: "total_volume", Unit: usage.M3, Category: usage.Water, PollInterval: 15 * time.Minute}
	r, err := Build(context.Background(), &Readings{Meters: []*usage.Meter{m}, Points: map[string][]usage.Reading{"water": rs}},
		Options{Period: p, Zone: loc, Tariffs: tf, Now: time.Date(2026, 6, 10, 12, 0, 0, 0, loc)})
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Meters[0].FixedCost; math.Abs(f-28) > 1e-9 || !r.Partial {
		t.Errorf("fixed %v (partial %v), want 28 of a partial period", f, r.Partial)
	}
	_, err = Decode("bad.yaml", []byte(strings.Replace(tariff, "fixed_daily: 2", "fixed_daily: -2", 1)))
	if err == nil || !strings.Contains(err.Error(), "cannot be negative") {
		t.Errorf("a negative daily charge: %v", err)
	}
}
