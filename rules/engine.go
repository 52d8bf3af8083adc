package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/facilityd/facilityd/drivers"
)

// State is where an alert is in its life.
type State uint8

// Alert states. Resolution is the transition firing → inactive.
const (
	Inactive State = iota
	Pending
	Firing
)

// String returns inactive, pending or firing.
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	}
	return "inactive"
}

// Alert is the current state of one rule on one device.
type Alert struct {
	Fingerprint string
	Rule        string
	Device      string
	Type        string
	Location    string
	Severity    Severity
	State       State
	// ActiveAt is when the condition started to hold; FiredAt when it fired.
	ActiveAt    time.Time
	FiredAt     time.Time
	Labels      map[string]string
	Annotations map[string]string
	Ticket      *TicketSpec
	// Values are the device's point values at the last evaluation.
	Values map[string]any
}

// Transition is a change of an alert's state. From Firing to Inactive means
// the alert resolved.
type Transition struct {
	Alert    Alert
	From, To State
	At       time.Time
}

// Resolved reports whether the transition is a firing alert clearing.
func (t Transition) Resolved() bool { return t.From == Firing && t.To == Inactive }

// Fingerprint identifies an alert by rule, device and labels — never by value.
func Fingerprint(rule, device string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(rule)
	b.WriteByte(0)
	b.WriteString(device)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(labels[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// instance is one rule on one device with its alert state.
type instance struct {
	*compiled
	state    State
	activeAt time.Time
	firedAt  time.Time
	lastTrue time.Time
}

// Engine evaluates rules over the latest values of each device. It is a pure
// step function: callers pass the time, nothing here reads a clock, and it is
// not safe for concurrent use (one owner goroutine feeds it).
type Engine struct {
	instances []*instance
	byDevice  map[string][]*instance
	env       map[string]map[string]any
}

// NewEngine binds every rule to the devices it matches and compiles it.
func NewEngine(rules []*Rule, devices []*Device) (*Engine, error) {
	e := &Engine{byDevice: map[string][]*instance{}, env: map[string]map[string]any{}}
	var errs []error
	for _, d := range devices {
		e.env[d.ID] = map[string]any{}
		for _, r := range rules {
			if !r.Match.Matches(d) {
				continue
			}
			c, err := compileFor(r, d)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			in := &instance{compiled: c}
			e.instances = append(e.instances, in)
			e.byDevice[d.ID] = append(e.byDevice[d.ID], in)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// Observe records the samples' values and evaluates the rules of the devices
// they belong to at the samples' time.
func (e *Engine) Observe(samples []drivers.Sample) []Transition {
	var out []Transition
	var last string
	var ts time.Time
	for i := range samples {
		s := &samples[i]
		env, ok := e.env[s.Device]
		if !ok || s.Quality == drivers.Bad {
			continue
		}
		switch s.Value.Kind {
		case drivers.KindFloat, drivers.KindInt:
			env[s.Point] = s.Value.Float64()
		default:
			env[s.Point] = s.Value.Any()
		}
		if last != "" && s.Device != last {
			out = e.evalDevice(out, last, ts)
		}
		last, ts = s.Device, s.Time
	}
	if last != "" {
		out = e.evalDevice(out, last, ts)
	}
	return out
}

// Eval evaluates every rule at ts, so `for` and `keep_firing_for` timers
// advance even when no samples arrive.
func (e *Engine) Eval(ts time.Time) []Transition {
	var out []Transition
	for _, in := range e.instances {
		out = e.step(out, in, ts)
	}
	return out
}

func (e *Engine) evalDevice(out []Transition, device string, ts time.Time) []Transition {
	for _, in := range e.byDevice[device] {
		out = e.step(out, in, ts)
	}
	return out
}

func run(p *vm.Program, env map[string]any) (val, ok bool) {
	v, err := vm.Run(p, env)
	if err != nil {
		return false, false // a point without data yet: no decision
	}
	b, isBool := v.(bool)
	return b, isBool
}

// step advances one instance's state machine at ts.
func (e *Engine) step(out []Transition, in *instance, ts time.Time) []Transition {
	env := e.env[in.device.ID]
	cond, ok := run(in.expr, env)
	if !ok {
		return out
	}
	from := in.state
	r := in.rule
	if cond {
		in.lastTrue = ts
		switch in.state {
		case Inactive:
			in.activeAt = ts
			in.state = Pending
			if r.For <= 0 {
				in.state = Firing
				in.firedAt = ts
			}
		case Pending:
			if ts.Sub(in.activeAt) >= r.For {
				in.state = Firing
				in.firedAt = ts
			}
		}
	} else {
		switch in.state {
		case Pending:
			in.state = Inactive
		case Firing:
			clear := ts.Sub(in.lastTrue) >= r.KeepFiringFor
			if in.clear != nil {
				c, ok := run(in.clear, env)
				clear = clear && ok && c
			}
			if clear {
				in.state = Inactive
			}
		}
	}
	if in.state != from {
		out = append(out, Transition{Alert: e.alert(in), From: from, To: in.state, At: ts})
	}
	return out
}

func (e *Engine) alert(in *instance) Alert {
	r := in.rule
	return Alert{
		Fingerprint: in.fp,
		Rule:        r.Name,
		Device:      in.device.ID,
		Type:        in.device.Type,
		Location:    in.device.Location,
		Severity:    r.Severity,
		State:       in.state,
		ActiveAt:    in.activeAt,
		FiredAt:     in.firedAt,
		Labels:      r.Labels,
		Annotations: r.Annotations,
		Ticket:      r.Ticket,
		Values:      maps.Clone(e.env[in.device.ID]),
	}
}

// Alerts returns the pending and firing alerts.
func (e *Engine) Alerts() []Alert {
	var out []Alert
	for _, in := range e.instances {
		if in.state != Inactive {
			out = append(out, e.alert(in))
		}
	}
	return out
}
