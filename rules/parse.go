package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// ParseFile parses a rule file strictly. Problems are returned together,
// each an *Error at file:line:col; what could be parsed is returned too.
// Expressions are checked against devices later, by Check.
func ParseFile(path string, data []byte) (*File, error) {
	p := newParser(path, data)
	f := &File{Path: path}
	root := p.Parse()
	if root == nil {
		return f, SortErrors(p.Errs)
	}
	p.fields(root, "rule file", []string{"groups", "inhibit_rules", "maintenance_windows"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "groups":
			if !p.List(v, "groups") {
				return
			}
			for _, g := range v.Content {
				f.Groups = append(f.Groups, p.group(p.Resolve(g)))
			}
		case "inhibit_rules":
			f.Inhibit = p.inhibitRules(v)
		case "maintenance_windows":
			f.Windows = p.maintenanceWindows(v)
		}
	})
	seen := map[string]Pos{}
	for _, g := range f.Groups {
		if first, dup := seen[g.Name]; dup && g.Name != "" {
			p.Errs = append(p.Errs, yamlstrict.Errorf(g.pos, "group %q is defined twice in this file (first at %s)", g.Name, first))
		}
		seen[g.Name] = g.pos
	}
	return f, SortErrors(p.Errs)
}

// ParseRules parses a YAML list of rules, such as the rules: of a config
// file, found at n in the file path.
func ParseRules(path string, data []byte, n *yaml.Node) ([]*Rule, error) {
	p := newParser(path, data)
	n = p.Resolve(n)
	if n == nil || yamlstrict.IsNull(n) {
		return nil, nil
	}
	if !p.List(n, "rules") {
		return nil, SortErrors(p.Errs)
	}
	var out []*Rule
	for _, c := range n.Content {
		out = append(out, p.rule(p.Resolve(c), ""))
	}
	return out, SortErrors(p.Errs)
}

// Raw keeps a YAML node as written, so that a config file can hold rules
// that ParseRules parses with their positions.
type Raw struct{ node *yaml.Node }

// UnmarshalYAML keeps n.
func (r *Raw) UnmarshalYAML(n *yaml.Node) error {
	r.node = n
	return nil
}

// Node returns the kept node, or nil.
func (r *Raw) Node() *yaml.Node { return r.node }

func (p *parser) group(n *yaml.Node) *Group {
	g := &Group{pos: p.At(n)}
	var rules *yaml.Node
	p.fields(n, "group", []string{"name", "rules"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			g.Name = p.str(v, "group name")
		case "rules":
			rules = v
		}
	})
	if g.Name == "" && n.Kind == yaml.MappingNode {
		p.Errorf(n, "group without name: every group needs one")
	}
	if rules == nil {
		return g
	}
	if !p.List(rules, fmt.Sprintf("group %q: rules", g.Name)) {
		return g
	}
	for _, c := range rules.Content {
		g.Rules = append(g.Rules, p.rule(p.Resolve(c), g.Name))
	}
	return g
}

var ruleFields = []string{"name", "kind", "match", "expr", "value", "for", "keep_firing_for", "clear",
	"after", "severity", "labels", "annotations", "ticket", "flapping", "detector", "k", "n", "h"}

// rule parses one rule and checks what needs no devices: required fields
// by kind, enumerations, templates. Defaults are filled in.
func (p *parser) rule(n *yaml.Node, group string) *Rule {
	r := &Rule{Group: group, Kind: KindExpr, Severity: Major, pos: map[string]Pos{"": p.At(n)},
		Flapping: Flapping{Window: DefaultFlapWindow, Fires: DefaultFlapFires}}
	before := len(p.Errs)
	p.fields(n, "rule", ruleFields, func(key string, k, v *yaml.Node) {
		r.pos[key] = p.At(v)
		what := key
		switch key {
		case "name":
			r.Name = p.str(v, what)
		case "kind":
			r.Kind = enum(p, v, what, kinds...)
		case "match":
			p.match(v, r)
		case "expr":
			r.Expr = p.str(v, what)
		case "value":
			r.Value = p.str(v, what)
		case "clear":
			r.Clear = p.str(v, what)
		case "for":
			r.For = p.duration(v, what)
		case "keep_firing_for":
			r.KeepFiringFor = p.duration(v, what)
		case "after":
			r.After = p.duration(v, what)
		case "severity":
			r.Severity = enum(p, v, what, severities...)
		case "labels":
			r.Labels = p.strMap(v, what, r.pos)
			for name := range r.Labels {
				if !validLabelName(name) {
					p.Errs = append(p.Errs, yamlstrict.Errorf(r.Pos("labels."+name), "labels: %q is not a label name: use letters, digits and _", name))
				}
			}
		case "annotations":
			r.Annotations = p.strMap(v, what, r.pos)
		case "ticket":
			p.ticket(v, r)
		case "detector", "k", "n", "h":
			p.energyField(key, v, r)
		case "flapping":
			p.fields(v, "flapping", []string{"window", "fires"}, func(key string, k, v *yaml.Node) {
				r.pos["flapping."+key] = p.At(v)
				switch key {
				case "window":
					r.Flapping.Window = p.duration(v, "flapping.window")
				case "fires":
					r.Flapping.Fires = p.integer(v, "flapping.fires")
				}
			})
		}
	})
	if n.Kind != yaml.MappingNode {
		return r
	}
	malformed := len(p.Errs) > before
	p.nameErrors(p.Errs[before:], r.Name)
	p.ruleSemantics(r, malformed)
	return r
}

func (p *parser) match(n *yaml.Node, r *Rule) {
	p.fields(n, "match", []string{"all", "type", "devices", "tags"}, func(key string, k, v *yaml.Node) {
		r.pos["match."+key] = p.At(v)
		switch key {
		case "all":
			r.Match.All = p.boolean(v, "match.all")
		case "type":
			r.Match.Type = p.str(v, "match.type")
		case "devices":
			r.Match.Devices = p.strList(v, "match.devices")
		case "tags":
			r.Match.Tags = p.strMap(v, "match.tags")
		}
	})
}

func (p *parser) ticket(n *yaml.Node, r *Rule) {
	r.Ticket = &TicketSpec{}
	p.fields(n, "ticket", []string{"priority", "category"}, func(key string, k, v *yaml.Node) {
		r.pos["ticket."+key] = p.At(v)
		switch key {
		case "priority":
			r.Ticket.Priority = enum(p, v, "ticket priority", ticketPriorities...)
		case "category":
			r.Ticket.Category = p.str(v, "ticket.category")
		}
	})
	if r.Ticket.Priority == "" {
		p.Errs = append(p.Errs, yamlstrict.Errorf(r.Pos("ticket"), "ticket: priority is required (P1, P2, P3 or P4)"))
	}
}

// ruleSemantics checks what a rule needs by its kind. For a malformed rule
// (unknown or mistyped fields) what is missing is not reported: it is most
// likely what was mistyped.
func (p *parser) ruleSemantics(r *Rule, malformed bool) {
	add := func(field, format string, args ...any) {
		p.Errs = append(p.Errs, yamlstrict.Errorf(r.Pos(field), "rule %q: "+format, append([]any{r.Name}, args...)...))
	}
	if r.Name == "" {
		p.Errs = append(p.Errs, yamlstrict.Errorf(r.Pos(""), "rule without name: every rule needs a unique name"))
	} else if !validLabelName(r.Name) {
		add("name", "a rule name is letters, digits and _ (it becomes the InfluxDB field of its alerts)")
	}
	if r.Match.Empty() && !malformed {
		add("", "match is required (all: true, type, devices or tags)")
	}
	r.malformed = malformed // NewEngine refuses it; Check still type-checks it
	switch r.Kind {
	case KindExpr:
		if r.Expr == "" && !malformed {
			add("", "expr is required")
		}
		if r.After != 0 {
			add("after", "after is for offline rules: an expr rule waits with for")
		}
	case KindEnergy:
		p.energySemantics(r, malformed, add)
	case KindOffline, KindGatewayOffline:
		for _, f := range []string{"expr", "clear", "value"} {
			if _, ok := r.pos[f]; ok {
				add(f, "%s rules take no %s: they fire on device health and missing data", r.Kind, f)
			}
		}
		if r.After == 0 {
			r.After = DefaultAfter
		}
	}
	if r.Kind != KindEnergy {
		p.energySemantics(r, malformed, add)
	}
	if r.Flapping.Window > 0 && r.Flapping.Fires < 2 {
		add("flapping.fires", "flapping.fires must be at least 2 (or set flapping.window: 0s to turn flap suppression off)")
	}
	r.templates = map[string]*annotationTemplate{}
	for name, text := range r.Annotations {
		t, err := parseTemplate(r.Name+"."+name, text)
		if err != nil {
			add("annotations."+name, "annotation %q: %v", name, err)
			continue
		}
		r.templates[name] = t
	}
}

func (p *parser) inhibitRules(n *yaml.Node) []*InhibitRule {
	if !p.List(n, "inhibit_rules") {
		return nil
	}
	var out []*InhibitRule
	for _, c := range n.Content {
		c = p.Resolve(c)
		ir := &InhibitRule{pos: p.At(c)}
		p.fields(c, "inhibit rule", []string{"source", "target", "equal"}, func(key string, k, v *yaml.Node) {
			switch key {
			case "source":
				ir.Source = p.matchers(v, "source")
			case "target":
				ir.Target = p.matchers(v, "target")
			case "equal":
				ir.Equal = p.strList(v, "equal")
			}
		})
		if c.Kind == yaml.MappingNode && (len(ir.Source) == 0 || len(ir.Target) == 0) {
			p.Errorf(c, "inhibit rule: source and target matchers are both required, e.g. source: ['rule=\"gateway_offline\"']")
		}
		out = append(out, ir)
	}
	return out
}

// nameErrors prefixes a rule's errors with its name, known only once the
// whole rule is read.
func (p *parser) nameErrors(errs []error, name string) {
	prefix := "rule: "
	if name != "" {
		prefix = fmt.Sprintf("rule %q: ", name)
	}
	for _, err := range errs {
		if e, ok := err.(*Error); ok {
			e.Msg = prefix + strings.TrimPrefix(e.Msg, "rule: ")
		}
	}
}

// String names the rule for messages.
func (r *Rule) String() string { return fmt.Sprintf("rule %q", r.Name) }
