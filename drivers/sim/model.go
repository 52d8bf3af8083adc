package sim

import (
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// model is the behaviour of one kind of equipment: named point values and
// how they move with time. Models never see registers; the device encodes
// their values through its profile.
type model interface {
	// step advances the model by dt (0 on the first step) to now, with the
	// model's fault kinds that are in effect.
	step(now time.Time, dt time.Duration, active map[string]bool)
	// value returns the current value of a point, if the model has it.
	// Booleans are 0 or 1.
	value(name string) (float64, bool)
	// names lists the points the model produces.
	names() []string
	// restore sets the points the model has to the given values, so that
	// a model continues from another's state (counters above all).
	restore(v map[string]float64)
}

// Fault kinds every device supports, handled by the server rather than the model.
const (
	FaultOffline   = "offline"   // the device stops answering
	FaultException = "exception" // exception 2 for the first register of the profile
	FaultNaN       = "nan"       // float points read NaN, as meters send for "not available"
)

// deviceModel returns the model of a simulated device. Each device draws
// from its own stream, so adding a device to the building does not change
// the noise of the others; the weather comes from the seed alone, so that
// every device sees the same.
func deviceModel(typ string, seed int64, id string) model {
	h := fnv.New64a()
	h.Write([]byte(id))
	key := h.Sum64()
	return newModelIn(typ, rand.New(rand.NewPCG(uint64(seed), key)), seed, key)
}

// newModel returns a model for an equipment type with seed 0's weather.
func newModel(typ string, rng *rand.Rand) model { return newModelIn(typ, rng, 0, rng.Uint64()) }

// newModelIn returns the model for an equipment type. This switch is the
// one place models are registered.
func newModelIn(typ string, rng *rand.Rand, seed int64, key uint64) model {
	switch typ {
	case "pump":
		return newPump(rng)
	case "energy_meter":
		return newEnergyMeter(rng, seed, key)
	case "elevator":
		return newElevator(rng)
	case "fire_panel":
		return newFirePanel(rng)
	case "water_meter":
		return newFlowMeter(rng, waterProfile(), seed, key)
	case "gas_meter":
		return newFlowMeter(rng, gasProfile(), seed, key)
	case "weather_station":
		return newWeatherStation(rng, seed)
	}
	return nil
}

// modelFaults lists the fault kinds a model understands, besides the
// device-level offline and exception.
func modelFaults(typ string) []string {
	switch typ {
	case "pump":
		return []string{"low_pressure", "high_pressure", "dry_run", "overcurrent", "trip"}
	case "energy_meter":
		return []string{"reverse_energy", "low_pf", FaultHVACNight, FaultBaseloadDrift}
	case "elevator":
		return []string{"entrapment", "door_fault", "out_of_service"}
	case "fire_panel":
		return []string{"fire_alarm", "trouble", "zone_disabled", "main_power_fault", "backup_power_fault"}
	case "water_meter":
		return []string{"leak", FaultWaterLeak}
	case "gas_meter":
		return []string{"leak", FaultGasStuck}
	}
	return nil
}

// Models lists the equipment types the simulator can play, matched against
// a profile's type.
func Models() []string {
	return []string{"energy_meter", "elevator", "fire_panel", "gas_meter", "pump", "water_meter", "weather_station"}
}

// ModelPoints lists, sorted, the point names the model of an equipment type
// produces; profile points with other names read as 0. It returns nil for an
// unknown type.
func ModelPoints(typ string) []string {
	m := newModel(typ, rand.New(rand.NewPCG(0, 0)))
	if m == nil {
		return nil
	}
	return m.names()
}

// FaultKinds lists the fault kinds that can be injected into a device of an
// equipment type, including offline and exception; nil for an unknown type.
func FaultKinds(typ string) []string {
	if newModel(typ, rand.New(rand.NewPCG(0, 0))) == nil {
		return nil
	}
	return append(modelFaults(typ), FaultOffline, FaultException, FaultNaN)
}

// allFaultKinds is every fault kind of every model, sorted, for ParseFault's
// messages.
func allFaultKinds() []string {
	set := map[string]bool{FaultOffline: true, FaultException: true, FaultNaN: true}
	for _, t := range Models() {
		for _, k := range modelFaults(t) {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// points is the value store models share.
type points struct {
	rng *rand.Rand
	v   map[string]float64
}

func newPoints(rng *rand.Rand) points {
	return points{rng: rng, v: map[string]float64{}}
}

func (p *points) value(name string) (float64, bool) {
	v, ok := p.v[name]
	return v, ok
}

func (p *points) names() []string { return slices.Sorted(maps.Keys(p.v)) }

func (p *points) set(name string, v float64) { p.v[name] = v }

func (p *points) restore(v map[string]float64) {
	for name, x := range v {
		if _, ok := p.v[name]; ok {
			p.v[name] = x
		}
	}
}

func (p *points) setBool(name string, b bool) {
	p.v[name] = 0
	if b {
		p.v[name] = 1
	}
}

func (p *points) bool(name string) bool { return p.v[name] != 0 }

// around returns mean with gaussian noise of the given standard deviation,
// never below zero: the quantities simulated are magnitudes.
func (p *points) around(mean, sigma float64) float64 {
	return math.Max(0, mean+p.rng.NormFloat64()*sigma)
}

// between returns a uniform value in [lo, hi), for initial counter readings
// so that a fleet of simulated devices does not all start from zero.
func (p *points) between(lo, hi float64) float64 {
	return lo + p.rng.Float64()*(hi-lo)
}

// hourOfDay is the fractional local hour of now, for daily load shapes.
func hourOfDay(now time.Time) float64 {
	return float64(now.Hour()) + float64(now.Minute())/60 + float64(now.Second())/3600
}

// bump returns a smooth 0..1 bump that is 1 at peak and 0 farther than
// width hours from it (a raised cosine), for daily profiles.
func bump(hour, peak, width float64) float64 {
	d := math.Abs(hour - peak)
	if d >= width {
		return 0
	}
	return 0.5 * (1 + math.Cos(math.Pi*d/width))
}
