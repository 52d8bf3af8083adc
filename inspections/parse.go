package inspections

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/tickets"
)

// ParseFile parses an inspection file (a top-level inspections: list of
// plans) strictly. Every problem is returned together, each an *rules.Error
// at file:line:col; the plans that could be parsed are returned too. Points
// and includes are checked later, against the devices, by Check.
func ParseFile(path string, data []byte) ([]*Plan, error) {
	p := newParser(path, data)
	root := p.Parse()
	if root == nil {
		return nil, rules.SortErrors(p.Errs)
	}
	var plans []*Plan
	p.fields(root, "inspection file", []string{"inspections"}, func(key string, k, v *yaml.Node) {
		plans = p.plans(v)
	})
	p.duplicates(plans)
	return plans, rules.SortErrors(p.Errs)
}

// ParseSection parses the list of plans at n, such as the inspections:
// section of a rule file, in the file path whose content is data.
func ParseSection(path string, data []byte, n *yaml.Node) ([]*Plan, error) {
	p := newParser(path, data)
	if n = p.Resolve(n); n == nil || yamlstrict.IsNull(n) {
		return nil, nil
	}
	plans := p.plans(n)
	p.duplicates(plans)
	return plans, rules.SortErrors(p.Errs)
}

type parser struct{ *yamlstrict.Decoder }

func newParser(file string, data []byte) *parser {
	d := yamlstrict.NewDecoder(file, data)
	d.PathFirst = true
	d.AliasAdvice = "write the plans out"
	return &parser{d}
}

func (p *parser) plans(n *yaml.Node) []*Plan {
	if !p.List(n, "inspections") {
		return nil
	}
	var out []*Plan
	for _, c := range n.Content {
		if c = p.Resolve(c); yamlstrict.IsNull(c) {
			p.Errorf(c, "inspections: empty list item: write a plan or remove the -")
			continue
		}
		out = append(out, p.plan(c))
	}
	return out
}

func (p *parser) duplicates(plans []*Plan) {
	seen := map[string]*Plan{}
	for _, pl := range plans {
		if first := seen[pl.Name]; first != nil && pl.Name != "" {
			p.Errs = append(p.Errs, yamlstrict.Errorf(pl.Pos("name"), "plan %q is defined twice (first at %s)", pl.Name, first.Pos("name")))
			continue
		}
		seen[pl.Name] = pl
	}
}

// fields is Fields with aliases resolved and null values skipped.
func (p *parser) fields(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) bool {
	return p.Fields(n, what, known, func(key string, k, v *yaml.Node) {
		if v = p.Resolve(v); !yamlstrict.IsNull(v) {
			fn(key, k, v)
		}
	})
}

func (p *parser) str(n *yaml.Node, what string) string {
	s, _ := p.Scalar(n, what, "a string")
	return s
}

func (p *parser) strList(n *yaml.Node, what string) []string {
	if !p.List(n, what) {
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if s, ok := p.Scalar(p.Resolve(c), fmt.Sprintf("%s[%d]", what, i), "a string"); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s, ok := p.Scalar(n, what, "a boolean")
	if !ok {
		return false
	}
	b, ok := yamlstrict.ParseBool(s)
	if !ok {
		p.BadValue(n, what, s, "a boolean (true or false)")
	}
	return b
}

// number reads a finite number; with positive set it must be above 0.
func (p *parser) number(n *yaml.Node, what string, positive bool) float64 {
	s, ok := p.Scalar(n, what, "a number")
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		p.BadValue(n, what, s, "a number")
	case positive && f <= 0:
		p.Errorf(n, "%s: must be more than 0, got %s", what, s)
	case f < 0:
		p.Errorf(n, "%s: must not be negative, got %s", what, s)
	default:
		return f
	}
	return 0
}

func (p *parser) span(n *yaml.Node, what string) Span {
	s, ok := p.Scalar(n, what, "a calendar span")
	if !ok {
		return Span{}
	}
	sp, err := ParseSpan(s)
	if err != nil {
		p.Errorf(n, "%s: %v", what, err)
	}
	return sp
}

func (p *parser) strMap(n *yaml.Node, what string) map[string]string {
	out := map[string]string{}
	p.Entries(n, what, func(k, v *yaml.Node) {
		if s, ok := p.Scalar(p.Resolve(v), what+"."+k.Value, "a string"); ok {
			out[k.Value] = s
		}
	})
	return out
}

var planFields = []string{"name", "description", "match", "every", "counters", "schedule", "anchor",
	"lead", "grace", "includes", "checklist", "ticket"}

// plan parses one plan and checks what needs no devices.
func (p *parser) plan(n *yaml.Node) *Plan {
	pl := &Plan{pos: map[string]rules.Pos{"": p.At(n)}, Ticket: TicketSpec{Priority: "P3"}}
	before := len(p.Errs)
	p.fields(n, "plan", planFields, func(key string, k, v *yaml.Node) {
		pl.pos[key] = p.At(v)
		switch key {
		case "name":
			pl.Name = p.str(v, key)
		case "description":
			pl.Description = p.str(v, key)
		case "match":
			p.match(v, pl)
		case "every":
			p.every(v, pl)
		case "counters":
			p.counters(v, pl)
		case "schedule":
			s, err := yamlstrict.Enum(v, "schedule", Floating, Fixed)
			if err != nil {
				p.Errorf(v, "%v", err)
			}
			pl.Schedule = s
		case "anchor":
			s := p.str(v, key)
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				p.Errorf(v, "anchor: cannot use %q as a date: write it as 2026-01-01", s)
			}
			pl.Anchor = Date{t.Year(), t.Month(), t.Day()}
		case "lead":
			pl.Lead = p.span(v, key)
		case "grace":
			pl.Grace = p.span(v, key)
		case "includes":
			pl.Includes = p.strList(v, key)
			for i, c := range v.Content {
				pl.pos[fmt.Sprintf("includes[%d]", i)] = p.At(c)
			}
		case "checklist":
			p.checklist(v, pl)
		case "ticket":
			p.ticket(v, pl)
		}
	})
	if n.Kind != yaml.MappingNode {
		return pl
	}
	malformed := len(p.Errs) > before
	p.semantics(pl, malformed)
	prefix := "plan: "
	if pl.Name != "" {
		prefix = fmt.Sprintf("plan %q: ", pl.Name)
	}
	for _, err := range p.Errs[before:] {
		if e, ok := err.(*rules.Error); ok && !strings.HasPrefix(e.Msg, prefix) {
			e.Msg = prefix + strings.TrimPrefix(e.Msg, "plan: ")
		}
	}
	return pl
}

func (p *parser) match(n *yaml.Node, pl *Plan) {
	p.fields(n, "match", []string{"all", "type", "devices", "tags"}, func(key string, k, v *yaml.Node) {
		pl.pos["match."+key] = p.At(v)
		switch key {
		case "all":
			pl.Match.All = p.boolean(v, "match.all")
		case "type":
			pl.Match.Type = p.str(v, "match.type")
		case "devices":
			pl.Match.Devices = p.strList(v, "match.devices")
		case "tags":
			pl.Match.Tags = p.strMap(v, "match.tags")
		}
	})
}

// every reads a span (15d, 3mo, 1y) or a day of month ({day: 10}, with
// months: N for every N months).
func (p *parser) every(n *yaml.Node, pl *Plan) {
	if n.Kind == yaml.ScalarNode {
		s, ok := p.Scalar(n, "every", "a calendar span")
		if !ok {
			return
		}
		sp, err := ParseSpan(s)
		switch {
		case err != nil:
			p.Errorf(n, "every: %v", err)
		case sp.N == 0:
			p.Errorf(n, "every: must be longer than 0d: %s", spanHint)
		}
		pl.Every = sp
		return
	}
	pl.Every = Span{1, Months}
	p.fields(n, "every", []string{"day", "months"}, func(key string, k, v *yaml.Node) {
		s, ok := p.Scalar(v, "every."+key, "a whole number")
		if !ok {
			return
		}
		i, err := strconv.Atoi(s)
		switch {
		case key == "day" && (err != nil || i < 1 || i > 31):
			p.Errorf(v, "every.day: cannot use %q as a day of month: write 1 to 31 (a short month uses its last day)", s)
		case key == "day":
			pl.DayOfMonth = i
		case err != nil || i < 1 || i > 120:
			p.Errorf(v, "every.months: cannot use %q: write a whole number of months, 1 to 120", s)
		default:
			pl.Every = Span{i, Months}
		}
	})
	if pl.DayOfMonth == 0 && n.Kind == yaml.MappingNode {
		p.Errorf(n, "every: day is required in a mapping, e.g. every: {day: 10}; or write a span such as 15d or 3mo")
	}
}

func (p *parser) counters(n *yaml.Node, pl *Plan) {
	if !p.List(n, "counters") {
		return
	}
	for i, c := range n.Content {
		c = p.Resolve(c)
		what := fmt.Sprintf("counters[%d]", i)
		pl.pos[what] = p.At(c)
		var cr Counter
		var leadNode *yaml.Node
		p.fields(c, what, []string{"point", "every", "lead_units"}, func(key string, k, v *yaml.Node) {
			pl.pos[what+"."+key] = p.At(v)
			switch key {
			case "point":
				cr.Point = p.str(v, what+".point")
			case "every":
				cr.Every = p.number(v, what+".every", true)
			case "lead_units":
				leadNode = v
				cr.LeadUnits = p.number(v, what+".lead_units", false)
			}
		})
		if c.Kind != yaml.MappingNode {
			continue
		}
		if cr.Point == "" {
			p.Errorf(c, "%s: point is required, e.g. {point: run_hours, every: 500}", what)
		}
		if _, ok := pl.pos[what+".every"]; !ok {
			p.Errorf(c, "%s: every is required (units of the counter, e.g. every: 5000)", what)
		}
		if cr.Every > 0 && cr.LeadUnits >= cr.Every {
			p.Errorf(leadNode, "%s: lead_units %g must be less than every %g", what, cr.LeadUnits, cr.Every)
		}
		pl.Counters = append(pl.Counters, cr)
	}
}

func (p *parser) checklist(n *yaml.Node, pl *Plan) {
	if !p.List(n, "checklist") {
		return
	}
	for i, c := range n.Content {
		c = p.Resolve(c)
		what := fmt.Sprintf("checklist[%d]", i)
		it := tickets.ChecklistItem{Index: i + 1}
		var evidence *yaml.Node
		p.fields(c, what, []string{"text", "required", "evidence", "unit", "min", "max"}, func(key string, k, v *yaml.Node) {
			w := what + "." + key
			switch key {
			case "text":
				it.Text = p.str(v, w)
			case "required":
				it.Required = p.boolean(v, w)
			case "evidence":
				evidence = v
				e, err := yamlstrict.Enum(v, w, tickets.EvidenceReading, tickets.EvidenceYesNo, tickets.EvidenceText)
				if err != nil {
					p.Errorf(v, "%v", err)
				}
				it.Evidence = e
			case "unit":
				it.Unit = p.str(v, w)
			case "min", "max":
				f := p.number2(v, w)
				if key == "min" {
					it.Min = f
				} else {
					it.Max = f
				}
			}
		})
		if c.Kind != yaml.MappingNode {
			continue
		}
		limits := it.Unit != "" || it.Min != nil || it.Max != nil
		switch {
		case it.Evidence == "" && limits:
			it.Evidence = tickets.EvidenceReading
		case it.Evidence == "":
			it.Evidence = tickets.EvidenceYesNo
		case it.Evidence != tickets.EvidenceReading && limits && evidence != nil:
			p.Errorf(evidence, "%s: unit, min and max are for evidence: reading, not %s", what, it.Evidence)
		}
		if strings.TrimSpace(it.Text) == "" {
			p.Errorf(c, "%s: text is required: what to check", what)
		}
		if it.Min != nil && it.Max != nil && *it.Min > *it.Max {
			p.Errorf(c, "%s: min %g is above max %g", what, *it.Min, *it.Max)
		}
		pl.Checklist = append(pl.Checklist, it)
	}
}

// number2 reads a limit: any finite number, or nil.
func (p *parser) number2(n *yaml.Node, what string) *float64 {
	s, ok := p.Scalar(n, what, "a number")
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.BadValue(n, what, s, "a number")
		return nil
	}
	return &f
}

func (p *parser) ticket(n *yaml.Node, pl *Plan) {
	p.fields(n, "ticket", []string{"priority", "category", "assignee"}, func(key string, k, v *yaml.Node) {
		pl.pos["ticket."+key] = p.At(v)
		switch key {
		case "priority":
			pr, err := yamlstrict.Enum(v, "ticket priority", "P1", "P2", "P3", "P4")
			if err != nil {
				p.Errorf(v, "ticket.priority: %v", err)
			}
			pl.Ticket.Priority = pr
		case "category":
			pl.Ticket.Category = p.str(v, "ticket.category")
		case "assignee":
			pl.Ticket.Assignee = p.str(v, "ticket.assignee")
		}
	})
}

// semantics checks what a plan needs as a whole. For a malformed plan,
// what is missing is not reported: it is most likely what was mistyped.
func (p *parser) semantics(pl *Plan, malformed bool) {
	add := func(field, format string, args ...any) {
		p.Errs = append(p.Errs, yamlstrict.Errorf(pl.Pos(field), format, args...))
	}
	_, hasEvery := pl.pos["every"]
	switch {
	case pl.Name == "":
		add("", "plan without name: every plan needs a unique name")
	case !validName(pl.Name):
		add("name", "a plan name is letters, digits, _ and - (it is part of the ticket key inspection:PLAN:DEVICE)")
	}
	if pl.Match.Empty() && !malformed {
		add("", "match is required (all: true, type, devices or tags)")
	}
	if !hasEvery && len(pl.Counters) == 0 && !malformed {
		add("", "every or counters is required: when does the plan fall due? e.g. every: 15d, or counters: [{point: run_hours, every: 500}]")
	}
	_, hasSchedule := pl.pos["schedule"]
	switch {
	case pl.DayOfMonth > 0 && pl.Schedule == Floating && hasSchedule:
		add("schedule", "every: {day: %d} is a fixed schedule: remove schedule: floating, or write every as a span", pl.DayOfMonth)
	case pl.DayOfMonth > 0:
		pl.Schedule = Fixed
	case pl.Schedule == "":
		pl.Schedule = Floating
	}
	if pl.Schedule == Fixed && !hasEvery && hasSchedule {
		add("schedule", "schedule: fixed is a calendar schedule: it needs every (counters always count from the completion)")
	}
	if _, ok := pl.pos["anchor"]; ok && !malformed {
		switch {
		case pl.Schedule != Fixed:
			add("anchor", "anchor is for schedule: fixed (a floating schedule counts from each completion)")
		case pl.DayOfMonth > 0 && pl.Anchor.Day != pl.DayOfMonth && !pl.Anchor.IsZero():
			add("anchor", "anchor %s is not on day %d of every: {day: %d}", pl.Anchor, pl.DayOfMonth, pl.DayOfMonth)
		}
	}
	if !pl.Every.IsZero() && pl.Lead.approxDays() >= pl.Every.approxDays() {
		add("lead", "lead %s must be shorter than every %s: the ticket would open again as soon as it is done", pl.Lead, pl.Every)
	}
	for i, name := range pl.Includes {
		if name == pl.Name {
			add(fmt.Sprintf("includes[%d]", i), "includes itself")
		}
	}
}

func validName(s string) bool {
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c == '-' || c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return s != ""
}
