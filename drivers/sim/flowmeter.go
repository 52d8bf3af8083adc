package sim

import (
	"math/rand/v2"
	"time"
)

// flowProfile is what a utility meter measures.
type flowProfile struct {
	kind  string     // "water" or "gas", which building load it follows
	leak  float64    // extra flow of the leak fault, m³/h
	total [2]float64 // range of the initial counter reading, m³
	// noise is the meter's day-to-day and hour-to-hour variation, and
	// sampleSD the relative noise of each sample (taps open and close).
	daySD, hourSD, sampleSD float64
}

// waterProfile is the office's domestic water (see building.go): nothing at
// night, peaks at arrival, lunch and departure.
func waterProfile() flowProfile {
	return flowProfile{kind: "water", leak: 0.25, total: [2]float64{5000, 50000}, daySD: 0.08, hourSD: 0.06, sampleSD: 0.1}
}

// gasProfile is the office's gas boiler: a base load at every hour, hot
// water in office hours and space heating in the cold months.
func gasProfile() flowProfile {
	return flowProfile{kind: "gas", leak: 0.5, total: [2]float64{10000, 80000}, daySD: 0.05, hourSD: 0.04, sampleSD: 0.03}
}

// flowMeter is a water or gas meter.
//
// Points: flow_rate (m³/h) and total_volume (m³ counter).
type flowMeter struct {
	points
	profile flowProfile
	seed    int64
	noise   loadNoise
	faults  []loadFault
}

func newFlowMeter(rng *rand.Rand, profile flowProfile, seed int64, key uint64) *flowMeter {
	m := &flowMeter{points: newPoints(rng), profile: profile, seed: seed,
		noise: loadNoise{seed: uint64(seed), key: key, daySD: profile.daySD, hourSD: profile.hourSD}}
	m.set("flow_rate", 0)
	m.set("total_volume", float64(int(m.between(profile.total[0], profile.total[1]))))
	return m
}

func (m *flowMeter) setLoadFaults(f []loadFault) { m.faults = f }

func (m *flowMeter) step(now time.Time, dt time.Duration, active map[string]bool) {
	var demand float64
	if m.profile.kind == "gas" {
		demand = gasM3h(m.seed, m.noise, now)
	} else {
		demand = waterM3h(m.seed, m.noise, now)
	}
	flow := 0.0
	if demand > 0.01 { // taps closed means no flow at all, not noise around zero
		flow = m.around(demand, demand*m.profile.sampleSD)
	}
	flow += faultM3h(now, m.faults)
	if active["leak"] {
		flow += m.profile.leak // a leak is the flow that never reaches zero at night
	}
	// The volume of the interval that ends now flowed at the rate that
	// began it (as the energy meter counts).
	m.set("total_volume", m.v["total_volume"]+m.v["flow_rate"]*dt.Hours())
	m.set("flow_rate", flow)
}
