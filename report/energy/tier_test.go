package energy

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

const tierTariff = `tariffs:
  currency: CNY
  water:
    - from: 2026-01-01
      tier_basis: BASIS
      tiers:
        - {up_to: 100, price: 3.0}
        - {up_to: 300, price: 4.0}
        - {price: 6.0}
`

// TestTieredBlocks holds block prices to hand-computed figures: two water
// meters of 0.25 m³ a quarter hour each (24 m³ a day) in June 2026 (30
// days), tiers 3.0 to 100 m³, 4.0 to 300 m³, 6.0 beyond.
//
//	per meter, the month: 720 m³ each → 100·3 + 200·4 + 420·6 = 3620 each, 7240
//	per account, the month: 1440 m³ → 100·3 + 200·4 + 1140·6 = 7940
//	per meter, 1–11 June (10 of 30 days: limits 33.33 and 100): 240 m³ each →
//	        33.33·3 + 66.67·4 + 140·6 = 100 + 266.67 + 840 = 1206.67 each, 2413.33
func TestTieredBlocks(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	readings := func(to time.Time) []usage.Reading {
		var rs []usage.Reading
		v := 500.0
		for ts := june.Add(-15 * time.Minute); !ts.After(to); ts = ts.Add(15 * time.Minute) {
			rs = append(rs, usage.Reading{Time: ts, Value: v})
			v += 0.25
		}
		return rs
	}
	for _, tt := range []struct {
		basis string
		days  int
		want  [2]float64
	}{
		{"meter", 30, [2]float64{3620, 3620}},
		{"account", 30, [2]float64{7940 - 3620, 3620}}, // the first meter fills the lower tiers
		{"meter", 10, [2]float64{1206.666667, 1206.666667}},
	} {
		tariffs, err := Decode("tiers.yaml", []byte(strings.Replace(tierTariff, "BASIS", tt.basis, 1)))
		if err != nil {
			t.Fatal(err)
		}
		to := june.AddDate(0, 0, tt.days)
		var ms []*usage.Meter
		pts := map[string][]usage.Reading{}
		for _, id := range []string{"w1", "w2"} {
			ms = append(ms, &usage.Meter{ID: id, Device: "dev-" + id, Counter: "total_volume", Unit: usage.M3, Category: usage.Water,
				Building: "a", PollInterval: 15 * time.Minute})
			pts[id] = readings(to)
		}
		p, _ := NewRange(june, to)
		r, err := Build(context.Background(), &Readings{Meters: ms, Points: pts}, Options{Period: p, Zone: loc, Tariffs: tariffs})
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, m := range r.Meters {
			total += m.EnergyCost
		}
		if math.Abs(total-(tt.want[0]+tt.want[1])) > 1e-4 {
			t.Errorf("%s, %d days: energy cost %.4f, want %.4f", tt.basis, tt.days, total, tt.want[0]+tt.want[1])
		}
		if tt.basis == "meter" {
			for i, m := range r.Meters {
				if math.Abs(m.EnergyCost-tt.want[i]) > 1e-4 {
					t.Errorf("%s, %d days: %s costs %.4f, want %.4f", tt.basis, tt.days, m.Meter, m.EnergyCost, tt.want[i])
				}
			}
		}
	}
}

// TestTierProblems: a tier list that cannot be read is refused at its line.
func TestTierProblems(t *testing.T) {
	bad := `tariffs:
  water:
    - from: 2026-01-01
      price: 2
      tier_basis: household
      tiers:
        - {up_to: 100, price: 3.0}
        - {up_to: 50, price: 4.0}
        - {price: 6.0}
`
	_, err := Decode("t.yaml", []byte(bad))
	if err == nil {
		t.Fatal("bad tiers accepted")
	}
	for _, want := range []string{"instead of price and bands", `tier_basis "household"`, "t.yaml:8:", "up_to 50 must be above the tier before (100)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
