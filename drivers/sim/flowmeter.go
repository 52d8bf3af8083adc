package sim

import (
	"math/rand/v2"
	"time"
)

// flowProfile is the daily shape of a utility meter's flow.
type flowProfile struct {
	base  float64      // flow at any hour, m³/h
	peaks [][3]float64 // hour, width in hours, flow at the peak in m³/h
	leak  float64      // extra flow of the leak fault, m³/h
	total [2]float64   // range of the initial counter reading, m³
}

// waterProfile is a residential building's domestic water: nothing at night,
// peaks at breakfast and dinner.
func waterProfile() flowProfile {
	return flowProfile{
		peaks: [][3]float64{{7.5, 2.5, 5}, {12.5, 2, 2}, {19.5, 3, 6}},
		leak:  0.25,
		total: [2]float64{5000, 50000},
	}
}

// gasProfile is a gas boiler that keeps a base load and works harder in the
// morning warm-up.
func gasProfile() flowProfile {
	return flowProfile{
		base:  2,
		peaks: [][3]float64{{7, 3, 8}, {18, 4, 3}},
		leak:  0.5,
		total: [2]float64{10000, 80000},
	}
}

// flowMeter is a water or gas meter.
//
// Points: flow_rate (m³/h) and total_volume (m³ counter).
type flowMeter struct {
	points
	profile flowProfile
}

func newFlowMeter(rng *rand.Rand, profile flowProfile) *flowMeter {
	m := &flowMeter{points: newPoints(rng), profile: profile}
	m.set("flow_rate", 0)
	m.set("total_volume", float64(int(m.between(profile.total[0], profile.total[1]))))
	return m
}

func (m *flowMeter) step(now time.Time, dt time.Duration, active map[string]bool) {
	h := hourOfDay(now)
	demand := m.profile.base
	for _, p := range m.profile.peaks {
		demand += p[2] * bump(h, p[0], p[1])
	}
	flow := 0.0
	if demand > 0.05 { // taps closed means no flow at all, not noise around zero
		flow = m.around(demand, demand*0.05)
	}
	if active["leak"] {
		flow += m.profile.leak // a leak is the flow that never reaches zero at night
	}
	m.set("flow_rate", flow)
	m.set("total_volume", m.v["total_volume"]+flow*dt.Hours())
}
