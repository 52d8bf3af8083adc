package usage

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Config is the meter list, as written in its own file or as the energy
// section of the config file:
//
//	meters:
//	  - id: main-a
//	    device: meter-main        # the device whose point is read
//	    counter: import_energy    # or power: total_power (W)
//	    rollover: 99999999        # optional
//	  - id: a-hvac
//	    device: meter-hvac
//	    counter: import_energy
//	    sub_item: hvac
//	    parent: main-a
//	query: influxql               # or flux; influxql when empty
type Config struct {
	Meters []*Meter `yaml:"meters"`
	// Query is the language the window aggregates are computed in:
	// influxql (the default) or flux. See Backend.
	Query Backend `yaml:"query"`

	pos  yamlstrict.Positions
	file string
}

// Decode decodes the meter file named file strictly: unknown or duplicate
// keys, wrong types and unknown enum values are errors, all of them
// collected, each as file:line:col: message. It does not resolve devices;
// see Resolve.
func Decode(file string, data []byte) (*Config, error) {
	d := yamlstrict.NewDecoder(file, data)
	d.Positions = yamlstrict.Positions{}
	root := d.Parse()
	if len(d.Errs) > 0 {
		return nil, yamlstrict.SortErrors(d.Errs)
	}
	if root == nil {
		return nil, yamlstrict.Errorf(yamlstrict.Pos{File: file, Line: 1, Col: 1}, "no meters: write a meters: list")
	}
	c := DecodeNode(d, root, "")
	if len(d.Errs) > 0 {
		return nil, yamlstrict.SortErrors(d.Errs)
	}
	return c, nil
}

// DecodeNode decodes the mapping n (at path) with d, recording its problems
// in d.Errs, for a config file that holds the meters in one of its sections.
func DecodeNode(d *yamlstrict.Decoder, n *yaml.Node, path string) *Config {
	if d.Positions == nil {
		d.Positions = yamlstrict.Positions{}
	}
	c := &Config{pos: d.Positions, file: d.At(n).File}
	d.Decode(n, c, path)
	return c
}

// Device is what Resolve needs to know of a device.
type Device struct {
	// Measurement is the device's equipment type.
	Measurement string
	// Tags are its InfluxDB tags: site, then its own.
	Tags map[string]string
	// PollInterval is how often it is read; 0 when unknown (MQTT).
	PollInterval time.Duration
}

// Resolve fills each meter's defaults from its device (measurement, category
// from the tag category or energy, building, site, poll interval, unit) and
// checks the meters together: ids unique, devices known, one point each,
// sub-items only for electricity, parents known, of the same category and
// without cycles. Every problem is returned, each at its place in the file.
func (c *Config) Resolve(devices func(id string) (Device, bool)) error {
	var errs []error
	fail := func(m *Meter, field, format string, args ...any) {
		errs = append(errs, yamlstrict.Errorf(c.at(m, field), "meter %q: %s", m.ID, fmt.Sprintf(format, args...)))
	}
	byID := map[string]*Meter{}
	for i, m := range c.Meters {
		if m == nil {
			errs = append(errs, yamlstrict.Errorf(c.at(c, "meters"), "meters[%d] is empty", i))
			continue
		}
		if m.ID == "" {
			errs = append(errs, yamlstrict.Errorf(c.at(m, ""), "meters[%d]: no id: give the meter an id", i))
			continue
		}
		if byID[m.ID] != nil {
			fail(m, "id", "a second meter with this id: ids must be unique")
			continue
		}
		byID[m.ID] = m
		c.resolveMeter(m, devices, fail)
	}
	for _, m := range c.Meters {
		if m == nil || m.Parent == "" || byID[m.ID] != m {
			continue
		}
		p := byID[m.Parent]
		switch {
		case p == nil:
			fail(m, "parent", "unknown parent %q%s", m.Parent, yamlstrict.DidYouMean(m.Parent, slices.Sorted(maps.Keys(byID))))
		case p.Category != m.Category:
			fail(m, "parent", "category %s differs from its parent %q's %s: a sub-meter measures part of its parent's supply", m.Category, p.ID, p.Category)
		case cycle(m, byID):
			fail(m, "parent", "parent %q leads back to this meter: the hierarchy must be a tree", m.Parent)
		}
	}
	return yamlstrict.SortErrors(errs)
}

func (c *Config) resolveMeter(m *Meter, devices func(string) (Device, bool), fail func(*Meter, string, string, ...any)) {
	if m.Device == "" {
		fail(m, "", "no device: name the device whose point is read")
		return
	}
	dev, ok := devices(m.Device)
	if !ok {
		fail(m, "device", "unknown device %q", m.Device)
		return
	}
	if m.Measurement == "" {
		m.Measurement = dev.Measurement
	}
	if m.Site == "" {
		m.Site = dev.Tags["site"]
	}
	if m.Building == "" {
		m.Building = dev.Tags["building"]
	}
	if m.PollInterval == 0 {
		m.PollInterval = dev.PollInterval
	}
	if m.Category == "" {
		tag := dev.Tags["category"]
		if tag == "" {
			tag = dev.Tags["energy"]
		}
		if !slices.Contains(Categories, Category(tag)) {
			fail(m, "", "no category: write category: electricity, water or gas (device %q has no tag category or energy that names one)", m.Device)
			return
		}
		m.Category = Category(tag)
	}
	switch {
	case m.Counter == "" && m.Power == "":
		fail(m, "", "no point: write counter: POINT (kWh, m3) or, without a counter, power: POINT (W, kW)")
	case m.Counter != "" && m.Power != "":
		fail(m, "power", "both counter and power: a meter reads one point; the counter is the better")
	}
	if m.Unit == "" {
		switch {
		case m.Power != "":
			m.Unit = W
		case m.Category == Electricity:
			m.Unit = KWh
		default:
			m.Unit = M3
		}
	}
	switch {
	case m.Power != "" && !m.Unit.isPower():
		fail(m, "unit", "unit %s is not a power: write W or kW for a power point", m.Unit)
	case m.Counter != "" && m.Unit.isPower():
		fail(m, "unit", "unit %s is a power: a counter is in Wh, kWh or m3", m.Unit)
	case m.Category == Electricity && m.Unit == M3, m.Category != Electricity && m.Unit != M3:
		fail(m, "unit", "unit %s does not measure %s", m.Unit, m.Category)
	}
	if m.SubItem != "" && m.Category != Electricity {
		fail(m, "sub_item", "sub_item is for electricity only, and this meter measures %s", m.Category)
	}
	if m.Rollover < 0 || (m.Rollover > 0 && m.Power != "") {
		fail(m, "rollover", "rollover must be positive, and only a counter has one")
	}
	if m.ResetBelow < 0 || (m.Rollover > 0 && m.ResetBelow >= m.Rollover) {
		fail(m, "reset_below", "reset_below must be positive and below the rollover")
	}
	if m.PollInterval < 0 || m.MaxGap < 0 {
		fail(m, "", "poll_interval and max_gap must not be negative")
	}
	if m.Measurement == "" {
		fail(m, "measurement", "no measurement: device %q has no equipment type", m.Device)
	}
}

// cycle reports whether following parents from m comes back to m.
func cycle(m *Meter, byID map[string]*Meter) bool {
	seen := map[string]bool{m.ID: true}
	for p := byID[m.Parent]; p != nil; p = byID[p.Parent] {
		if seen[p.ID] {
			return true
		}
		seen[p.ID] = true
	}
	return false
}

// at is where ptr (or its field) was written, or the file's start.
func (c *Config) at(ptr any, field string) yamlstrict.Pos {
	if p, ok := c.pos.At(ptr, field); ok {
		return p
	}
	return yamlstrict.Pos{File: c.file, Line: 1, Col: 1}
}
