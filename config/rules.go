package config

import (
	"errors"
	"os"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
)

// loadRules parses the inline rules and the rule files. Rule files are read
// as written: ${VAR} is not expanded in them, since templates use $.
func (c *Config) loadRules(dir string) []error {
	var errs []error
	if n := c.InlineRules.Node(); n != nil {
		data, _ := os.ReadFile(c.Path) // read once already; only for block scalar columns
		rs, err := rules.ParseRules(c.Path, data, n)
		errs = append(errs, ruleErrors(err)...)
		c.Rules = append(c.Rules, rs...)
	}
	for i, pattern := range c.RuleFiles {
		files, err := glob(dir, pattern)
		if err != nil || len(files) == 0 {
			errs = append(errs, c.errAt(c, "rule_files", "entry %d, %q, matches no file", i+1, pattern))
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			rf, err := rules.ParseFile(f, data)
			errs = append(errs, dropInspectionsKey(f, data, ruleErrors(err))...)
			c.Rules = append(c.Rules, rf.Rules()...)
			c.Inhibit = append(c.Inhibit, rf.Inhibit...)
			c.Windows = append(c.Windows, rf.Windows...)
		}
	}
	return errs
}

// RuleSet returns the rules, inhibit rules and maintenance windows for
// rules.NewEngine.
func (c *Config) RuleSet() *rules.Set {
	set := &rules.Set{Rules: c.Rules, Inhibit: c.Inhibit, Windows: c.Windows}
	for _, p := range c.Inspections {
		set.Inspections = append(set.Inspections, rules.InspectionPlan{Name: p.Name, Title: p.Description, Match: p.Match})
	}
	return set
}

// RuleDevices returns the rule view of every configured device. A Modbus
// device's gateway is its address: devices behind one address share a
// connection and drop together.
func (c *Config) RuleDevices() []*rules.Device {
	out := make([]*rules.Device, 0, len(c.Devices))
	// The devices of a profile share one map of its points (the engine
	// only reads it): a map each took 2.5 MB at 1,000 meters.
	points := map[*drivers.Profile]map[string]drivers.Kind{}
	for _, d := range c.Devices {
		p := c.Profiles[d.Profile]
		if p == nil {
			continue
		}
		kinds := points[p]
		if kinds == nil {
			kinds = make(map[string]drivers.Kind, len(p.Points))
			for i := range p.Points {
				kinds[p.Points[i].Name] = p.Points[i].ValueKind()
			}
			points[p] = kinds
		}
		rd := &rules.Device{ID: d.ID, Type: p.Type, Profile: d.Profile, Location: d.Location, Tags: d.Tags, Points: kinds}
		if d.Modbus != nil {
			rd.Gateway, rd.Interval = d.Modbus.Address, d.Modbus.Interval
		}
		out = append(out, rd)
	}
	return out
}

// validateRules checks the rules against the devices they match; see
// rules.Check.
func (c *Config) validateRules() []error {
	return ruleErrors(errors.Join(rules.Check(c.RuleSet(), c.RuleDevices())...))
}

// ruleErrors lists the errors of the rules package, whose *Error is this
// package's, so they sort with the rest.
func ruleErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
