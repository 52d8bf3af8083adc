package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fault is a failure injected into one simulated device: from After past the
// start of the simulation on, the device behaves as Kind says. Faults do not
// clear; restart the simulation to heal the building.
//
// Kinds by equipment type:
//   - pump: low_pressure (discharge ~0.8 bar while running), high_pressure
//     (~6.5 bar), dry_run (low pressure and low current while running),
//     overcurrent (~19.5 A), trip (fault set, running false).
//   - energy_meter: reverse_energy (power negative, export counter rising),
//     low_pf (power factor ~0.65).
//   - elevator: entrapment, door_fault, out_of_service.
//   - fire_panel: fire_alarm (one zone in alarm, linked equipment started),
//     trouble (a zone fault), zone_disabled, main_power_fault,
//     backup_power_fault.
//   - water_meter, gas_meter: leak (flow that never reaches zero).
//   - any device: offline (stops answering), exception (answers exception 2,
//     illegal data address, for requests that cover the first register or bit
//     of its profile's first point), nan (float points read NaN, as meters
//     send for "not available").
type Fault struct {
	Device string
	Kind   string
	After  time.Duration
}

// String returns the fault in the syntax ParseFault reads.
func (f Fault) String() string {
	return fmt.Sprintf("%s:%s@%s", f.Device, f.Kind, f.After)
}

// ParseFault reads a fault written DEVICE:KIND@DELAY, as on the command line:
// "pump-1:low_pressure@10s" makes pump-1's discharge pressure drop 10 s after
// the start. Without @DELAY the fault is there from the start. The kind must
// be one some model knows; whether it fits the device is checked by New.
func ParseFault(s string) (Fault, error) {
	const want = "write DEVICE:KIND@DELAY, e.g. pump-1:low_pressure@10s"
	spec, delay, hasDelay := s, "", false
	if j := strings.LastIndex(s, "@"); j >= 0 {
		spec, delay, hasDelay = s[:j], s[j+1:], true
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
	if hasDelay {
		d, err := time.ParseDuration(strings.TrimSpace(delay))
		if err != nil {
			return Fault{}, fmt.Errorf("fault %q: delay %q is not a duration such as 10s or 2m30s", s, delay)
		}
		if d < 0 {
			return Fault{}, fmt.Errorf("fault %q: delay %s is negative", s, d)
		}
		f.After = d
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
	if f.Kind == FaultException && !hasPoints {
		return fmt.Errorf("fault %s: the device's profile has no point to refuse", f)
	}
	return nil
}
