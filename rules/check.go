package rules

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Check validates rules against the devices they match: unique names,
// known devices in match, and every expression type-checked against the
// points of every matched device's profile. Each problem is an *Error at
// its place in the rule file; an expression error points inside the
// expression. Problems shared by many devices of one profile are reported
// once.
func Check(set *Set, devices []*Device) []error {
	var errs []error
	names := map[string]*Rule{}
	c := newCompiler()
	ids := make(map[string]bool, len(devices))
	for _, d := range devices {
		ids[d.ID] = true
	}
	for _, r := range set.Rules {
		add := func(field, format string, args ...any) {
			errs = append(errs, yamlstrict.Errorf(r.Pos(field), "rule %q: "+format, append([]any{r.Name}, args...)...))
		}
		if first := names[r.Name]; first != nil && r.Name != "" {
			add("name", "defined twice (first at %s)", first.Pos("name"))
		} else {
			names[r.Name] = r
		}
		for _, id := range r.Match.Devices {
			if !ids[id] {
				add("match.devices", "match: unknown device %q", id)
			}
		}
		if r.Kind != KindExpr || r.Expr == "" || r.Match.Empty() {
			continue
		}
		reported := map[string]bool{}
		for _, d := range devices {
			if !r.Match.Matches(d) {
				continue
			}
			pkey := pointsKey(d.Points)
			for _, f := range []struct {
				field, src string
				want       resultType
			}{{"expr", r.Expr, asBool}, {"clear", r.Clear, asBool}, {"value", r.Value, asNumber}} {
				if f.src == "" {
					continue
				}
				_, err := c.compile(f.src, d.Points, pkey, f.want)
				var ee *ExprError
				if !errors.As(err, &ee) || reported[f.field+ee.Msg] {
					continue
				}
				reported[f.field+ee.Msg] = true
				hint := ""
				if name, ok := strings.CutPrefix(ee.Msg, "unknown name "); ok {
					hint = yamlstrict.DidYouMean(name, slices.Collect(maps.Keys(d.Points)))
				}
				errs = append(errs, yamlstrict.Errorf(r.Pos(f.field).Inside(ee.Line, ee.Col), "rule %q: %s: %s (device %q, profile type %q)%s",
					r.Name, f.field, ee.Msg, d.ID, d.Type, hint))
			}
		}
	}
	for _, ir := range set.Inhibit {
		for _, name := range ir.Equal {
			if !validLabelName(name) {
				errs = append(errs, yamlstrict.Errorf(ir.pos, "inhibit rule: equal: %q is not a label name", name))
			}
		}
		if len(ir.Source) > 0 && slices.EqualFunc(ir.Source, ir.Target, func(a, b Matcher) bool { return a.String() == b.String() }) && len(ir.Equal) == 0 {
			errs = append(errs, yamlstrict.Errorf(ir.pos, "inhibit rule: source and target are the same and equal is empty: every such alert would mute all the others"))
		}
	}
	return errs
}

// LoadError wraps a problem of a rule file that has no position.
func LoadError(path string, err error) error {
	return &Error{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprint(err)}
}
