package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// demandWindow is the time constant of the demand average; utilities bill on
// 15-minute demand.
const demandWindow = 15 * time.Minute

// energyMeter is a three-phase meter on the simulated office building's
// supply (see building.go): about 16 kW at night, 40 kW or more on a hot or
// cold working afternoon, 230 V, 50 Hz, power factor 0.92.
//
// Points: voltage_l1..3 (V), current_l1..3 (A), power_l1..3 and total_power
// (W, negative when exporting), power_factor, frequency (Hz), import_energy,
// export_energy and total_energy (kWh counters), demand and max_demand (W).
type energyMeter struct {
	points
	imbalance [3]float64 // per-phase share of the load, fixed per meter
	started   bool
	seed      int64
	noise     loadNoise
	faults    []loadFault
}

func newEnergyMeter(rng *rand.Rand, seed int64, key uint64) *energyMeter {
	m := &energyMeter{points: newPoints(rng), seed: seed,
		noise: loadNoise{seed: uint64(seed), key: key, daySD: 0.04, hourSD: 0.025}}
	var sum float64
	for i := range m.imbalance {
		m.imbalance[i] = m.between(0.9, 1.1)
		sum += m.imbalance[i]
	}
	for i := range m.imbalance {
		m.imbalance[i] *= 3 / sum // shares that add up to the whole load
	}
	m.set("import_energy", math.Round(m.between(10000, 90000)))
	for _, n := range []string{"total_power", "power_factor", "frequency", "export_energy",
		"total_energy", "demand", "max_demand"} {
		m.set(n, 0)
	}
	for i := 1; i <= 3; i++ {
		for _, q := range []string{"voltage", "current", "power"} {
			m.set(phase(q, i), 0)
		}
	}
	return m
}

func phase(quantity string, i int) string { return fmt.Sprintf("%s_l%d", quantity, i) }

func (m *energyMeter) setLoadFaults(f []loadFault) { m.faults = f }

func (m *energyMeter) step(now time.Time, dt time.Duration, active map[string]bool) {
	load := 1000 * electricityKW(m.seed, m.noise, now, m.faults) // W
	pf := m.around(0.92, 0.005)
	if active["low_pf"] {
		pf = m.around(0.65, 0.01) // e.g. a failed capacitor bank
	}
	sign := 1.0
	if active["reverse_energy"] {
		sign = -1 // e.g. a PV inverter exporting, or CTs mounted backwards
	}
	total := 0.0
	for i := 1; i <= 3; i++ {
		v := m.around(230, 1.2)
		share := load / 3 * m.imbalance[i-1]
		a := m.around(share/(v*pf), share/(v*pf)*0.01)
		w := sign * v * a * pf
		m.set(phase("voltage", i), v)
		m.set(phase("current", i), a)
		m.set(phase("power", i), w)
		total += w
	}
	// The counters take the energy of the interval that ends now at the
	// power that began it, so that a step's energy belongs to the interval
	// starting at its previous sample, as a meter's interval data does.
	before := m.v["total_power"]
	m.set("total_power", total)
	m.set("power_factor", pf)
	m.set("frequency", m.around(50, 0.02))

	kwh := math.Abs(before) * dt.Hours() / 1000
	if before >= 0 {
		m.set("import_energy", m.v["import_energy"]+kwh)
	} else {
		m.set("export_energy", m.v["export_energy"]+kwh)
	}
	m.set("total_energy", m.v["import_energy"]+m.v["export_energy"])

	// Demand is the import power averaged over the demand window.
	imp := math.Max(total, 0)
	d := imp
	if m.started {
		alpha := 1 - math.Exp(-dt.Seconds()/demandWindow.Seconds())
		d = m.v["demand"] + alpha*(imp-m.v["demand"])
	}
	m.started = true
	m.set("demand", d)
	m.set("max_demand", math.Max(m.v["max_demand"], d))
}

// restore also carries on the demand average, so that a restored meter's
// max_demand does not jump to its first instantaneous power.
func (m *energyMeter) restore(v map[string]float64) {
	m.points.restore(v)
	if _, ok := v["demand"]; ok {
		m.started = true
	}
}
