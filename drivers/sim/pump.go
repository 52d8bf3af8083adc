package sim

import (
	"math/rand/v2"
	"time"
)

// pump is a booster pump on a variable-speed drive, running in auto. Healthy,
// it lifts about 1.0 bar suction to 3.2 bar at 45 Hz drawing 12 A.
//
// Points: running, fault, mode (0 off, 1 hand, 2 auto), auto, discharge_pressure and
// suction_pressure (bar), motor_current (A), frequency (Hz), vibration (mm/s
// RMS), alarm_code (0 none, 1 motor overload trip), run_hours (h) and starts
// (counters).
type pump struct {
	points
}

func newPump(rng *rand.Rand) *pump {
	p := &pump{points: newPoints(rng)}
	p.setBool("running", true)
	p.setBool("fault", false)
	p.set("mode", 2)
	p.setBool("auto", true)
	p.set("run_hours", float64(int(p.between(1000, 6000))))
	p.set("starts", float64(int(p.between(100, 800))))
	for _, n := range []string{"discharge_pressure", "suction_pressure", "motor_current",
		"frequency", "vibration", "alarm_code"} {
		p.set(n, 0)
	}
	return p
}

func (p *pump) step(_ time.Time, dt time.Duration, active map[string]bool) {
	running := !active["trip"]
	if running && !p.bool("running") {
		p.set("starts", p.v["starts"]+1)
	}
	p.setBool("running", running)
	p.setBool("fault", !running)
	p.set("alarm_code", 0)
	p.set("suction_pressure", p.around(1.0, 0.02))
	if !running {
		// Tripped: the drive is off and the discharge side settles to the
		// suction pressure behind the check valve.
		p.set("alarm_code", 1)
		p.set("discharge_pressure", p.around(1.0, 0.02))
		p.set("motor_current", 0)
		p.set("frequency", 0)
		p.set("vibration", p.around(0.1, 0.02))
		return
	}
	p.set("run_hours", p.v["run_hours"]+dt.Hours())

	discharge, current, freq, vib := 3.2, 12.0, 45.0, 2.2
	switch {
	case active["dry_run"]:
		// No water: the impeller spins freely, so little head and little load.
		discharge, current, vib = 0.4, 4.5, 4.5
		p.set("suction_pressure", p.around(0.1, 0.02))
	case active["low_pressure"]:
		discharge, freq = 0.8, 50 // the drive runs flat out and still cannot hold pressure
	case active["high_pressure"]:
		discharge = 6.5
	}
	if active["overcurrent"] {
		current, vib = 19.5, 5.5
	}
	p.set("discharge_pressure", p.around(discharge, 0.03))
	p.set("motor_current", p.around(current, 0.2))
	p.set("frequency", p.around(freq, 0.1))
	p.set("vibration", p.around(vib, 0.1))
}
