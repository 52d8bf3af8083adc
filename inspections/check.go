package inspections

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/facilityd/facilityd/internal/yamlstrict"
	"github.com/facilityd/facilityd/rules"
)

// Device is what plans know of a device: its identity, equipment type and
// tags (for match) and the points of its profile (for counters).
type Device struct {
	ID       string
	Type     string
	Profile  string
	Location string
	Tags     map[string]string
	// Points are the profile's point names; true marks a counter
	// (counter: true in the profile).
	Points map[string]bool
}

func (d *Device) rulesDevice() *rules.Device {
	return &rules.Device{ID: d.ID, Type: d.Type, Profile: d.Profile, Tags: d.Tags}
}

// Matches reports whether the plan applies to the device, with the
// semantics of a rule's match.
func (p *Plan) Matches(d *Device) bool { return p.Match.Matches(d.rulesDevice()) }

// Check validates plans together and against the devices they match:
// unique names, known plans in includes and no cycle among them, known
// devices in match, and every counter a counter point of every matched
// device's profile. Each problem is an *rules.Error at its place in the
// plan's file; one shared by many devices of a profile is reported once.
// Check also links each plan to the plans it includes, which Eval and the
// Engine need: call it before them.
func Check(plans []*Plan, devices []*Device) []error {
	var errs []error
	add := func(p *Plan, field, format string, args ...any) {
		errs = append(errs, yamlstrict.Errorf(p.Pos(field), "plan %q: "+format, append([]any{p.Name}, args...)...))
	}
	byName := map[string]*Plan{}
	for _, p := range plans {
		if first := byName[p.Name]; first != nil && p.Name != "" {
			add(p, "name", "defined twice (first at %s)", first.Pos("name"))
			continue
		}
		byName[p.Name] = p
	}
	names := slices.Sorted(maps.Keys(byName))
	for _, p := range plans {
		for i, name := range p.Includes {
			if byName[name] == nil {
				add(p, fmt.Sprintf("includes[%d]", i), "includes: unknown plan %q%s", name, yamlstrict.DidYouMean(name, names))
			}
		}
	}
	errs = append(errs, cycles(plans, byName)...)
	for _, p := range plans {
		p.closure = closure(p, byName)
	}
	ids := make(map[string]bool, len(devices))
	for _, d := range devices {
		ids[d.ID] = true
	}
	for _, p := range plans {
		for _, id := range p.Match.Devices {
			if !ids[id] {
				add(p, "match.devices", "match: unknown device %q%s", id, yamlstrict.DidYouMean(id, slices.Sorted(maps.Keys(ids))))
			}
		}
		reported := map[string]bool{}
		for _, d := range devices {
			if len(p.Counters) == 0 || !p.Matches(d) {
				continue
			}
			for i, c := range p.Counters {
				msg := counterProblem(c.Point, d)
				if msg == "" || reported[fmt.Sprint(i, d.Profile, msg)] {
					continue
				}
				reported[fmt.Sprint(i, d.Profile, msg)] = true
				add(p, fmt.Sprintf("counters[%d].point", i), "counters[%d].point: %s (device %q, profile %q)", i, msg, d.ID, d.Profile)
			}
		}
	}
	return errs
}

// counterProblem says what is wrong with point as a counter of d, or "".
func counterProblem(point string, d *Device) string {
	counter, ok := d.Points[point]
	if ok && counter {
		return ""
	}
	var counters []string
	for name, c := range d.Points {
		if c {
			counters = append(counters, name)
		}
	}
	slices.Sort(counters)
	known := "the profile has no counter point"
	if len(counters) > 0 {
		known = "its counters are " + strings.Join(counters, ", ")
	}
	if ok {
		return fmt.Sprintf("point %q is not a counter (mark it counter: true in the profile if it only ever counts up); %s", point, known)
	}
	return fmt.Sprintf("unknown point %q%s; %s", point, yamlstrict.DidYouMean(point, slices.Sorted(maps.Keys(d.Points))), known)
}

// cycles reports each includes cycle once, at the entry that closes it.
func cycles(plans []*Plan, byName map[string]*Plan) []error {
	const (
		white = iota
		grey
		black
	)
	color := map[*Plan]int{}
	var errs []error
	var path []*Plan
	var visit func(p *Plan)
	visit = func(p *Plan) {
		color[p] = grey
		path = append(path, p)
		for i, name := range p.Includes {
			q := byName[name]
			switch {
			case q == nil || q == p: // unknown, or reported by the parser
			case color[q] == grey:
				start := slices.Index(path, q)
				var chain []string
				for _, c := range path[start:] {
					chain = append(chain, c.Name)
				}
				chain = append(chain, q.Name)
				errs = append(errs, yamlstrict.Errorf(p.Pos(fmt.Sprintf("includes[%d]", i)),
					"plan %q: includes: a cycle %s: a plan cannot include itself, even through another", p.Name, strings.Join(chain, " → ")))
			case color[q] == white:
				visit(q)
			}
		}
		path = path[:len(path)-1]
		color[p] = black
	}
	for _, p := range plans {
		if color[p] == white {
			visit(p)
		}
	}
	return errs
}

// closure is every plan p includes, directly or not, deepest first, without
// p itself (even in a cycle).
func closure(p *Plan, byName map[string]*Plan) []*Plan {
	var out []*Plan
	seen := map[*Plan]bool{p: true}
	var walk func(q *Plan)
	walk = func(q *Plan) {
		for _, name := range q.Includes {
			if c := byName[name]; c != nil && !seen[c] {
				seen[c] = true
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(p)
	return out
}
