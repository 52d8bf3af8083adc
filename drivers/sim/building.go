package sim

import (
	"math"
	"time"
)

// The simulated building is an office in Shanghai: people from 08:00 to
// 20:00 on working days, a few at weekends and on public holidays, nobody at
// night. Its electricity meter sees a 24-hour base load, lighting and plugs
// that follow the people, chillers whose load grows with the degree-hours
// above 24 °C and heat pumps and fans with those below 14 °C. The gas
// boiler heats below 15 °C and makes hot water; the domestic water follows
// the people, with cooling-tower make-up on hot days. Every meter has its
// own day-to-day and hour-to-hour noise, drawn from its device id, on top of
// the weather every meter shares.
//
// All of it is a pure function of (seed, device, time): the live simulator,
// a backfill at any step and the detection-quality tests see the same
// building.

// Load constants of the building, in kW for electricity and m³/h for gas
// and water.
const (
	elecBaseKW         = 15   // servers, lifts on standby, corridor lighting, ventilation minimum
	elecPeopleKW       = 14   // lighting and plugs at full occupancy
	elecCoolKWPerK     = 1.5  // chillers per degree above the cooling balance point
	elecCoolBalanceC   = 24.0 // cooling balance point
	elecHeatKWPerK     = 0.8  // heat pumps and fans per degree below the heating balance point
	elecHeatBalanceC   = 14.0
	hvacSetback        = 0.2  // share of the HVAC load outside office hours
	gasBaseM3h         = 0.4  // pilot and hot-water standby, at every hour
	gasHotWaterM3h     = 0.8  // hot water and kitchen at full occupancy
	gasHeatM3hPerK     = 0.3  // boiler per degree below the heating balance point
	gasHeatBalanceC    = 15.0 // heating balance point of the boiler
	waterPeopleM3h     = 0.9  // domestic water at full occupancy
	waterMakeUpM3hPerK = 0.05 // cooling-tower make-up per degree above 24 °C, in office hours
)

// occupancy is how full the office is at t, 0..1: working days 08:00–20:00
// with half-hour ramps, 15 % from 09:00 to 18:00 at weekends and on
// holidays, nobody at night.
func occupancy(t time.Time) float64 {
	l := t.In(Zone)
	h := hourOfDay(l)
	if workday(l) {
		return ramp(h, 7.5, 8.5) * (1 - ramp(h, 19.5, 20.5))
	}
	return 0.15 * ramp(h, 8.5, 9.5) * (1 - ramp(h, 17.5, 18.5))
}

// ramp rises linearly from 0 at a to 1 at b.
func ramp(x, a, b float64) float64 { return math.Min(1, math.Max(0, (x-a)/(b-a))) }

// workday reports whether the office works on l's date: Monday to Friday,
// except public holidays.
func workday(l time.Time) bool {
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !Holiday(l)
}

// springFestivalDays are the dates of the Lunar New Year, which moves;
// the office closes from its eve for a week.
var springFestivalDays = map[int][2]int{
	2024: {2, 10}, 2025: {1, 29}, 2026: {2, 17}, 2027: {2, 6}, 2028: {1, 26}, 2029: {2, 13}, 2030: {2, 3},
}

// Holiday reports whether t's date in Zone is one of the public holidays the
// simulated office closes for: New Year's Day, the Spring Festival week
// (2024–2030), Labour Day (1–5 May) and the National Day week (1–7 October).
func Holiday(t time.Time) bool {
	l := t.In(Zone)
	m, d := l.Month(), l.Day()
	switch {
	case m == time.January && d == 1,
		m == time.May && d <= 5,
		m == time.October && d <= 7:
		return true
	}
	if sf, ok := springFestivalDays[l.Year()]; ok {
		eve := time.Date(l.Year(), time.Month(sf[0]), sf[1]-1, 0, 0, 0, 0, Zone)
		day := time.Date(l.Year(), m, d, 0, 0, 0, 0, Zone)
		if !day.Before(eve) && day.Before(eve.AddDate(0, 0, 7)) {
			return true
		}
	}
	return false
}

// loadNoise is a meter's own noise: a factor per day and a wandering hourly
// one, both from the meter's key.
type loadNoise struct {
	seed, key     uint64
	daySD, hourSD float64
}

func (n loadNoise) day(t time.Time) float64 {
	return 1 + n.daySD*hashNorm(n.seed, n.key, streamDay, int64(math.Floor(hoursOf(t)/24)))
}

func (n loadNoise) hour(t time.Time) float64 {
	return 1 + n.hourSD*smoothNorm(n.seed, n.key, streamHour, hoursOf(t))
}

// electricityKW is the building's electric load at t, with the energy
// faults in effect, before the meter's per-sample noise.
func electricityKW(seed int64, n loadNoise, t time.Time, faults []loadFault) float64 {
	tempC, _ := Weather(seed, t)
	occ := occupancy(t)
	hvac := hvacSetback + (1-hvacSetback)*occ
	kw := elecBaseKW +
		elecPeopleKW*occ*n.day(t) +
		elecCoolKWPerK*math.Max(0, tempC-elecCoolBalanceC)*hvac +
		elecHeatKWPerK*math.Max(0, elecHeatBalanceC-tempC)*hvac
	kw *= n.hour(t)
	for _, f := range faults {
		if !f.in(t) {
			continue
		}
		switch f.kind {
		case FaultHVACNight:
			if h := t.In(Zone).Hour(); h >= 20 || h < 8 {
				kw += f.size
			}
		case FaultBaseloadDrift:
			kw += elecBaseKW * f.size / 100 * t.Sub(f.from).Hours() / (7 * 24)
		}
	}
	return kw
}

// gasM3h is the boiler's gas flow at t.
func gasM3h(seed int64, n loadNoise, t time.Time) float64 {
	tempC, _ := Weather(seed, t)
	l := t.In(Zone)
	h := hourOfDay(l)
	occ := occupancy(t)
	heat := gasHeatM3hPerK * math.Max(0, gasHeatBalanceC-tempC) * (0.15 + 0.85*occ)
	if workday(l) {
		heat *= 1 + 0.6*bump(h, 8, 1.5) // the morning warm-up
	}
	return (gasBaseM3h + gasHotWaterM3h*occ*(1+1.5*bump(h, 12, 1.5))*n.day(t) + heat) * n.hour(t)
}

// waterM3h is the domestic water demand at t: none at night, so that a
// leak shows as flow that never stops.
func waterM3h(seed int64, n loadNoise, t time.Time) float64 {
	occ := occupancy(t)
	if occ == 0 {
		return 0
	}
	tempC, _ := Weather(seed, t)
	h := hourOfDay(t.In(Zone))
	shape := 1 + 1.2*bump(h, 8.5, 1) + 1.5*bump(h, 12, 1) + 0.8*bump(h, 17.5, 1)
	return occ * (waterPeopleM3h*shape*n.day(t) + waterMakeUpM3hPerK*math.Max(0, tempC-elecCoolBalanceC)) * n.hour(t)
}

// faultM3h is the flow the water_leak and gas_stuck faults in effect at t
// add, steady whatever the demand.
func faultM3h(t time.Time, faults []loadFault) float64 {
	var flow float64
	for _, f := range faults {
		switch {
		case !f.in(t):
		case f.kind == FaultWaterLeak:
			flow += f.size * 60 / 1000 // L/min to m³/h
		case f.kind == FaultGasStuck:
			flow += f.size
		}
	}
	return flow
}
