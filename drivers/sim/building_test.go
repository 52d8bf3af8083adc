package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestWeatherYear: the simulated year has Shanghai's seasons, a daily cycle
// of about ±4 °C and weather that moves from day to day, and is the same
// whatever the step it is sampled at.
func TestWeatherYear(t *testing.T) {
	monthly := map[time.Month][2]float64{} // sum, count
	var swing, swings float64
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, Zone)
	var dailyMeans []float64
	for d := from; d.Year() == 2025; d = d.AddDate(0, 0, 1) {
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for h := range 24 {
			tc, rh := Weather(1, d.Add(time.Duration(h)*time.Hour))
			if rh < 20 || rh > 100 {
				t.Fatalf("humidity %v at %s", rh, d)
			}
			lo, hi, sum = math.Min(lo, tc), math.Max(hi, tc), sum+tc
		}
		m := monthly[d.Month()]
		monthly[d.Month()] = [2]float64{m[0] + sum/24, m[1] + 1}
		swing += hi - lo
		swings++
		dailyMeans = append(dailyMeans, sum/24)
	}
	mean := func(m time.Month) float64 { return monthly[m][0] / monthly[m][1] }
	if jan := mean(time.January); jan < 2 || jan > 6.5 {
		t.Errorf("January mean %.1f °C, want about 4", jan)
	}
	if jul := mean(time.July); jul < 27 || jul > 31 {
		t.Errorf("July mean %.1f °C, want about 29", jul)
	}
	if s := swing / swings; s < 6 || s > 10 {
		t.Errorf("mean daily swing %.1f °C, want about 8 (±4)", s)
	}
	// Day-to-day noise: daily means are not the smooth season.
	var dd float64
	for i := 1; i < len(dailyMeans); i++ {
		dd += math.Abs(dailyMeans[i] - dailyMeans[i-1])
	}
	if dd /= float64(len(dailyMeans) - 1); dd < 0.4 || dd > 3 {
		t.Errorf("mean day-to-day change %.2f °C, want weather fronts of a degree or so", dd)
	}
	at := time.Date(2025, 7, 20, 14, 7, 0, 0, time.UTC)
	a, _ := Weather(1, at)
	b, _ := Weather(1, at.In(Zone))
	c, _ := Weather(2, at)
	if a != b || a == c {
		t.Errorf("weather at one instant: %v, %v (same seed), %v (another seed)", a, b, c)
	}
}

func TestHolidaysAndOccupancy(t *testing.T) {
	for _, c := range []struct {
		date string
		want bool
	}{{"2025-10-01", true}, {"2025-10-07", true}, {"2025-10-08", false}, {"2026-02-16", true}, {"2026-02-15", false}, {"2025-05-03", true}, {"2025-06-10", false}} {
		d, _ := time.ParseInLocation(time.DateOnly, c.date, Zone)
		if got := Holiday(d.Add(12 * time.Hour)); got != c.want {
			t.Errorf("Holiday(%s) = %v", c.date, got)
		}
	}
	tue := time.Date(2025, 6, 10, 0, 0, 0, 0, Zone)
	for h, want := range map[int]float64{3: 0, 10: 1, 15: 1, 22: 0} {
		if got := occupancy(tue.Add(time.Duration(h) * time.Hour)); got != want {
			t.Errorf("occupancy on a Tuesday at %02d:00 = %v, want %v", h, got, want)
		}
	}
	if got := occupancy(time.Date(2025, 10, 2, 11, 0, 0, 0, Zone)); got > 0.2 {
		t.Errorf("occupancy in the National Day week %v", got)
	}
}

// hourly steps a meter model over [from, to) at step and returns the counter
// increase of each hour.
func hourly(m model, counter string, from, to time.Time, step time.Duration) []float64 {
	var out []float64
	m.step(from, 0, nil)
	prev, _ := m.value(counter)
	for at := from.Add(step); !at.After(to); at = at.Add(step) {
		m.step(at, step, nil)
		if at.Sub(from)%time.Hour == 0 {
			v, _ := m.value(counter)
			out = append(out, v-prev)
			prev = v
		}
	}
	return out
}

// TestEnergyFaults: each energy fault adds what it says, when it says, to
// the meter's counter, and nothing outside its window.
func TestEnergyFaults(t *testing.T) {
	from := time.Date(2025, 6, 9, 0, 0, 0, 0, Zone) // a Monday
	to := from.Add(4 * 24 * time.Hour)
	win := loadFault{from: from.Add(24 * time.Hour), to: from.Add(72 * time.Hour)}
	cases := []struct {
		typ, kind, counter string
		size               float64
		extra              func(h time.Time) float64 // expected extra per hour starting at h
	}{
		{"energy_meter", FaultHVACNight, "import_energy", 10, func(h time.Time) float64 {
			if l := h.In(Zone).Hour(); l >= 20 || l < 8 {
				return 10
			}
			return 0
		}},
		{"energy_meter", FaultBaseloadDrift, "import_energy", 70, func(h time.Time) float64 {
			return elecBaseKW * 0.7 * (h.Sub(win.from).Hours() + 0.375) / (7 * 24) // sampled at :00, :15, :30, :45
		}},
		{"water_meter", FaultWaterLeak, "total_volume", 5, func(time.Time) float64 { return 0.3 }},
		{"gas_meter", FaultGasStuck, "total_volume", 1.5, func(time.Time) float64 { return 1.5 }},
	}
	for _, c := range cases {
		healthy := newModelIn(c.typ, rand.New(rand.NewPCG(1, 2)), 1, 7)
		faulty := newModelIn(c.typ, rand.New(rand.NewPCG(1, 2)), 1, 7)
		f := win
		f.kind, f.size = c.kind, c.size
		faulty.(loadModel).setLoadFaults([]loadFault{f})
		a := hourly(healthy, c.counter, from, to, 15*time.Minute)
		b := hourly(faulty, c.counter, from, to, 15*time.Minute)
		for i := range a {
			h := from.Add(time.Duration(i) * time.Hour)
			want := 0.0
			if f.in(h) {
				want = c.extra(h)
			}
			if got := b[i] - a[i]; math.Abs(got-want) > 0.03*want+1e-6 {
				t.Errorf("%s: hour %s: %.4g extra, want %.4g", c.kind, h.Format("01-02 15:04"), got, want)
				break
			}
		}
	}
}
