package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure injected into one simulated device: from After past the
// start of the simulation on, the device behaves as Kind says. Most faults do
// not clear; restart the simulation to heal the building. The energy faults
// (hvac_night, baseload_drift, water_leak, gas_stuck) have a Size and may
// have an end, Until past the start, after which the meter is healthy again:
// their ground truth (GroundTruthOf) is what detection is scored against.
//
// Kinds by equipment type:
//   - pump: low_pressure (discharge ~0.8 bar while running), high_pressure
//     (~6.5 bar), dry_run (low pressure and low current while running),
//     overcurrent (~19.5 A), trip (fault set, running false).
//   - energy_meter: reverse_energy (power negative, export counter rising),
//     low_pf (power factor ~0.65), hvac_night (+Size kW from 20:00 to 08:00,
//     default 20 kW), baseload_drift (the base load grows by Size % a week,
//     default 5).
//   - elevator: entrapment, door_fault, out_of_service.
//   - fire_panel: fire_alarm (one zone in alarm, linked equipment started),
//     trouble (a zone fault), zone_disabled, main_power_fault,
//     backup_power_fault.
//   - water_meter: leak (flow that never reaches zero), water_leak (+Size
//     L/min of constant flow, default 10).
//   - gas_meter: leak, gas_stuck (+Size m³/h of constant flow, default 2).
//   - any device: offline (stops answering), exception (answers exception 2,
//     illegal data address, for requests that cover the first register or bit
//     of its profile's first point), nan (float points read NaN, as meters
//     send for "not available").
type Fault struct {
	Device string
	Kind   string
	After  time.Duration
	// Until, when above zero, is when an energy fault ends.
	Until time.Duration
	// Size is an energy fault's size in its kind's unit (FaultUnit); 0
	// takes the kind's default.
	Size float64
}

// String returns the fault in the syntax ParseFault reads.
func (f Fault) String() string {
	s := f.Device + ":" + f.Kind
	if f.Size > 0 {
		s += "=" + strconv.FormatFloat(f.Size, 'g', -1, 64) + FaultUnit(f.Kind)
	}
	s += "@" + f.After.String()
	if f.Until > 0 {
		s += ".." + f.Until.String()
	}
	return s
}

// ParseFault reads a fault written DEVICE:KIND@DELAY, as on the command line:
// "pump-1:low_pressure@10s" makes pump-1's discharge pressure drop 10 s after
// the start. Without @DELAY the fault is there from the start. An energy
// fault may have a size and an end, DEVICE:KIND=SIZE@FROM..TO, delays in Go
// durations or whole days: "meter-1:hvac_night=15kW@30d..37d". The kind must
// be one some model knows; whether it fits the device is checked by New.
func ParseFault(s string) (Fault, error) {
	const want = "write DEVICE:KIND@DELAY, e.g. pump-1:low_pressure@10s, or DEVICE:KIND=SIZE@FROM..TO for an energy fault, e.g. meter-1:hvac_night=15kW@2d..9d"
	spec, delay, hasDelay := s, "", false
	if j := strings.LastIndex(s, "@"); j >= 0 {
		spec, delay, hasDelay = s[:j], s[j+1:], true
	}
	size, hasSize := "", false
	if j := strings.LastIndex(spec, "="); j >= 0 {
		spec, size, hasSize = spec[:j], spec[j+1:], true
	}
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return Fault{}, fmt.Errorf("fault %q: missing ':' between device and kind: %s", s, want)
	}
	f := Fault{Device: strings.TrimSpace(spec[:i]), Kind: strings.TrimSpace(spec[i+1:])}
	if f.Device == "" {
		return Fault{}, fmt.Errorf("fault %q: missing device: %s", s, want)
	}
	if f.Kind == "" {
		return Fault{}, fmt.Errorf("fault %q: missing kind: %s", s, want)
	}
	if kinds := allFaultKinds(); !slices.Contains(kinds, f.Kind) {
		return Fault{}, fmt.Errorf("fault %q: unknown kind %q: use one of %s",
			s, f.Kind, strings.Join(kinds, ", "))
	}
	energy := IsEnergyFault(f.Kind)
	if hasSize {
		if !energy {
			return Fault{}, fmt.Errorf("fault %q: a %s fault has no size: only hvac_night, baseload_drift, water_leak and gas_stuck do", s, f.Kind)
		}
		v, err := parseSize(f.Kind, size)
		if err != nil {
			return Fault{}, fmt.Errorf("fault %q: %w", s, err)
		}
		f.Size = v
	}
	if hasDelay {
		from, to, hasEnd := strings.Cut(delay, "..")
		if hasEnd && !energy {
			return Fault{}, fmt.Errorf("fault %q: a %s fault does not end: only energy faults take FROM..TO", s, f.Kind)
		}
		d, err := parseDelay(from)
		if err != nil {
			return Fault{}, fmt.Errorf("fault %q: delay %q is not a duration such as 10s, 2m30s or 3d", s, from)
		}
		if d < 0 {
			return Fault{}, fmt.Errorf("fault %q: delay %s is negative", s, d)
		}
		f.After = d
		if hasEnd {
			u, err := parseDelay(to)
			if err != nil {
				return Fault{}, fmt.Errorf("fault %q: end %q is not a duration such as 36h or 9d", s, to)
			}
			if u <= d {
				return Fault{}, fmt.Errorf("fault %q: end %s is not after the start %s", s, u, d)
			}
			f.Until = u
		}
	}
	return f, nil
}

// checkFault reports why a fault cannot be injected into a device of the
// given equipment type, or nil.
func checkFault(f Fault, typ string, hasPoints bool) error {
	kinds := FaultKinds(typ)
	if !slices.Contains(kinds, f.Kind) {
		return fmt.Errorf("fault %s: a %s has no fault %q: use one of %s",
			f, typ, f.Kind, strings.Join(kinds, ", "))
	}
	if f.After < 0 {
		return fmt.Errorf("fault %s: negative delay", f)
	}
	if f.Until != 0 && f.Until <= f.After {
		return fmt.Errorf("fault %s: the end is not after the start", f)
	}
	if (f.Size != 0 || f.Until != 0) && !IsEnergyFault(f.Kind) {
		return fmt.Errorf("fault %s: only energy faults have a size and an end", f)
	}
	if f.Size < 0 {
		return fmt.Errorf("fault %s: negative size", f)
	}
	if f.Kind == FaultException && !hasPoints {
		return fmt.Errorf("fault %s: the device's profile has no point to refuse", f)
	}
	return nil
}
