package sim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Bits of the system status word of GB/T 26875.3, by point name, in bit
// order: bit0 normal (no alarm, no fault) ... bit13 reset.
var statusBits = []string{
	"normal", "fire_alarm", "fault", "disabled", "supervisory", "started", "feedback",
	"delay", "main_power_fault", "backup_power_fault", "bus_fault", "auto_mode",
	"config_changed", "reset",
}

// Bits of the status word the tests and the model name.
const (
	statusNormal           = 1 << 0
	statusFireAlarm        = 1 << 1
	statusFault            = 1 << 2
	statusDisabled         = 1 << 3
	statusStarted          = 1 << 5
	statusFeedback         = 1 << 6
	statusMainPowerFault   = 1 << 8
	statusBackupPowerFault = 1 << 9
	statusAuto             = 1 << 11
)

// firePanelZones is how many detection zones a panel reports.
const firePanelZones = 8

// zonePoint names a zone's point: zone_3_alarm.
func zonePoint(zone int, what string) string { return fmt.Sprintf("zone_%d_%s", zone, what) }

// firePanel is a fire alarm control panel in automatic mode that stays quiet
// until a fault is injected. A fire alarm starts the linked equipment
// (fans, dampers), whose feedback follows a few seconds later.
//
// Points: status_word (GB/T 26875.3) and each of its bits by name (see
// statusBits); alarm_zone (zone number in alarm, 0 none); per zone 1..8
// zone_N_alarm, zone_N_fault and zone_N_disabled; mains_voltage and
// battery_voltage (V).
type firePanel struct {
	points
	zone     int           // the zone that goes into alarm, fixed per panel
	alarmFor time.Duration // how long the alarm has lasted
}

func newFirePanel(rng *rand.Rand) *firePanel {
	f := &firePanel{points: newPoints(rng)}
	f.zone = 1 + rng.IntN(firePanelZones)
	for _, n := range append([]string{"status_word", "alarm_zone", "mains_voltage", "battery_voltage"}, statusBits...) {
		f.set(n, 0)
	}
	for z := 1; z <= firePanelZones; z++ {
		for _, w := range []string{"alarm", "fault", "disabled"} {
			f.set(zonePoint(z, w), 0)
		}
	}
	return f
}

func (f *firePanel) step(_ time.Time, dt time.Duration, active map[string]bool) {
	fire := active["fire_alarm"]
	mains := active["main_power_fault"]
	backup := active["backup_power_fault"]
	trouble := active["trouble"]
	disabled := active["zone_disabled"]
	fault := trouble || mains || backup
	if fire {
		f.alarmFor += dt
	} else {
		f.alarmFor = 0
	}
	other := f.zone%firePanelZones + 1 // the zone next to the alarm zone
	for z := 1; z <= firePanelZones; z++ {
		f.setBool(zonePoint(z, "alarm"), fire && z == f.zone)
		f.setBool(zonePoint(z, "fault"), trouble && z == other)
		f.setBool(zonePoint(z, "disabled"), disabled && z == other)
	}
	bits := map[string]bool{
		"normal": !fire && !fault, "fire_alarm": fire, "fault": fault, "disabled": disabled,
		"started": fire, "feedback": fire && f.alarmFor >= 5*time.Second,
		"main_power_fault": mains, "backup_power_fault": backup, "auto_mode": true,
	}
	word := 0
	for i, n := range statusBits {
		f.setBool(n, bits[n])
		if bits[n] {
			word |= 1 << i
		}
	}
	f.set("status_word", float64(word))
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
