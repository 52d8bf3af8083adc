package sim

import (
	"math/rand/v2"
	"time"
)

// Bits of the system status word of GB/T 26875.3.
const (
	statusNormal           = 1 << 0
	statusFireAlarm        = 1 << 1
	statusFault            = 1 << 2
	statusMainPowerFault   = 1 << 8
	statusBackupPowerFault = 1 << 9
	statusAuto             = 1 << 11
)

// firePanel is a fire alarm control panel in automatic mode that stays quiet
// until a fault is injected.
//
// Points: status_word (GB/T 26875.3 bits), normal, fire_alarm, fault,
// main_power_fault, backup_power_fault, alarm_zone (zone number in alarm, 0
// none), mains_voltage and battery_voltage (V).
type firePanel struct {
	points
	zone int // the zone that goes into alarm, fixed per panel
}

func newFirePanel(rng *rand.Rand) *firePanel {
	f := &firePanel{points: newPoints(rng)}
	f.zone = 1 + rng.IntN(16)
	for _, n := range []string{"status_word", "normal", "fire_alarm", "fault", "main_power_fault",
		"backup_power_fault", "alarm_zone", "mains_voltage", "battery_voltage"} {
		f.set(n, 0)
	}
	return f
}

func (f *firePanel) step(_ time.Time, _ time.Duration, active map[string]bool) {
	fire := active["fire_alarm"]
	mains := active["main_power_fault"]
	backup := active["backup_power_fault"]
	fault := active["trouble"] || mains || backup

	word := statusAuto
	if !fire && !fault {
		word |= statusNormal
	}
	if fire {
		word |= statusFireAlarm
	}
	if fault {
		word |= statusFault
	}
	if mains {
		word |= statusMainPowerFault
	}
	if backup {
		word |= statusBackupPowerFault
	}
	f.set("status_word", float64(word))
	f.setBool("normal", !fire && !fault)
	f.setBool("fire_alarm", fire)
	f.setBool("fault", fault)
	f.setBool("main_power_fault", mains)
	f.setBool("backup_power_fault", backup)
	f.set("alarm_zone", 0)
	if fire {
		f.set("alarm_zone", float64(f.zone))
	}
	f.set("mains_voltage", f.around(230, 1.5))
	if mains {
		f.set("mains_voltage", 0)
	}
	f.set("battery_voltage", f.around(27.3, 0.05)) // 24 V lead-acid on float charge
	switch {
	case backup:
		f.set("battery_voltage", f.around(20.5, 0.05))
	case mains:
		f.set("battery_voltage", f.around(25.4, 0.05)) // discharging
	}
}
