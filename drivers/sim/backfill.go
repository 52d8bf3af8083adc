package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
)

// Defaults of a BackfillConfig.
const (
	// DefaultBackfillStep is the spacing of recent backfilled samples:
	// fine enough for charts and rule windows.
	DefaultBackfillStep = time.Minute
	// DefaultBackfillOldStep is the spacing of samples older than the
	// recent span: a meter's 15-minute interval, what baselines and
	// consumption need, so that a year of a building takes seconds.
	DefaultBackfillOldStep = 15 * time.Minute
	// DefaultBackfillRecent is how much of the history, up to its end, is
	// written at Step.
	DefaultBackfillRecent = 7 * 24 * time.Hour
)

// backfillPut is how many samples Backfill.Run gathers before handing them
// to the sink, so that the sink's locking is paid per batch, not per step.
const backfillPut = 8192

// BackfillDevice is a device whose history a Backfill makes: any device the
// daemon reads, over Modbus or MQTT alike.
type BackfillDevice struct {
	// ID is the device id of the config, the device tag of its samples.
	ID string
	// Profile names the points to write; Profile.Type chooses the model and
	// is the measurement.
	Profile *drivers.Profile
	// Transport is how the daemon reads the device, which decides how its
	// values are rounded: TransportModbus (the default when empty) through
	// the profile's registers, TransportMQTT as JSON numbers.
	Transport string
}

// Transports of a BackfillDevice.
const (
	TransportModbus = "modbus"
	TransportMQTT   = "mqtt"
)

// BackfillConfig says which devices to play over which span of time.
type BackfillConfig struct {
	Devices []BackfillDevice
	// From and To bound the history. Samples are stamped on the grid of
	// Step (multiples of Step since the zero time, so minutes for 1m), from
	// the first grid time at or after From up to To; history older than
	// Recent before To on the grid of OldStep.
	From, To time.Time
	// Step is the simulated time between recent samples
	// (DefaultBackfillStep when 0).
	Step time.Duration
	// OldStep is the time between samples older than Recent
	// (DefaultBackfillOldStep when 0; a multiple of Step). An OldStep no
	// longer than Step writes the whole history at Step.
	OldStep time.Duration
	// Recent is how far back from To samples are Step apart
	// (DefaultBackfillRecent when 0).
	Recent time.Duration
	// Seed makes the noise of the models repeatable.
	Seed int64
}

// BackfillProgress is what Backfill.Run reports as it goes.
type BackfillProgress struct {
	// Time is the simulated time reached.
	Time time.Time
	// Step counts the steps done, out of Steps.
	Step, Steps int
	// Samples counts the samples handed to the sink so far.
	Samples int64
}

// Backfill makes the history of simulated devices: it steps each device's
// model on a simulated clock and writes what the daemon would have stored,
// one sample per profile point and step, with the same measurement, point
// names and value kinds. Faults count their delay from the first step; an
// offline device writes nothing while the fault lasts, and the exception
// fault withholds the profile's first point.
type Backfill struct {
	cfg     BackfillConfig
	start   time.Time // the first sample
	old     int       // how many samples are OldStep apart, from start
	recent  time.Time // the first sample Step apart
	steps   int
	devices []*backfillDevice
	faults  []Fault
}

type backfillDevice struct {
	BackfillDevice
	model  model
	faults []Fault
	active map[string]bool
}

// NewBackfill checks the configuration and the faults and builds the models;
// it does no I/O. Every problem is reported, each naming its device.
func NewBackfill(cfg BackfillConfig, faults []Fault) (*Backfill, error) {
	cfg.Step = cmp.Or(cfg.Step, DefaultBackfillStep)
	cfg.OldStep = cmp.Or(cfg.OldStep, DefaultBackfillOldStep)
	cfg.Recent = cmp.Or(cfg.Recent, DefaultBackfillRecent)
	var errs []error
	if cfg.Step < 0 || cfg.OldStep < 0 || cfg.Recent < 0 {
		errs = append(errs, fmt.Errorf("backfill: step %s, old step %s, recent %s: none may be negative", cfg.Step, cfg.OldStep, cfg.Recent))
	} else if cfg.OldStep > cfg.Step && cfg.OldStep%cfg.Step != 0 {
		errs = append(errs, fmt.Errorf("backfill: old step %s is not a multiple of step %s", cfg.OldStep, cfg.Step))
	}
	if !cfg.From.Before(cfg.To) {
		errs = append(errs, fmt.Errorf("backfill: from %s is not before to %s", cfg.From, cfg.To))
	}
	b := &Backfill{cfg: cfg}
	if len(errs) == 0 {
		b.plan()
	}
	byID := map[string]*backfillDevice{}
	for _, dc := range cfg.Devices {
		switch {
		case dc.ID == "":
			errs = append(errs, errors.New("backfill: a device has no id"))
			continue
		case dc.Profile == nil:
			errs = append(errs, fmt.Errorf("device %q: missing profile", dc.ID))
			continue
		case dc.Transport != "" && dc.Transport != TransportModbus && dc.Transport != TransportMQTT:
			errs = append(errs, fmt.Errorf("device %q: transport %q: use %s or %s", dc.ID, dc.Transport, TransportModbus, TransportMQTT))
			continue
		case byID[dc.ID] != nil:
			errs = append(errs, fmt.Errorf("device %q: the id is used twice", dc.ID))
			continue
		}
		m := deviceModel(dc.Profile.Type, cfg.Seed, dc.ID) // the live simulator's stream, so a device plays alike
		if m == nil {
			errs = append(errs, fmt.Errorf("device %q: no model for equipment type %q: use one of %s",
				dc.ID, dc.Profile.Type, strings.Join(Models(), ", ")))
			continue
		}
		d := &backfillDevice{BackfillDevice: dc, model: m, active: map[string]bool{}}
		byID[dc.ID] = d
		b.devices = append(b.devices, d)
	}
	for _, f := range faults {
		d := byID[f.Device]
		if d == nil {
			if !slices.ContainsFunc(cfg.Devices, func(dc BackfillDevice) bool { return dc.ID == f.Device }) {
				errs = append(errs, fmt.Errorf("fault %s: no device %q", f, f.Device))
			}
			continue
		}
		if err := checkFault(f, d.Profile.Type, len(d.Profile.Points) > 0); err != nil {
			errs = append(errs, fmt.Errorf("device %q: %w", d.ID, err))
			continue
		}
		d.faults = append(d.faults, f)
		b.faults = append(b.faults, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, d := range b.devices {
		startFaults(d.model, d.ID, d.faults, b.start, nil)
	}
	return b, nil
}

// plan lays out the sample times: OldStep apart up to the recent span,
// Step apart from there to To.
func (b *Backfill) plan() {
	c := b.cfg
	ceil := func(t time.Time, step time.Duration) time.Time {
		g := t.Truncate(step)
		if g.Before(t) {
			g = g.Add(step)
		}
		return g
	}
	b.start = ceil(c.From, c.Step)
	b.recent = b.start
	if c.OldStep > c.Step {
		if split := c.To.Add(-c.Recent).Truncate(c.OldStep); split.After(c.From) {
			b.start = ceil(c.From, c.OldStep)
			b.old = int((split.Sub(b.start) + c.OldStep - 1) / c.OldStep)
			b.recent = b.start.Add(time.Duration(b.old) * c.OldStep)
		}
	}
	b.steps = b.old + int(c.To.Sub(b.recent)/c.Step) + 1
}

// at is the time of sample i.
func (b *Backfill) at(i int) time.Time {
	if i < b.old {
		return b.start.Add(time.Duration(i) * b.cfg.OldStep)
	}
	return b.recent.Add(time.Duration(i-b.old) * b.cfg.Step)
}

// GroundTruth lists the injected faults placed on the history: the energy
// faults with their size and end, for scoring detection on it.
func (b *Backfill) GroundTruth() []GroundTruth { return GroundTruthOf(b.faults, b.start) }

// Span returns the times of the first and the last sample, and the number
// of steps between them, both included.
func (b *Backfill) Span() (first, last time.Time, steps int) {
	return b.start, b.at(b.steps - 1), b.steps
}

// Step returns the simulated time between recent samples.
func (b *Backfill) Step() time.Duration { return b.cfg.Step }

// OldStep returns the simulated time between samples older than the recent
// span, and when the recent span begins.
func (b *Backfill) OldStep() (time.Duration, time.Time) { return b.cfg.OldStep, b.recent }

// Run steps every model from the first grid time to the last and hands the
// samples to sink in time order, in batches; progress, when not nil, is
// called about every 5% of the steps and once at the end. It returns how
// many samples it handed over, and ctx's error if ctx ended first. Run may
// be called once.
func (b *Backfill) Run(ctx context.Context, sink drivers.Sink, progress func(BackfillProgress)) (int64, error) {
	var n int64
	buf := make([]drivers.Sample, 0, backfillPut+256)
	every := max(b.steps/20, 1)
	prev := b.start
	for i := range b.steps {
		now := b.at(i)
		dt := now.Sub(prev)
		prev = now
		for _, d := range b.devices {
			buf = d.step(now, dt, now.Sub(b.start), buf)
		}
		if len(buf) >= backfillPut || i == b.steps-1 {
			sink.Put(ctx, buf)
			n += int64(len(buf))
			clear(buf)
			buf = buf[:0]
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		if progress != nil && ((i+1)%every == 0 || i == b.steps-1) {
			progress(BackfillProgress{Time: now, Step: i + 1, Steps: b.steps, Samples: n})
		}
	}
	return n, nil
}

// State returns every device's point values as the models stand, for
// Config.State and MQTTConfig.State: after Run, the live simulation then
// carries on from the end of the history.
func (b *Backfill) State() map[string]map[string]float64 {
	out := make(map[string]map[string]float64, len(b.devices))
	for _, d := range b.devices {
		v := map[string]float64{}
		for _, name := range d.model.names() {
			v[name], _ = d.model.value(name)
		}
		out[d.ID] = v
	}
	return out
}

// step advances the model to now and appends the samples the daemon would
// have stored.
func (d *backfillDevice) step(now time.Time, dt, elapsed time.Duration, out []drivers.Sample) []drivers.Sample {
	for _, f := range d.faults {
		if elapsed >= f.After && !IsEnergyFault(f.Kind) {
			d.active[f.Kind] = true
		}
	}
	d.model.step(now, dt, d.active)
	if d.active[FaultOffline] {
		return out
	}
	for i := range d.Profile.Points {
		p := &d.Profile.Points[i]
		if i == 0 && d.active[FaultException] {
			continue
		}
		v, _ := d.model.value(p.Name) // a point the model lacks reads as 0, as from the registers
		val, ok := pointValue(p, v, d.ID)
		if d.Transport == TransportMQTT {
			val, ok = mqttValue(p, v)
		}
		if !ok {
			continue
		}
		out = append(out, drivers.Sample{Time: now, Device: d.ID, Measurement: d.Profile.Type, Point: p.Name, Value: val})
	}
	return out
}

// pointValue turns a model's value into the value the daemon stores for the
// point: through the point's register encoding and back, so that kinds
// (integer, float, bool, enumeration text) and rounding match what a poll
// gives, and a field keeps one type in InfluxDB.
func pointValue(p *drivers.Point, v float64, id string) (drivers.Value, bool) {
	switch {
	case p.Type == drivers.TypeBool || p.Type == drivers.TypeBit:
		return drivers.Bool(v != 0), true
	case p.Type == drivers.TypeString:
		return drivers.String(id), true // as the simulator's registers show it
	}
	regs, err := modbus.EncodeSaturating(p, v)
	if err != nil {
		return drivers.Value{}, false
	}
	val, err := modbus.Decode(p, regs)
	return val, err == nil
}

// mqttValue turns a model's value into the value the daemon stores for a
// point of an MQTT device, whose publisher sends numbers unrounded: kinds
// as pointValue, values as the MQTT driver converts them. An integer point
// with a fraction is what the driver refuses, so it gives no sample.
func mqttValue(p *drivers.Point, v float64) (drivers.Value, bool) {
	switch k := p.ValueKind(); {
	case k == drivers.KindBool:
		return drivers.Bool(v != 0), true
	case k == drivers.KindString && len(p.Enum) > 0:
		if s, ok := p.Enum[int64(v)]; ok {
			return drivers.String(s), true
		}
		return drivers.String(fmt.Sprintf("unknown(%d)", int64(v))), true
	case k == drivers.KindString:
		return drivers.String(strconv.FormatFloat(v, 'f', -1, 64)), true
	}
	switch p.Type {
	case drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64:
		if (p.Scale == 0 || p.Scale == 1) && p.Offset == 0 {
			if v != math.Trunc(v) || math.Abs(v) >= 1<<63 {
				return drivers.Value{}, false
			}
			return drivers.Int(int64(v)), true
		}
	}
	if s := p.Scale; s != 0 && s != 1 || p.Offset != 0 {
		// The publisher's division and the driver's scaling, done alike, so
		// that a counter's last backfilled value never tops its live one.
		v = (v-p.Offset)/max(s, 1e-12)*cmp.Or(s, 1) + p.Offset
	}
	return drivers.Float(v), true
}
