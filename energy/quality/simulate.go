package quality

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/energy/baseline"
)

// Meter is one simulated meter the quality run scores.
type Meter struct {
	ID   string // device id, which seeds its own noise
	Type string // sim equipment type: energy_meter, water_meter, gas_meter
}

// Fuel is what the meter measures.
func (m Meter) Fuel() baseline.Fuel {
	switch m.Type {
	case "water_meter":
		return baseline.Water
	case "gas_meter":
		return baseline.Gas
	}
	return baseline.Electricity
}

// counter is the model's counter point for the meter's usage.
func (m Meter) counter() string {
	if m.Type == "energy_meter" {
		return "import_energy"
	}
	return "total_volume"
}

// faultKinds are the energy faults a meter can be given.
func (m Meter) faultKinds() []string {
	switch m.Type {
	case "water_meter":
		return []string{sim.FaultWaterLeak}
	case "gas_meter":
		return []string{sim.FaultGasStuck}
	}
	return []string{sim.FaultHVACNight, sim.FaultBaseloadDrift}
}

// meterData is a meter's simulated two years: 15-minute usage, hourly
// outdoor temperatures, and the faults injected in the reporting year.
type meterData struct {
	meter   Meter
	usage   []baseline.Reading
	temps   []baseline.TempReading
	faults  []Truth
	meanUse float64 // mean hourly usage of the baseline year
}

// readings turns a counter sampled every step into interval usage.
func readings(s sim.Series, counter string) []baseline.Reading {
	c := s.Values[counter]
	out := make([]baseline.Reading, 0, len(c))
	for i := 0; i+1 < len(c); i++ {
		out = append(out, baseline.Reading{Start: s.Times[i], Usage: c[i+1] - c[i]})
	}
	return out
}

// simulate plays a meter over the baseline year and the reporting year
// from start, with faults planned in the reporting year by rng.
func simulate(m Meter, seed int64, start time.Time, rng *rand.Rand, o Options) (*meterData, error) {
	const step = 15 * time.Minute
	mid, end := start.AddDate(1, 0, 0), start.AddDate(2, 0, 0)
	healthy, err := sim.Play(m.Type, m.ID, seed, nil, start, mid, step, m.counter())
	if err != nil {
		return nil, err
	}
	base := readings(healthy, m.counter())
	var sum float64
	for _, r := range base {
		sum += r.Usage
	}
	d := &meterData{meter: m, meanUse: sum / mid.Sub(start).Hours()}
	d.faults = plan(m, d.meanUse, mid, end, rng, o)
	var faults []sim.Fault
	for _, f := range d.faults {
		faults = append(faults, f.fault(start))
	}
	played, err := sim.Play(m.Type, m.ID, seed, faults, start, end, step, m.counter())
	if err != nil {
		return nil, err
	}
	d.usage = readings(played, m.counter())
	ws, err := sim.Play("weather_station", "weather-1", seed, nil, start, end, time.Hour, "outdoor_temperature")
	if err != nil {
		return nil, err
	}
	for i, t := range ws.Times {
		d.temps = append(d.temps, baseline.TempReading{Time: t, Temp: ws.Values["outdoor_temperature"][i]})
	}
	return d, nil
}

// plan draws the faults of a meter's reporting year: one after another
// with at least two healthy weeks between them, each 1–14 days long, sizes
// 10–40 % of the meter's mean load (a drift: its rate, per week).
func plan(m Meter, meanUse float64, from, to time.Time, rng *rand.Rand, o Options) []Truth {
	var out []Truth
	kinds := m.faultKinds()
	at := from.Add(time.Duration(7+rng.IntN(14)) * 24 * time.Hour)
	for {
		days := 1 + rng.IntN(14)
		// Start at any hour: detection delay depends on it.
		start := at.Add(time.Duration(rng.IntN(24)) * time.Hour)
		end := start.Add(time.Duration(days) * 24 * time.Hour)
		if end.After(to.Add(-7 * 24 * time.Hour)) {
			return out
		}
		kind := kinds[rng.IntN(len(kinds))]
		frac := o.MinSize + rng.Float64()*(o.MaxSize-o.MinSize)
		t := Truth{Device: m.ID, Kind: kind, Start: start, End: end, Fraction: frac}
		switch kind {
		case sim.FaultHVACNight:
			t.Size = frac * meanUse // kW: kWh per hour
		case sim.FaultBaseloadDrift:
			// frac of the mean load per week, written as % of the base load.
			t.Size = 100 * frac * meanUse / baseKW
		case sim.FaultWaterLeak:
			t.Size = frac * meanUse * 1000 / 60 // m³/h to L/min
		case sim.FaultGasStuck:
			t.Size = frac * meanUse // m³/h
		}
		out = append(out, t)
		at = end.Add(time.Duration(14+rng.IntN(21)) * 24 * time.Hour)
	}
}

// baseKW is the simulated building's base electric load, which a drift's
// rate is a share of.
const baseKW = 15

// Truth is one injected fault and what the scoring needs of it.
type Truth struct {
	Device   string
	Kind     string
	Start    time.Time
	End      time.Time
	Size     float64
	Fraction float64 // size as a share of the meter's mean load (a drift: per week)
}

func (t Truth) fault(start time.Time) sim.Fault {
	return sim.Fault{Device: t.Device, Kind: t.Kind, After: t.Start.Sub(start), Until: t.End.Sub(start), Size: t.Size}
}

// onset is when the fault becomes one of at least MinSize of the load: its
// start, or for a drift when its excess has grown that far; zero when it
// never does before it ends.
func (t Truth) onset(minSize float64) time.Time {
	if t.Kind != sim.FaultBaseloadDrift {
		return t.Start
	}
	week := 7 * 24 * time.Hour
	at := t.Start.Add(time.Duration(minSize / t.Fraction * float64(week)))
	if !at.Before(t.End) {
		return time.Time{}
	}
	return at
}

// eligible reports whether the fault is one the recall target covers: at
// least MinSize of the load for at least a day.
func (t Truth) eligible(minSize float64) bool {
	on := t.onset(minSize)
	return !on.IsZero() && t.End.Sub(on) >= 24*time.Hour && t.Fraction >= minSize-1e-9
}

func (t Truth) String() string {
	return fmt.Sprintf("%s %s %.0f%% %s–%s", t.Device, t.Kind, 100*t.Fraction, t.Start.Format("01-02 15h"), t.End.Format("01-02 15h"))
}

// median of xs, NaN when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
