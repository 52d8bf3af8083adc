package rules

import (
	"maps"
	"slices"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// kindCode is a rule's kind in the instance, next to the other fields a
// step reads first, so that a step touches one cache line in the common case.
type kindCode uint8

const (
	codeExpr kindCode = iota
	codeOffline
	codeGateway
)

func kindOf(k Kind) kindCode {
	switch k {
	case KindOffline:
		return codeOffline
	case KindGatewayOffline:
		return codeGateway
	}
	return codeExpr
}

// instance is one rule on one device (or gateway) with its alert state.
// The fields a step reads come first.
type instance struct {
	kind     kindCode
	state    State
	ready    bool // every point the expressions read has a value
	notified bool // receivers heard of the current firing
	flap     bool // fired too often: resolves only after a quiet flap window
	dev      *deviceState
	expr     *program
	rule     *Rule
	forStart time.Time // activeAt, moved on by downtime across a restart
	lastTrue time.Time

	index      int
	gateway    string         // gateway rules
	members    []*deviceState // gateway rules: the devices behind the gateway
	clear      *program
	value      *program
	fp         string
	labels     map[string]string // made when first needed: most instances never are
	activeAt   time.Time
	firedAt    time.Time
	resolvedAt time.Time
	fires      []time.Time // recent firing times, for flap detection
	silencedBy []string
	inhibitor  string
	value0     float64
	values     map[string]any
	annots     map[string]string
}

// labelSet returns the alert's labels.
func (in *instance) labelSet() map[string]string {
	if in.labels == nil {
		if in.dev != nil {
			in.labels = alertLabels(in.rule, in.dev.dev, "")
		} else {
			in.labels = alertLabels(in.rule, nil, in.gateway)
		}
	}
	return in.labels
}

// run evaluates a program; ok is false when it could not decide (a point
// without data, a runtime error).
func (e *Engine) run(p *program, env map[string]any) (val any, ok bool) {
	v, err := e.vm.Run(p.prog, env)
	return v, err == nil
}

func (e *Engine) runBool(p *program, env map[string]any) (val, ok bool) {
	if p.isTrue != nil {
		return p.isTrue(env)
	}
	v, ok := e.run(p, env)
	b, isBool := v.(bool)
	return b, ok && isBool
}

// hasData reports whether every variable the instance reads has a value.
func (in *instance) hasData() bool {
	if in.ready {
		return true
	}
	for _, p := range []*program{in.expr, in.clear} {
		if p == nil {
			continue
		}
		for _, name := range p.reads {
			if _, ok := in.dev.env[name]; !ok {
				return false
			}
		}
	}
	in.ready = true
	return true
}

// step evaluates one instance at ts and advances its state machine.
func (e *Engine) step(in *instance, ts time.Time) {
	var cond bool
	clear := true
	switch in.kind {
	case codeOffline:
		cond = in.dev.offline(ts, in.rule.After)
	case codeGateway:
		cond = true
		for _, ds := range in.members {
			if !ds.offline(ts, in.rule.After) {
				cond = false
				break
			}
		}
	default:
		ds := in.dev
		if ds.down() || ts.Sub(ds.lastData) > max(e.opts.Stale, 3*ds.dev.Interval) || !in.hasData() {
			return // no fresh data: hold the state, decide nothing
		}
		var ok bool
		if cond, ok = e.runBool(in.expr, ds.env); !ok {
			return
		}
		if !cond && in.state == Firing && in.clear != nil {
			c, ok := e.runBool(in.clear, ds.env)
			clear = ok && c
		}
	}
	e.advance(in, ts, cond, clear)
}

// advance is the state machine: the condition and, for a firing alert,
// whether its clear condition holds.
func (e *Engine) advance(in *instance, ts time.Time, cond, clear bool) {
	from := in.state
	r := in.rule
	if cond {
		in.lastTrue = ts
		switch in.state {
		case Inactive, Resolved:
			in.state, in.activeAt, in.forStart = Pending, ts, ts
			in.firedAt, in.resolvedAt = time.Time{}, time.Time{}
			if r.For <= 0 {
				e.fire(in, ts)
			}
		case Pending:
			if ts.Sub(in.forStart) >= r.For {
				e.fire(in, ts)
			}
		}
	} else {
		switch in.state {
		case Pending:
			in.state = Inactive
		case Firing:
			keep := r.KeepFiringFor
			if in.flap {
				keep = max(keep, r.Flapping.Window)
			}
			if clear && ts.Sub(in.lastTrue) >= keep {
				in.state, in.resolvedAt, in.flap = Resolved, ts, false
			}
		}
	}
	if in.state != from {
		e.changed(in, from, ts)
	}
}

func (e *Engine) fire(in *instance, ts time.Time) {
	in.state, in.firedAt = Firing, ts
	if w := in.rule.Flapping; w.Window > 0 {
		in.fires = append(in.fires, ts)
		if len(in.fires) > w.Fires {
			in.fires = slices.Delete(in.fires, 0, len(in.fires)-w.Fires)
		}
		// The Fires-th firing within the window: the alert is flapping,
		// and stays firing until its condition is quiet for a window.
		in.flap = len(in.fires) == w.Fires && ts.Sub(in.fires[0]) < w.Window
	}
}

// changed records a state change: the alert's value and annotations as of
// now, its place in the active set, and the transition (suppression and
// Notify are settled in finish).
func (e *Engine) changed(in *instance, from State, ts time.Time) {
	if in.state == Inactive {
		delete(e.active, in.index)
	} else {
		e.active[in.index] = in
	}
	if in.state == Pending || in.state == Firing {
		e.capture(in, ts)
	}
	e.out = append(e.out, Transition{From: from, To: in.state, At: ts})
	e.out[len(e.out)-1].Alert.Fingerprint = in.fp // filled in by finish
}

// capture takes the alert's value, the device's values and renders the
// annotations.
func (e *Engine) capture(in *instance, ts time.Time) {
	in.value0 = nan
	switch {
	case in.kind == codeOffline:
		in.value0 = ts.Sub(in.dev.lastData).Seconds()
	case in.kind == energyCode:
		if st := in.dev.energy[in.rule.Name]; st != nil {
			in.value0 = st.excess
		}
	case in.dev == nil:
		n := 0
		for _, ds := range in.members {
			if ds.offline(ts, in.rule.After) {
				n++
			}
		}
		in.value0 = float64(n)
	case in.value != nil && in.value.number != nil:
		if v, ok := in.value.number(in.dev.env); ok {
			in.value0 = v
		}
	case in.value != nil:
		if v, ok := e.run(in.value, in.dev.env); ok {
			if f, isF := v.(float64); isF {
				in.value0 = f
			}
		}
	case in.expr.first != "":
		if f, ok := in.dev.env[in.expr.first].(float64); ok {
			in.value0 = f
		}
	}
	if in.dev != nil {
		in.values = make(map[string]any, len(in.dev.env))
		for k, v := range in.dev.env {
			// NaN (an empty window, a meter's "not available") and ±Inf
			// are nil: null in JSON, n/a in templates
			in.values[k] = drivers.JSONSafe(v)
		}
	}
	a := e.alert(in)
	in.annots = renderAnnotations(in.rule, &templateData{Rule: a.Rule, Device: a.Device, Type: a.Type,
		Location: a.Location, Gateway: a.Gateway, Severity: string(a.Severity), Value: number(in.value0),
		Values: templateValues(in.values), Labels: a.Labels})
}

// finish settles the transitions of one evaluation: it works out what
// silences and inhibit rules mute, which transitions receivers must hear of,
// and (on ticks) re-announces firing alerts no longer muted and forgets
// resolved alerts that expired.
func (e *Engine) finish(ts time.Time, tick bool) {
	if tick {
		all := make([]*instance, 0, len(e.active))
		for _, in := range e.active {
			all = append(all, in)
		}
		e.suppress(ts, all)
	} else if len(e.out) > 0 {
		changed := make([]*instance, 0, len(e.out))
		for i := range e.out {
			changed = append(changed, e.byFP[e.out[i].Alert.Fingerprint])
		}
		e.suppress(ts, changed)
	}
	for i := range e.out {
		t := &e.out[i]
		in := e.byFP[t.Alert.Fingerprint]
		switch t.To {
		case Firing:
			t.Notify = in.silencedBy == nil && in.inhibitor == ""
			in.notified = t.Notify
		case Resolved:
			t.Notify = in.notified
			in.notified = false
		}
		t.Alert = e.alert(in)
		t.Alert.State = t.To
	}
	if !tick {
		return
	}
	for _, idx := range slices.Sorted(maps.Keys(e.active)) {
		in := e.active[idx]
		switch {
		case in.state == Firing && !in.notified && in.silencedBy == nil && in.inhibitor == "":
			in.notified = true
			e.out = append(e.out, Transition{Alert: e.alert(in), From: Firing, To: Firing, At: ts, Notify: true})
		case in.state == Resolved && ts.Sub(in.resolvedAt) >= e.opts.ResolvedFor:
			in.state = Inactive
			delete(e.active, idx)
		}
	}
}

// alert is the public view of an instance.
func (e *Engine) alert(in *instance) Alert {
	r := in.rule
	a := Alert{
		Fingerprint: in.fp, Rule: r.Name, Group: r.Group, Kind: r.Kind, Gateway: in.gateway,
		Severity: r.Severity, State: in.state, ActiveAt: in.activeAt, FiredAt: in.firedAt,
		ResolvedAt: in.resolvedAt, Value: in.value0, Labels: in.labelSet(), Annotations: in.annots,
		Ticket: r.Ticket, Values: in.values, Flapping: in.flap,
		SilencedBy: in.silencedBy, InhibitedBy: in.inhibitor,
	}
	if in.dev != nil {
		d := in.dev.dev
		a.Device, a.Type, a.Location, a.Gateway = d.ID, d.Type, d.Location, d.Gateway
	}
	return a
}
