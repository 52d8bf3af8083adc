package rules

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/facilityd/facilityd/drivers"
)

// Options tune an Engine; zero values take the defaults.
type Options struct {
	// Stale is how old a device's newest data may be (default 5m, at least
	// three poll intervals) before its expression rules stop deciding and
	// hold their state. A device its driver reports down holds at once.
	// Offline rules say why.
	Stale time.Duration
	// ResolvedFor is how long a resolved alert stays listed (default 15m).
	ResolvedFor time.Duration
}

func (o Options) withDefaults() Options {
	if o.Stale <= 0 {
		o.Stale = 5 * time.Minute
	}
	if o.ResolvedFor <= 0 {
		o.ResolvedFor = 15 * time.Minute
	}
	return o
}

// deviceState is what the engine knows of one device.
type deviceState struct {
	dev       *Device
	pkey      string             // identifies the device's points, to share compiled rules
	env       map[string]any     // point values and window variables
	series    map[string]*series // points read by window functions
	slots     []windowRef        // window variables of the device's rules
	instances []*instance        // rules on this device
	gateways  []*instance        // gateway rules over this device
	lastData  time.Time          // newest good sample, or when watching began
	up        bool
	upKnown   bool
	timed     bool // some rule reads windows or ages: evaluate on every tick

	// The built-in alerts of unreadable critical points (see unreadable.go).
	unreadable []*unreadableWatch
	critical   map[string]bool   // points critical rules read; nil if none
	bad        map[string]bool   // critical points whose last sample was Bad
	reasons    map[string]string // why they did not read, as the driver says

	// Inspection plans' statuses by plan (see inspection.go).
	inspection map[string]string
	inspected  bool // a status arrived since the last evaluation

	// Energy rules' outcomes by rule (see energy.go).
	energy    map[string]*energyStatus
	energized bool // an outcome arrived since the last evaluation
}

// down reports whether the device's driver last said it did not answer.
func (d *deviceState) down() bool { return d.upKnown && !d.up }

// offline is the condition of offline rules: down, or no data for after
// or three poll intervals, whichever is longer.
func (d *deviceState) offline(ts time.Time, after time.Duration) bool {
	return d.down() || ts.Sub(d.lastData) >= max(after, 3*d.dev.Interval)
}

// Engine evaluates rules over the samples of devices. It is a pure step
// function: callers pass the time, nothing here reads a clock, and it is not
// safe for concurrent use (one owner goroutine feeds it).
type Engine struct {
	opts       Options
	instances  []*instance
	gateways   []*instance
	devices    map[string]*deviceState
	order      []*deviceState
	byFP       map[string]*instance
	inhibit    []*InhibitRule
	silences   []Silence
	windows    []*MaintenanceWindow
	active     map[int]*instance // not inactive, by index
	vm         vm.VM
	started    time.Time
	now        time.Time
	replayNext time.Time // the next tick of a replay
	out        []Transition
}

// NewEngine binds every rule to the devices it matches and compiles it once
// per profile. Every critical expr rule gets its built-in <rule>_unreadable
// alert on the same devices (see unreadable.go). Errors name the rule and
// device.
func NewEngine(set *Set, devices []*Device, opts Options) (*Engine, error) {
	e := &Engine{opts: opts.withDefaults(), devices: map[string]*deviceState{}, byFP: map[string]*instance{},
		active: map[int]*instance{}, inhibit: set.Inhibit, windows: set.Windows}
	pkeys := map[string]string{} // by profile name: its devices share the points
	for _, d := range devices {
		ds := &deviceState{dev: d, env: map[string]any{}, series: map[string]*series{}}
		if ds.pkey = pkeys[d.Profile]; ds.pkey == "" || d.Profile == "" {
			ds.pkey = pointsKey(d.Points)
			pkeys[d.Profile] = ds.pkey
		}
		e.devices[d.ID] = ds
		e.order = append(e.order, ds)
	}
	c := newCompiler()
	builtin, errs := unreadableRules(set)
	inspect, ierrs := inspectionRules(set.Inspections)
	errs = append(errs, ierrs...)
	// Gateway rules first: they are evaluated first, so that a gateway's
	// alert mutes its devices' before those fire.
	for _, r := range set.Rules {
		if r.malformed {
			errs = append(errs, fmt.Errorf("rule %q did not parse", r.Name))
			continue
		}
		switch r.Kind {
		case KindExpr, KindOffline, KindEnergy:
		case KindGatewayOffline:
			members := map[string][]*deviceState{}
			for _, ds := range e.order {
				if ds.dev.Gateway != "" && r.Match.Matches(ds.dev) {
					members[ds.dev.Gateway] = append(members[ds.dev.Gateway], ds)
				}
			}
			// A gateway alert is worth having where it replaces several
			// device alerts; one device alone is its own offline alert.
			for _, gw := range slices.Sorted(maps.Keys(members)) {
				if ms := members[gw]; len(ms) >= 2 {
					e.add(&instance{rule: r, gateway: gw, members: ms})
				}
			}
		default:
			errs = append(errs, fmt.Errorf("rule %q: unknown kind %q", r.Name, r.Kind))
		}
	}
	// Then device by device, each device's instances in one block of
	// memory, since a poll evaluates them together.
	for _, ds := range e.order {
		var mine []*Rule
		for _, r := range set.Rules {
			if (r.Kind == KindExpr || r.Kind == KindOffline) && !r.malformed && r.Match.Matches(ds.dev) {
				mine = append(mine, r)
			}
		}
		block := make([]instance, len(mine))
		for i, r := range mine {
			in := &block[i]
			in.rule, in.dev = r, ds
			if r.Kind == KindExpr {
				if err := e.compileFor(c, in); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			e.add(in)
		}
		e.addUnreadable(ds, builtin)
		e.addInspections(ds, inspect)
		e.addEnergy(ds, set.Rules)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// compileFor compiles the expressions of an expr rule's instance and
// registers the windows they read.
func (e *Engine) compileFor(c *compiler, in *instance) error {
	r, ds := in.rule, in.dev
	pkey := ds.pkey
	var err error
	if in.expr, err = c.compile(r.Expr, ds.dev.Points, pkey, asBool); err != nil {
		return fmt.Errorf("rule %q on device %q: expr: %w", r.Name, ds.dev.ID, err)
	}
	if r.Clear != "" {
		if in.clear, err = c.compile(r.Clear, ds.dev.Points, pkey, asBool); err != nil {
			return fmt.Errorf("rule %q on device %q: clear: %w", r.Name, ds.dev.ID, err)
		}
	}
	if r.Value != "" {
		if in.value, err = c.compile(r.Value, ds.dev.Points, pkey, asNumber); err != nil {
			return fmt.Errorf("rule %q on device %q: value: %w", r.Name, ds.dev.ID, err)
		}
	}
	for _, p := range []*program{in.expr, in.clear, in.value} {
		if p == nil {
			continue
		}
		for _, ref := range p.refs {
			if !slices.Contains(ds.slots, ref) {
				ds.slots = append(ds.slots, ref)
			}
			s := ds.series[ref.point]
			if s == nil {
				s = &series{slack: int64(ds.dev.Interval)}
				ds.series[ref.point] = s
			}
			s.keep = max(s.keep, ref.dur)
			ds.timed = true
		}
	}
	return nil
}

// add registers an instance with its identity and labels.
func (e *Engine) add(in *instance) {
	in.index = len(e.instances)
	r := in.rule
	in.kind = kindOf(r.Kind)
	if in.dev != nil {
		in.fp = Fingerprint(r.Name, in.dev.dev.ID, r.Labels)
		in.dev.instances = append(in.dev.instances, in)
	} else {
		in.fp = Fingerprint(r.Name, "gateway "+in.gateway, r.Labels)
		for _, ds := range in.members {
			ds.gateways = append(ds.gateways, in)
		}
		e.gateways = append(e.gateways, in)
	}
	in.value0 = nan
	e.instances = append(e.instances, in)
	e.byFP[in.fp] = in
}

// begin starts the clocks of missing data at the first evaluation.
func (e *Engine) begin(ts time.Time) {
	if e.started.IsZero() {
		e.started = ts
		for _, ds := range e.order {
			ds.lastData = ts
		}
	}
	if ts.After(e.now) {
		e.now = ts
	}
}

// Observe records the samples and evaluates the rules of the devices they
// belong to at the samples' time. Samples of one device should come
// together, as drivers put one poll at a time.
func (e *Engine) Observe(samples []drivers.Sample) []Transition {
	e.out = nil
	var cur *deviceState
	var ts time.Time
	health := false
	for i := range samples {
		s := &samples[i]
		ds := e.devices[s.Device]
		if ds == nil {
			continue
		}
		if cur != nil && ds != cur {
			e.evalDevice(cur, ts, health)
			health = false
		}
		if cur == nil || ds != cur {
			e.begin(s.Time)
		}
		cur, ts = ds, s.Time
		if s.Measurement == InspectionMeasurement {
			ds.observeInspection(s)
			continue
		}
		if s.Measurement == EnergyMeasurement {
			ds.observeEnergy(s)
			continue
		}
		if s.Measurement == drivers.HealthMeasurement { // offline rules read whether it answered
			if s.Point == drivers.HealthUp && s.Value.Kind == drivers.KindBool {
				ds.up, ds.upKnown, health = s.Value.B, true, true
			} else if s.Point == UnreadablePoint {
				ds.observeReasons(s)
			}
			continue
		}
		if ds.critical != nil {
			ds.observeCritical(s)
		}
		if s.Quality == drivers.Bad {
			continue
		}
		switch s.Value.Kind {
		case drivers.KindFloat, drivers.KindInt:
			ds.env[s.Point] = s.Value.Float64()
		default:
			ds.env[s.Point] = s.Value.Any()
		}
		if sr := ds.series[s.Point]; sr != nil {
			sr.add(s.Time, s.Value.Float64())
		}
		if s.Time.After(ds.lastData) {
			ds.lastData = s.Time
		}
	}
	if cur != nil {
		e.evalDevice(cur, ts, health)
	}
	e.finish(ts, false)
	return e.out
}

// evalDevice evaluates the rules of one device after its samples; gateway
// rules over it too when its health changed or their alert is active.
func (e *Engine) evalDevice(ds *deviceState, ts time.Time, health bool) {
	for _, g := range ds.gateways {
		if health || g.state != Inactive {
			e.step(g, ts)
		}
	}
	e.computeSlots(ds, ts)
	for _, in := range ds.instances {
		if in.kind < unreadableCode {
			e.step(in, ts)
		}
	}
	for _, w := range ds.unreadable {
		e.stepUnreadable(w, ts)
	}
	e.stepInspections(ds, ts)
	e.stepEnergy(ds, ts)
}

func (e *Engine) computeSlots(ds *deviceState, ts time.Time) {
	for _, ref := range ds.slots {
		ds.env[ref.name] = ds.series[ref.point].eval(ref.fn, ref.dur, ts, e.started)
	}
}

// Eval evaluates at ts what depends on time rather than samples: `for` and
// `keep_firing_for` timers, window functions, offline and gateway rules,
// silences that start or end, and resolved alerts that expire.
func (e *Engine) Eval(ts time.Time) []Transition {
	e.out = nil
	e.begin(ts)
	for _, g := range e.gateways {
		e.step(g, ts)
	}
	for _, ds := range e.order {
		if ds.timed {
			e.computeSlots(ds, ts)
		}
		for _, in := range ds.instances {
			if in.kind >= unreadableCode {
				continue // built-in alerts decided by samples alone: stepped in evalDevice
			}
			if ds.timed || in.state == Pending || in.state == Firing || in.kind == codeOffline {
				e.step(in, ts)
			}
		}
	}
	e.finish(ts, true)
	return e.out
}

// Alerts returns the pending, firing and recently resolved alerts, in rule
// order.
func (e *Engine) Alerts() []Alert {
	out := make([]Alert, 0, len(e.active))
	for _, idx := range slices.Sorted(maps.Keys(e.active)) {
		out = append(out, e.alert(e.active[idx]))
	}
	return out
}

// SetSilences replaces the silences and maintenance windows; they take
// effect at the next evaluation.
func (e *Engine) SetSilences(s []Silence) { e.silences = slices.Clone(s) }

// Devices returns how many devices the engine watches and how many rule
// instances (rule × device or gateway) it evaluates.
func (e *Engine) Devices() (devices, instances int) { return len(e.order), len(e.instances) }

// Has reports whether fp is the fingerprint of one of the engine's alerts.
func (e *Engine) Has(fp string) bool { return e.byFP[fp] != nil }
