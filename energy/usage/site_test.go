package usage

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestSitesShareBucket holds two sites' meter-1 in one bucket, as a bucket
// that many sites write to does: each site's meter reads its own series,
// in both query languages (without the site tag in the query, the two
// devices' readings merge into one series and both meters come out wrong).
func TestSitesShareBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	inf := testenv.StartInfluxd(t)
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var lp bytes.Buffer
	// Site a rises 1 kWh a quarter hour, site b 3 kWh, from different
	// starting readings, over two days.
	rate := map[string]float64{"a": 1, "b": 3}
	for site, r := range rate {
		for i := -1; i <= 2*96; i++ {
			fmt.Fprintf(&lp, "energy_meter,device=meter-1,site=%s import_energy=%v %d\n", site, 1000*r+float64(i)*r, start.Add(time.Duration(i)*15*time.Minute).Unix())
		}
	}
	writeLP(t, inf, lp.Bytes())
	q, err := store.NewQuerier(store.Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	meter := func(site string) *Meter {
		return &Meter{ID: site + "/main", Device: "meter-1", Measurement: "energy_meter", Counter: "import_energy", Unit: KWh,
			Category: Electricity, Site: site, PollInterval: 15 * time.Minute}
	}
	for _, backend := range []Backend{InfluxQLBackend, FluxBackend} {
		t.Run(string(backend), func(t *testing.T) {
			e := NewEngine(q, &Config{Meters: []*Meter{meter("a"), meter("b")}, Query: backend})
			rep, err := e.Consumption(t.Context(), Query{From: start, To: start.Add(48 * time.Hour), Interval: Day})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Meters) != 2 {
				t.Fatalf("%d meters, want 2", len(rep.Meters))
			}
			for _, u := range rep.Meters {
				want := 96 * rate[u.Site]
				for _, s := range u.Slots {
					if math.Abs(s.Amount-want) > 1e-9 {
						t.Errorf("%s %s: %.3f kWh, want %.0f", u.Meter, s.Start.Format(time.DateOnly), s.Amount, want)
					}
				}
			}
			// A site the bucket does not hold reads nothing.
			e = NewEngine(q, &Config{Meters: []*Meter{meter("c")}, Query: backend})
			rep, err = e.Consumption(t.Context(), Query{From: start, To: start.Add(48 * time.Hour), Interval: Day})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rep.Meters[0].Slots {
				if s.Amount != 0 {
					t.Errorf("site c: %.3f kWh on %s, want none", s.Amount, s.Start.Format(time.DateOnly))
				}
			}
		})
	}
}
