package rules

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

var windowFields = []string{"name", "matchers", "schedule", "duration", "timezone", "comment"}

// maintenanceWindows parses the maintenance_windows of a rule file:
//
//	maintenance_windows:
//	  - name: pumps_a_sunday
//	    matchers: ['type="pump"', 'building="A"']
//	    schedule: "0 2 * * SUN"      # cron: minute hour day-of-month month day-of-week
//	    duration: 4h
//	    timezone: Europe/Berlin      # IANA name; default: the daemon's local zone
//	    comment: weekly pump service
func (p *parser) maintenanceWindows(n *yaml.Node) []*MaintenanceWindow {
	if !p.List(n, "maintenance_windows") {
		return nil
	}
	var out []*MaintenanceWindow
	seen := map[string]Pos{}
	for _, c := range n.Content {
		c = p.Resolve(c)
		w := p.maintenanceWindow(c)
		if w == nil {
			continue
		}
		if first, dup := seen[w.Name]; dup && w.Name != "" {
			p.Errs = append(p.Errs, yamlstrict.Errorf(w.pos, "maintenance window %q is defined twice in this file (first at %s)", w.Name, first))
		}
		seen[w.Name] = w.pos
		out = append(out, w)
	}
	return out
}

func (p *parser) maintenanceWindow(n *yaml.Node) *MaintenanceWindow {
	w := &MaintenanceWindow{pos: p.At(n), Location: time.Local}
	w.File = w.pos.File
	before := len(p.Errs)
	var schedNode *yaml.Node
	p.fields(n, "maintenance window", windowFields, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			w.Name = p.str(v, "name")
		case "matchers":
			w.Matchers = p.matchers(v, "matchers")
		case "schedule":
			w.Schedule, schedNode = p.str(v, "schedule"), v
		case "duration":
			w.Duration = p.duration(v, "duration")
			if w.Duration == 0 && len(p.Errs) == before {
				p.Errorf(v, "duration must be positive, such as 4h")
			}
		case "timezone":
			w.Timezone = p.str(v, "timezone")
			loc, err := time.LoadLocation(w.Timezone)
			if err != nil || w.Timezone == "" {
				p.Errorf(v, "unknown timezone %q: write an IANA name such as Europe/Berlin, or UTC", w.Timezone)
				break
			}
			w.Location = loc
		case "comment":
			w.Comment = p.str(v, "comment")
		}
	})
	if n.Kind != yaml.MappingNode {
		return nil
	}
	// The schedule is read in the zone, wherever timezone is written.
	if schedNode != nil && w.Schedule != "" {
		s, err := parseSchedule(w.Schedule, w.Location)
		if err != nil {
			p.Errorf(schedNode, "schedule %v", err)
		}
		w.sched = s
	}
	missing := func(what, example string) {
		p.Errs = append(p.Errs, yamlstrict.Errorf(w.pos, "%s is required, e.g. %s", what, example))
	}
	if w.Name == "" {
		missing("name", "name: pumps_sunday")
	}
	if len(p.Errs) == before {
		if len(w.Matchers) == 0 {
			missing("matchers", `matchers: ['type="pump"']`)
		}
		if w.Schedule == "" {
			missing("schedule", `schedule: "0 2 * * SUN"`)
		}
		if w.Duration == 0 {
			missing("duration", "duration: 4h")
		}
	}
	prefix := "maintenance window: "
	if w.Name != "" {
		prefix = fmt.Sprintf("maintenance window %q: ", w.Name)
	}
	for _, err := range p.Errs[before:] {
		if e, ok := err.(*Error); ok {
			e.Msg = prefix + strings.TrimPrefix(e.Msg, "maintenance window: ")
		}
	}
	return w
}
