package sim

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Energy faults: waste a building's meters should show, each with a size,
// a start and (optionally) an end, so that anomaly detection can be scored
// against them.
const (
	// FaultHVACNight leaves the HVAC on at night: the electricity meter
	// sees Size kW more from 20:00 to 08:00 (Zone).
	FaultHVACNight = "hvac_night"
	// FaultBaseloadDrift makes the base load creep up by Size % of itself
	// per week from the fault's start (a fouled coil, a plant left on).
	FaultBaseloadDrift = "baseload_drift"
	// FaultWaterLeak adds a constant flow of Size L/min to a water meter,
	// night and day.
	FaultWaterLeak = "water_leak"
	// FaultGasStuck is a gas valve stuck open: Size m³/h of constant flow,
	// whatever the heating needs.
	FaultGasStuck = "gas_stuck"
)

// energyFault describes one energy fault kind: its unit and its size when
// none is given.
type energyFault struct {
	unit     string
	aliases  []string // other spellings of the unit ParseFault accepts
	defaults float64
}

func energyFaultOf(kind string) (energyFault, bool) {
	switch kind {
	case FaultHVACNight:
		return energyFault{unit: "kW", defaults: 20}, true
	case FaultBaseloadDrift:
		return energyFault{unit: "%/week", aliases: []string{"%"}, defaults: 5}, true
	case FaultWaterLeak:
		return energyFault{unit: "L/min", defaults: 10}, true
	case FaultGasStuck:
		return energyFault{unit: "m3/h", aliases: []string{"m³/h"}, defaults: 2}, true
	}
	return energyFault{}, false
}

// IsEnergyFault reports whether kind is one of the energy faults, which
// take a size and an end.
func IsEnergyFault(kind string) bool {
	_, ok := energyFaultOf(kind)
	return ok
}

// FaultUnit is the unit of an energy fault's Size, "" for other kinds.
func FaultUnit(kind string) string {
	e, _ := energyFaultOf(kind)
	return e.unit
}

// parseSize reads an energy fault's size: a positive number, optionally
// followed by the kind's unit.
func parseSize(kind, s string) (float64, error) {
	e, _ := energyFaultOf(kind)
	num := strings.TrimSpace(s)
	for _, u := range append([]string{e.unit}, e.aliases...) {
		if n, ok := strings.CutSuffix(num, u); ok {
			num = strings.TrimSpace(n)
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 || v != v {
		return 0, fmt.Errorf("size %q: want a positive number of %s, e.g. %g%s", s, e.unit, e.defaults, e.unit)
	}
	return v, nil
}

// parseDelay reads a delay as a Go duration or as whole days (30d), since
// energy faults are placed in a year of history.
func parseDelay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}

// loadFault is an energy fault placed in time.
type loadFault struct {
	kind     string
	from, to time.Time // to is zero when the fault never ends
	size     float64
}

func (f loadFault) in(t time.Time) bool {
	return !t.Before(f.from) && (f.to.IsZero() || t.Before(f.to))
}

// loadFaults places a device's energy faults on the simulation's clock.
func loadFaults(faults []Fault, start time.Time) []loadFault {
	var out []loadFault
	for _, f := range faults {
		if !IsEnergyFault(f.Kind) {
			continue
		}
		lf := loadFault{kind: f.Kind, from: start.Add(f.After), size: f.size()}
		if f.Until > 0 {
			lf.to = start.Add(f.Until)
		}
		out = append(out, lf)
	}
	return out
}

// loadModel is a model whose load the energy faults change; the device
// hands it its faults once it knows when the simulation starts.
type loadModel interface {
	setLoadFaults([]loadFault)
}

// GroundTruth is one injected fault as it happened: what, where, from when
// until when and how big, for scoring what a detector found.
type GroundTruth struct {
	Device string    `json:"device"`
	Kind   string    `json:"kind"`
	Start  time.Time `json:"start"`
	// End is zero for a fault that lasts to the end of the simulation.
	End  time.Time `json:"end"`
	Size float64   `json:"size,omitempty"`
	Unit string    `json:"unit,omitempty"`
}

// GroundTruthOf places faults on a simulation that started at start.
func GroundTruthOf(faults []Fault, start time.Time) []GroundTruth {
	out := make([]GroundTruth, 0, len(faults))
	for _, f := range faults {
		g := GroundTruth{Device: f.Device, Kind: f.Kind, Start: start.Add(f.After), Unit: FaultUnit(f.Kind)}
		if f.Until > 0 {
			g.End = start.Add(f.Until)
		}
		if g.Unit != "" {
			g.Size = f.size()
		}
		out = append(out, g)
	}
	return out
}

// size is the fault's Size, or its kind's default.
func (f Fault) size() float64 {
	if f.Size > 0 {
		return f.Size
	}
	e, _ := energyFaultOf(f.Kind)
	return e.defaults
}

// startFaults hands a model its energy faults, placed on a simulation
// that started at start, and logs them.
func startFaults(m model, id string, faults []Fault, start time.Time, logger *slog.Logger) {
	lf := loadFaults(faults, start)
	if len(lf) == 0 {
		return
	}
	if lm, ok := m.(loadModel); ok {
		lm.setLoadFaults(lf)
	}
	if logger != nil {
		for _, g := range GroundTruthOf(faults, start) {
			if IsEnergyFault(g.Kind) {
				logger.Info("energy fault scheduled", "device", id, "kind", g.Kind, "size", fmt.Sprintf("%g %s", g.Size, g.Unit),
					"from", g.Start.Format(time.DateTime), "until", untilText(g.End))
			}
		}
	}
}

func untilText(t time.Time) string {
	if t.IsZero() {
		return "the end"
	}
	return t.Format(time.DateTime)
}
