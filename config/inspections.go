package config

import (
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/inspections"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// loadInspections reads the time zone, the inspection files and the
// inspections: sections of the rule files, and gives every plan the zone.
// Like rule files, inspection files are read as written (no ${VAR}).
func (c *Config) loadInspections(dir string) []error {
	var errs []error
	c.Zone = time.Local
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil || strings.EqualFold(c.Timezone, "local") {
			errs = append(errs, c.errAt(c, "timezone", "timezone: unknown time zone %q: write an IANA name such as Asia/Shanghai or Europe/Berlin, or leave it out for the local zone", c.Timezone))
		} else {
			c.Zone = loc
		}
	}
	for i, pattern := range c.InspectionFiles {
		files, err := glob(dir, pattern)
		if err != nil || len(files) == 0 {
			errs = append(errs, c.errAt(c, "inspection_files", "entry %d, %q, matches no file", i+1, pattern))
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ps, err := inspections.ParseFile(f, data)
			errs = append(errs, ruleErrors(err)...)
			c.Inspections = append(c.Inspections, ps...)
		}
	}
	for _, pattern := range c.RuleFiles {
		files, _ := glob(dir, pattern) // a pattern that matches nothing is reported by loadRules
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue // reported by loadRules
			}
			if k, v := inspectionsSection(f, data); k != nil {
				ps, err := inspections.ParseSection(f, data, v)
				errs = append(errs, ruleErrors(err)...)
				c.Inspections = append(c.Inspections, ps...)
			}
		}
	}
	for _, p := range c.Inspections {
		p.Zone = c.Zone
	}
	return errs
}

// inspectionsSection returns the key and value of a rule file's top-level
// inspections: section, or nils. Syntax errors are loadRules' to report.
func inspectionsSection(path string, data []byte) (k, v *yaml.Node) {
	root := yamlstrict.NewDecoder(path, data).Parse()
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "inspections" {
			return root.Content[i], root.Content[i+1]
		}
	}
	return nil, nil
}

// dropInspectionsKey removes, from the errors of the rule file at path, the
// rules parser's "unknown field" for its inspections: section, which this
// package parses.
func dropInspectionsKey(path string, data []byte, errs []error) []error {
	k, _ := inspectionsSection(path, data)
	if k == nil {
		return errs
	}
	out := errs[:0]
	for _, err := range errs {
		if e, ok := err.(*Error); ok && e.File == path && e.Line == k.Line && e.Col == k.Column && strings.Contains(e.Msg, `"inspections"`) {
			continue
		}
		out = append(out, err)
	}
	return out
}

// InspectionDevices returns the plans' view of every configured device:
// its type and tags, and its profile's points with their counter flag.
func (c *Config) InspectionDevices() []*inspections.Device {
	out := make([]*inspections.Device, 0, len(c.Devices))
	for _, d := range c.Devices {
		p := c.Profiles[d.Profile]
		if p == nil {
			continue
		}
		id := &inspections.Device{ID: d.ID, Type: p.Type, Profile: d.Profile, Location: d.Location, Tags: d.Tags,
			Points: make(map[string]bool, len(p.Points))}
		for i := range p.Points {
			id.Points[p.Points[i].Name] = p.Points[i].Counter
		}
		out = append(out, id)
	}
	return out
}

// InspectionPairs counts the plan × device pairs the plans apply to.
func (c *Config) InspectionPairs() int {
	n := 0
	devices := c.InspectionDevices()
	for _, p := range c.Inspections {
		for _, d := range devices {
			if p.Matches(d) {
				n++
			}
		}
	}
	return n
}

// validateInspections checks the plans together and against the devices
// they match; see inspections.Check.
func (c *Config) validateInspections() []error {
	return inspections.Check(c.Inspections, c.InspectionDevices())
}
