package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
	"gopkg.in/yaml.v3"
)

func (c *Config) applyDefaults() {
	if c.Site == "" {
		c.Site = "default"
	}
	if c.StateDir == "" {
		c.StateDir = "/var/lib/facilityd"
	}
	c.InfluxDB = c.InfluxDB.WithDefaults()
	for _, p := range c.Profiles {
		if p.Addressing == "" {
			p.Addressing = drivers.Wire
		}
		for i := range p.Points {
			pt := &p.Points[i]
			if pt.ByteOrder == "" {
				pt.ByteOrder = drivers.ABCD
			}
			if pt.Scale == 0 {
				pt.Scale = 1
			}
			if pt.Type == "" && pt.Register.IsBit() {
				pt.Type = drivers.TypeBool
			}
		}
	}
	for _, d := range c.Devices {
		if d.Modbus != nil {
			*d.Modbus = d.Modbus.WithDefaults()
		}
	}
	for _, r := range c.Rules {
		if r.Severity == "" {
			r.Severity = rules.Major
		}
	}
}

// validate checks what types alone cannot: references between sections,
// uniqueness, and that every rule expression compiles against the profile
// of every device it matches.
func (c *Config) validate() []error {
	var errs []error
	add := func(ptr any, field, format string, args ...any) {
		errs = append(errs, c.errAt(ptr, field, format, args...))
	}
	if c.InfluxDB.URL == "" {
		add(c, "influxdb", "influxdb: url is required, e.g. http://127.0.0.1:8086")
	}
	if c.InfluxDB.Bucket == "" {
		add(c, "influxdb", "influxdb: bucket is required (InfluxDB 1.8: database/retention-policy, e.g. facility/autogen)")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		errs = append(errs, c.validateProfile(name, c.Profiles[name])...)
	}
	seen := map[string]*Device{}
	for _, d := range c.Devices {
		switch {
		case d.ID == "":
			add(d, "", "device without id: every device needs a unique id")
		case seen[d.ID] != nil:
			add(d, "id", "duplicate device id %q (first defined at %s)", d.ID, c.At(seen[d.ID], "id"))
		default:
			seen[d.ID] = d
		}
		if d.Profile == "" {
			add(d, "", "device %q: profile is required", d.ID)
		} else if c.Profiles[d.Profile] == nil {
			add(d, "profile", "device %q: unknown profile %q (known: %s)", d.ID, d.Profile, strings.Join(slices.Sorted(maps.Keys(c.Profiles)), ", "))
		}
		if d.Modbus == nil {
			add(d, "", "device %q: a modbus section is required", d.ID)
		} else if d.Modbus.Address == "" {
			add(d, "modbus", "device %q: modbus: address is required (host:port, or a serial device for rtu)", d.ID)
		}
	}
	return append(errs, c.validateRules()...)
}

func (c *Config) validateProfile(name string, p *drivers.Profile) []error {
	var errs []error
	add := func(ptr any, field, format string, args ...any) {
		errs = append(errs, c.errAt(ptr, field, "profile %q: "+format, append([]any{name}, args...)...))
	}
	if p.Type == "" {
		add(p, "", "type is required (pump, elevator, fire_panel, energy_meter, water_meter, gas_meter, ...)")
	}
	names := map[string]bool{}
	for i := range p.Points {
		pt := &p.Points[i]
		switch {
		case pt.Name == "":
			add(pt, "", "point %d: name is required", i+1)
		case names[pt.Name]:
			add(pt, "name", "point %q is defined twice", pt.Name)
		}
		names[pt.Name] = true
		if pt.Register == "" && pt.Path == "" {
			add(pt, "", "point %q: register is required (holding, input, coil or discrete)", pt.Name)
		}
		if pt.Register != "" && pt.Type == "" {
			add(pt, "", "point %q: type is required (%s)", pt.Name, strings.Join(drivers.DataTypes, ", "))
		}
		if pt.Type == drivers.TypeBit && (pt.Bit < 0 || pt.Bit > 15) {
			add(pt, "bit", "point %q: bit %d is outside 0..15", pt.Name, pt.Bit)
		}
		if pt.Type == drivers.TypeString && pt.Length <= 0 {
			add(pt, "", "point %q: a string point needs length (registers)", pt.Name)
		}
		if pt.Register.IsBit() && pt.Type != drivers.TypeBool {
			add(pt, "type", "point %q: %s points are bool, not %s", pt.Name, pt.Register, pt.Type)
		}
	}
	return errs
}

// RuleDevices returns the rule view of every configured device.
func (c *Config) RuleDevices() []*rules.Device {
	out := make([]*rules.Device, 0, len(c.Devices))
	for _, d := range c.Devices {
		p := c.Profiles[d.Profile]
		if p == nil {
			continue
		}
		rd := &rules.Device{ID: d.ID, Type: p.Type, Location: d.Location, Tags: d.Tags, Points: map[string]drivers.Kind{}}
		for i := range p.Points {
			rd.Points[p.Points[i].Name] = p.Points[i].ValueKind()
		}
		out = append(out, rd)
	}
	return out
}

func (c *Config) validateRules() []error {
	var errs []error
	devices := c.RuleDevices()
	names := map[string]*rules.Rule{}
	for _, r := range c.Rules {
		add := func(field, format string, args ...any) {
			errs = append(errs, c.errAt(r, field, "rule %q: "+format, append([]any{r.Name}, args...)...))
		}
		switch {
		case r.Name == "":
			errs = append(errs, c.errAt(r, "", "rule without name: every rule needs a unique name"))
		case names[r.Name] != nil:
			add("name", "defined twice (first at %s)", c.At(names[r.Name], "name"))
		default:
			names[r.Name] = r
		}
		if r.Match.Empty() {
			add("", "match is required (type, devices or tags)")
		}
		if r.Expr == "" {
			add("", "expr is required")
		}
		if r.Ticket != nil && !slices.Contains([]string{"", "P1", "P2", "P3", "P4"}, r.Ticket.Priority) {
			errs = append(errs, c.errAt(r.Ticket, "priority", "rule %q: unknown ticket priority %q: use P1, P2, P3 or P4", r.Name, r.Ticket.Priority))
		}
		for _, id := range r.Match.Devices {
			if !slices.ContainsFunc(devices, func(d *rules.Device) bool { return d.ID == id }) {
				errs = append(errs, c.errAt(&r.Match, "devices", "rule %q: match: unknown device %q", r.Name, id))
			}
		}
		if r.Expr == "" || r.Match.Empty() {
			continue
		}
		// Type-check against every matched device; report each distinct
		// problem once, at its place in the expression.
		reported := map[string]bool{}
		for _, d := range devices {
			if !r.Match.Matches(d) {
				continue
			}
			for field, src := range map[string]string{"expr": r.Expr, "clear": r.Clear} {
				if src == "" {
					continue
				}
				if _, err := rules.CompileExpr(src, d.Points); err != nil {
					var ee *rules.ExprError
					if errors.As(err, &ee) && !reported[field+ee.Msg] {
						reported[field+ee.Msg] = true
						errs = append(errs, &Error{Pos: c.exprPos(r, field, ee), Msg: fmt.Sprintf("rule %q: %s: %s (device %q, profile type %q)", r.Name, field, ee.Msg, d.ID, d.Type)})
					}
				}
			}
		}
	}
	return errs
}

// exprPos places an expression error inside the YAML scalar that holds it.
func (c *Config) exprPos(r *rules.Rule, field string, ee *rules.ExprError) Pos {
	p := c.At(r, field)
	switch {
	case p.style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		p.Line += ee.Line
	case ee.Line == 1:
		p.Col += ee.Col - 1
		if p.style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			p.Col++
		}
	default:
		p.Line += ee.Line - 1
	}
	return p
}
