package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// A rule of severity critical that cannot be evaluated is itself critical: a
// fire panel that refuses the register of fire_alarm must not leave the
// fire_alarm rule deciding on the last value it read, or on none, in
// silence. For every critical expr rule the engine adds a built-in rule,
// RULE_unreadable (see UnreadableSuffix), on the same devices: it fires at
// once, severity critical, with the critical rule's ticket, while a point
// the critical rule reads (its critical points) arrives with Quality Bad,
// and resolves when they all read again. Like expr rules it holds its state
// while its device is down or its data stale: offline rules say why.

// KindUnreadable is the kind of the built-in alerts of unreadable critical
// points. Rule files cannot use it; the engine makes these rules itself.
const KindUnreadable Kind = "unreadable"

// UnreadableSuffix names the built-in rule of a critical rule: fire_alarm's
// is fire_alarm_unreadable. A rule file may not use such a name.
const UnreadableSuffix = "_unreadable"

// UnreadableRuleLabel is the label of a built-in unreadable alert that names
// the critical rule it stands for.
const UnreadableRuleLabel = "critical_rule"

// UnreadablePoint is the point of drivers.HealthMeasurement in which a driver
// may say why a device's critical points did not read, as
// "point: reason; point: reason" ("" when all read). The engine puts the
// reasons into the summary of the unreadable alert; without them it says the
// point had Quality Bad. drivers/modbus writes it in the same batch as the
// points, for devices that have critical points.
const UnreadablePoint = "unreadable"

// unreadableCode is the kind code of the built-in instances. They are never
// stepped by step (they have no expression): the engine steps them with
// stepUnreadable.
const unreadableCode kindCode = 100

// critical reports whether r is a rule whose points are critical points.
func critical(r *Rule) bool {
	return r.Kind == KindExpr && r.Severity == Critical && !r.malformed && r.Expr != ""
}

// programPoints adds the device points that the programs read, directly or
// through window functions.
func programPoints(set map[string]bool, points map[string]drivers.Kind, progs ...*program) {
	for _, p := range progs {
		if p == nil {
			continue
		}
		for _, name := range p.reads {
			if _, ok := points[name]; ok {
				set[name] = true
			}
		}
		for _, ref := range p.refs {
			set[ref.point] = true
		}
	}
}

// CriticalPoints returns, by device id, the points that the critical rules
// (severity critical, kind expr) matching the device read, sorted: what a
// driver must not give up reading. Devices without any are left out;
// expressions that do not compile are skipped (Check reports them).
func CriticalPoints(set *Set, devices []*Device) map[string][]string {
	c := newCompiler()
	out := map[string][]string{}
	for _, d := range devices {
		var pkey string
		pts := map[string]bool{}
		for _, r := range set.Rules {
			if !critical(r) || !r.Match.Matches(d) {
				continue
			}
			if pkey == "" {
				pkey = pointsKey(d.Points)
			}
			for _, src := range []string{r.Expr, r.Clear} {
				if src == "" {
					continue
				}
				if p, err := c.compile(src, d.Points, pkey, asBool); err == nil {
					programPoints(pts, d.Points, p)
				}
			}
		}
		if len(pts) > 0 {
			out[d.ID] = slices.Sorted(maps.Keys(pts))
		}
	}
	return out
}

// unreadableWatch is the built-in unreadable alert of one critical rule on
// one device.
type unreadableWatch struct {
	in     *instance
	of     *Rule    // the critical rule
	points []string // its critical points on the device, sorted
}

// unreadableRules makes the built-in rule of every critical rule of the set,
// by the critical rule's name. A rule of the set already named so is an
// error.
func unreadableRules(set *Set) (map[string]*Rule, []error) {
	names := map[string]bool{}
	for _, r := range set.Rules {
		names[r.Name] = true
	}
	out := map[string]*Rule{}
	var errs []error
	for _, r := range set.Rules {
		if !critical(r) || out[r.Name] != nil {
			continue
		}
		name := r.Name + UnreadableSuffix
		if names[name] {
			errs = append(errs, fmt.Errorf("rule %q: the name is taken by the built-in alert of critical rule %q when its points cannot be read: rename it", name, r.Name))
			continue
		}
		labels := maps.Clone(r.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[UnreadableRuleLabel] = r.Name
		u := &Rule{
			Name: name, Group: r.Group, Kind: KindUnreadable, Match: r.Match, Severity: Critical,
			Labels: labels, Ticket: r.Ticket, pos: r.pos,
			Annotations: map[string]string{
				"summary": "a point of critical rule " + r.Name + " is unreadable — " + r.Name + " cannot be evaluated",
			},
		}
		u.templates = map[string]*annotationTemplate{}
		for k, text := range u.Annotations {
			t, err := parseTemplate(k, text)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %s: %w", name, k, err))
				continue
			}
			u.templates[k] = t
		}
		out[r.Name] = u
	}
	return out, errs
}

// addUnreadable adds the built-in unreadable alerts of a device's critical
// rule instances. Call it after the device's own instances are added.
func (e *Engine) addUnreadable(ds *deviceState, builtin map[string]*Rule) {
	for _, in := range ds.instances {
		u := builtin[in.rule.Name]
		if u == nil || in.kind != codeExpr || in.expr == nil {
			continue
		}
		pts := map[string]bool{}
		programPoints(pts, ds.dev.Points, in.expr, in.clear)
		if len(pts) == 0 {
			continue
		}
		w := &unreadableWatch{of: in.rule, points: slices.Sorted(maps.Keys(pts))}
		w.in = &instance{rule: u, dev: ds, expr: &program{}}
		ds.unreadable = append(ds.unreadable, w)
		if ds.critical == nil {
			ds.critical = map[string]bool{}
		}
		for p := range pts {
			ds.critical[p] = true
		}
	}
	for _, w := range ds.unreadable {
		e.add(w.in)
		w.in.kind = unreadableCode
	}
}

// observeCritical records whether a sample of a critical point read.
func (ds *deviceState) observeCritical(s *drivers.Sample) {
	if !ds.critical[s.Point] {
		return
	}
	if s.Quality == drivers.Bad {
		if ds.bad == nil {
			ds.bad = map[string]bool{}
		}
		ds.bad[s.Point] = true
	} else {
		delete(ds.bad, s.Point)
	}
}

// observeReasons takes a driver's reasons for unreadable critical points.
func (ds *deviceState) observeReasons(s *drivers.Sample) {
	if ds.critical == nil || s.Value.Kind != drivers.KindString {
		return
	}
	ds.reasons = ParseUnreadable(s.Value.S)
}

// FormatUnreadable writes the reasons of unreadable points, by point, as
// UnreadablePoint holds them.
func FormatUnreadable(reasons map[string]string) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(reasons)) {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(strings.ReplaceAll(reasons[name], "; ", ", "))
	}
	return b.String()
}

// ParseUnreadable reads what FormatUnreadable writes.
func ParseUnreadable(s string) map[string]string {
	if s == "" {
		return nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(s, "; ") {
		name, reason, _ := strings.Cut(part, ": ")
		if name != "" {
			out[name] = reason
		}
	}
	return out
}

// stepUnreadable evaluates a built-in unreadable alert after its device's
// samples: firing at once while a critical point is Bad, resolved when they
// all read. It holds its state while the device is down or its data stale.
func (e *Engine) stepUnreadable(w *unreadableWatch, ts time.Time) {
	in, ds := w.in, w.in.dev
	if ds.down() || ts.Sub(ds.lastData) > max(e.opts.Stale, 3*ds.dev.Interval) {
		return
	}
	var bad []string
	for _, p := range w.points {
		if ds.bad[p] {
			bad = append(bad, p)
		}
	}
	e.advance(in, ts, len(bad) > 0, true)
	if len(bad) > 0 && (in.state == Pending || in.state == Firing) {
		in.value0 = float64(len(bad))
		in.annots = w.annotations(bad)
	}
}

// annotations are the summary and description of the alert for the points
// that did not read. The summary does not name the device: tickets and
// notifications put the alert's subject before it ("fire-panel-1: ...").
func (w *unreadableWatch) annotations(bad []string) map[string]string {
	ds := w.in.dev
	reasons := make([]string, len(bad))
	same := true
	for i, p := range bad {
		reasons[i] = ds.reasons[p]
		if reasons[i] == "" {
			reasons[i] = "Quality Bad: the driver could not read it"
		}
		same = same && reasons[i] == reasons[0]
	}
	why := reasons[0]
	if !same {
		parts := make([]string, len(bad))
		for i, p := range bad {
			parts[i] = p + ": " + reasons[i]
		}
		why = strings.Join(parts, "; ")
	}
	pts := strings.Join(bad, ", ")
	rule := w.of.Name
	where := ds.dev.ID
	if ds.dev.Location != "" {
		where += " (" + ds.dev.Location + ")"
	}
	return map[string]string{
		"summary": fmt.Sprintf("%s unreadable (%s) — %s cannot be evaluated", pts, why, rule),
		"description": fmt.Sprintf("%s: critical rule %s reads %s, which the device does not deliver (%s), so its alarm "+
			"cannot be seen. The driver asks for it every poll; check the device, its gateway and the point's register in the profile.",
			where, rule, pts, why),
		"points": pts,
	}
}
