package energy

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

// TestDSTSpringDay: the day the clocks go forward has 23 hours (29 March
// 2026 in Berlin loses 02:00–03:00, a valley hour) and is priced by the
// hours it has: at 40 kW, 920 kWh; peak 16 q × 10 × 1.0 + flat 48 q × 10 ×
// 0.5 + valley 28 q × 10 × 0.2 = 456 against 464 on a 24-hour day; the
// month has 31 × 96 − 4 quarter hours, and its fixed charge is the month's.
func TestDSTSpringDay(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	p, _ := ParsePeriod("2026-03", loc)
	var rs []usage.Reading
	v := 0.0
	for ts := p.From.Add(-15 * time.Minute); !ts.After(p.To); ts = ts.Add(15 * time.Minute) {
		rs = append(rs, usage.Reading{Time: ts, Value: v})
		v += 10
	}
	m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity, PollInterval: 15 * time.Minute}
	r, err := Build(context.Background(), &Readings{Meters: []*usage.Meter{m}, Points: map[string][]usage.Reading{"main": rs}},
		Options{Period: p, Zone: loc, Tariffs: mustTariffs(t, "testdata/golden-tariff.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 31 {
		t.Fatalf("%d days, want 31", len(r.Days))
	}
	if d := r.Days[28]; d.Quantity[0] != 920 || math.Abs(d.Cost[0]-456) > 1e-9 {
		t.Errorf("29 March: %v kWh, cost %v; want 920 kWh, 456", d.Quantity[0], d.Cost[0])
	}
	if d := r.Days[27]; d.Quantity[0] != 960 || math.Abs(d.Cost[0]-464) > 1e-9 {
		t.Errorf("28 March: %v kWh, cost %v; want 960 kWh, 464", d.Quantity[0], d.Cost[0])
	}
	if q := r.Meters[0].Quantity; q != (31*96-4)*10 {
		t.Errorf("March: %v kWh, want %v", q, (31*96-4)*10)
	}
	if f := r.Meters[0].FixedCost; math.Abs(f-300) > 1e-9 {
		t.Errorf("fixed %v, want the month's 300", f)
	}
}
