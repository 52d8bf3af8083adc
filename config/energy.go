package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/duration"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Energy is the energy section: the meters (energy/usage's format), the
// outdoor temperature the baselines' degree days come from, and how the
// baselines are fitted.
//
//	energy:
//	  query: influxql                        # or flux
//	  temperature: weather-1.outdoor_temperature
//	  baseline:
//	    model: hourly                        # daily, hourly or tow (default hourly, tow without temperature)
//	    models: {gas: daily, meter-7: tow}   # by category or meter id
//	    window: 365d                         # training window, ending at the last midnight
//	    refit: "0 3 * * *"                   # cron, in the site's timezone
//	  calendar:                              # days that do not follow the week
//	    holidays: [2026-01-01, 2026-10-01..2026-10-07]   # kept as a Sunday
//	    workdays: [2026-09-27]                          # make-up working days (调休)
//	  meters:
//	    - {id: main, device: meter-1, counter: import_energy}
type Energy struct {
	// Usage is the meter list and the query language, resolved against
	// the devices.
	Usage *usage.Config
	// Temperature is the DEVICE.POINT of the outdoor temperature, in °C;
	// empty when the site has none (the baselines are then time-of-week
	// profiles).
	Temperature                  string
	TemperatureDevice, TempPoint string
	// TemperatureMeasurement is the weather device's equipment type, its
	// InfluxDB measurement.
	TemperatureMeasurement string
	Baseline               EnergyBaseline
	// Rollup is the consumption rollup the daemon keeps (energy/usage's
	// Engine.Roll).
	Rollup EnergyRollup
	// Calendar is energy.calendar: the site's public holidays and make-up
	// working days, which the baselines' day-of-week terms keep as a
	// Sunday and a working day; nil when none is written.
	Calendar *baseline.Calendar

	node *yaml.Node // the section as written, decoded by loadEnergy
}

// EnergyBaseline says which model each meter gets, on what window, and when
// baselines are fitted again.
type EnergyBaseline struct {
	// Model is the default kind; Models override it by category or meter id.
	Model  baseline.Kind
	Models map[string]baseline.Kind
	// Window is the training window's length (default 365 days, CalTRACK's).
	Window time.Duration
	// Refit is the cron spec of the scheduled refit (default 03:00 daily),
	// Schedule the parsed spec in the site's zone.
	Refit    string
	Schedule cron.Schedule
}

// EnergyRollup is energy.rollup: whether the daemon rolls its meters'
// consumption up a quarter hour at a time, and how far back it starts.
type EnergyRollup struct {
	// Disabled is enabled: false (the rollup is on by default).
	Disabled bool
	// Backfill is how much history a first start rolls (default 400 days:
	// a year of baselines and comparisons and a month more).
	Backfill time.Duration
}

// DefaultRollupBackfill is the history a first start rolls.
const DefaultRollupBackfill = 400 * 24 * time.Hour

// DefaultEnergyWindow is CalTRACK's baseline period.
const DefaultEnergyWindow = 365 * 24 * time.Hour

// DefaultEnergyRefit refits every night, after the day's readings are in.
const DefaultEnergyRefit = "0 3 * * *"

var energyKinds = []baseline.Kind{baseline.KindDaily, baseline.KindHourly, baseline.KindTOW}

// UnmarshalYAML keeps the section's node: loadEnergy decodes it once the
// devices are known, meters through usage.DecodeNode.
func (e *Energy) UnmarshalYAML(n *yaml.Node) error {
	e.node = n
	return nil
}

// ModelFor returns the model kind of a meter: by id, then by category, then
// the default.
func (e *Energy) ModelFor(m *usage.Meter) baseline.Kind {
	if k, ok := e.Baseline.Models[m.ID]; ok {
		return k
	}
	if k, ok := e.Baseline.Models[string(m.Category)]; ok {
		return k
	}
	return e.Baseline.Model
}

// loadEnergy decodes and checks the energy section against the devices.
func (c *Config) loadEnergy() []error {
	e := c.Energy
	if e == nil || e.node == nil {
		c.Energy = nil
		return nil
	}
	d := yamlstrict.NewDecoder(c.Path, nil)
	d.Positions = yamlstrict.Positions{}
	n := d.Resolve(e.node)
	// meters and query are energy/usage's; the rest is ours.
	usageNode := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	pos := map[string]*yaml.Node{}
	d.Fields(n, "energy", []string{"meters", "query", "temperature", "baseline", "rollup", "calendar"}, func(key string, k, v *yaml.Node) {
		pos[key] = v
		switch key {
		case "meters", "query":
			usageNode.Content = append(usageNode.Content, k, v)
		case "temperature":
			e.Temperature, _ = d.Scalar(v, "energy.temperature", "DEVICE.POINT")
		case "baseline":
			c.decodeEnergyBaseline(d, v, pos)
		case "rollup":
			decodeEnergyRollup(d, v, &e.Rollup)
		case "calendar":
			e.Calendar = decodeEnergyCalendar(d, v)
		}
	})
	if e.Rollup.Backfill == 0 {
		e.Rollup.Backfill = DefaultRollupBackfill
	}
	e.Usage = usage.DecodeNode(d, usageNode, "energy")
	if _, ok := pos["meters"]; !ok && len(d.Errs) == 0 {
		d.Errorf(n, "energy: meters is required: list the meters, e.g. - {id: main, device: meter-1, counter: import_energy}")
	}
	// Every problem at once: the meters are checked against the devices
	// even when another key of the section is wrong.
	return append(d.Errs, c.resolveEnergy(d, pos)...)
}

// decodeEnergyCalendar reads energy.calendar: holidays and workdays, each
// a list of dates and inclusive ranges (2026-10-01..2026-10-07).
func decodeEnergyCalendar(d *yamlstrict.Decoder, n *yaml.Node) *baseline.Calendar {
	var days [2][]time.Time
	var nodes [2]*yaml.Node
	d.Fields(n, "energy.calendar", []string{"holidays", "workdays"}, func(key string, k, v *yaml.Node) {
		what := "energy.calendar." + key
		i := map[string]int{"holidays": 0, "workdays": 1}[key]
		nodes[i] = v
		if v.Kind != yaml.SequenceNode {
			d.Errorf(v, "%s: write a list of dates and ranges, e.g. [2026-01-01, 2026-10-01..2026-10-07]", what)
			return
		}
		for j, item := range v.Content {
			s, ok := d.Scalar(item, fmt.Sprintf("%s[%d]", what, j), "a date, YYYY-MM-DD, or a range, YYYY-MM-DD..YYYY-MM-DD")
			if !ok {
				continue
			}
			ds, err := baseline.ParseDays([]string{s})
			if err != nil {
				d.Errorf(item, "%s[%d]: %v", what, j, err)
				continue
			}
			days[i] = append(days[i], ds...)
		}
	})
	if len(days[0])+len(days[1]) == 0 {
		return nil
	}
	cal, err := baseline.NewCalendar(days[0], days[1])
	if err != nil {
		d.Errorf(nodes[1], "energy.calendar.workdays: %v", err)
		return nil
	}
	return cal
}

// EnergyCalendar is the energy section's calendar, nil without one.
func (c *Config) EnergyCalendar() *baseline.Calendar {
	if c == nil || c.Energy == nil {
		return nil
	}
	return c.Energy.Calendar
}

func decodeEnergyRollup(d *yamlstrict.Decoder, n *yaml.Node, r *EnergyRollup) {
	d.Fields(n, "energy.rollup", []string{"enabled", "backfill"}, func(key string, k, v *yaml.Node) {
		what := "energy.rollup." + key
		s, ok := d.Scalar(v, what, map[string]string{"enabled": "true or false", "backfill": "a duration such as 400d"}[key])
		if !ok {
			return
		}
		switch key {
		case "enabled":
			switch strings.ToLower(s) {
			case "true":
			case "false":
				r.Disabled = true
			default:
				d.BadValue(v, what, s, "true or false")
			}
		case "backfill":
			b, err := duration.Parse(s)
			if err != nil || b < 24*time.Hour {
				d.Errorf(v, "%s: cannot use %q as the history to roll: write days, such as 400d (at least 1d)", what, s)
				return
			}
			r.Backfill = b
		}
	})
}

func (c *Config) decodeEnergyBaseline(d *yamlstrict.Decoder, n *yaml.Node, pos map[string]*yaml.Node) {
	b := &c.Energy.Baseline
	d.Fields(n, "energy.baseline", []string{"model", "models", "window", "refit"}, func(key string, k, v *yaml.Node) {
		pos["baseline."+key] = v
		what := "energy.baseline." + key
		switch key {
		case "model":
			if kind, err := yamlstrict.Enum(v, what, energyKinds...); err != nil {
				d.Errorf(v, "%v", err)
			} else {
				b.Model = kind
			}
		case "models":
			b.Models = map[string]baseline.Kind{}
			d.Entries(v, what, func(k, v *yaml.Node) {
				pos["baseline.models."+k.Value] = k
				if kind, err := yamlstrict.Enum(v, what+"."+k.Value, energyKinds...); err != nil {
					d.Errorf(v, "%v", err)
				} else {
					b.Models[k.Value] = kind
				}
			})
		case "window":
			s, ok := d.Scalar(v, what, "a duration such as 365d")
			if !ok {
				return
			}
			w, err := duration.Parse(s)
			if err != nil || w < 7*24*time.Hour {
				d.Errorf(v, "%s: cannot use %q as a training window: write days, such as 365d (at least 7d)", what, s)
				return
			}
			b.Window = w
		case "refit":
			b.Refit, _ = d.Scalar(v, what, "a cron spec such as \"0 3 * * *\"")
		}
	})
}

// resolveEnergy checks the meters against the devices, the temperature
// point, the models' keys, and fills the defaults.
func (c *Config) resolveEnergy(d *yamlstrict.Decoder, pos map[string]*yaml.Node) []error {
	e := c.Energy
	var errs []error
	errAt := func(key, format string, args ...any) {
		p := Pos{File: c.Path, Line: 1, Col: 1}
		if n := pos[key]; n != nil {
			p = d.At(n)
		} else if e.node != nil {
			p = d.At(e.node)
		}
		errs = append(errs, yamlstrict.Errorf(p, format, args...))
	}
	byID := map[string]*Device{}
	for _, dev := range c.Devices {
		byID[dev.ID] = dev
	}
	if err := e.Usage.Resolve(c.UsageDevice); err != nil {
		errs = append(errs, ruleErrors(err)...)
	}
	errs = append(errs, c.checkMeterPoints(d, pos["meters"], byID)...)
	if e.Temperature != "" {
		dev, point, ok := strings.Cut(e.Temperature, ".")
		d := byID[dev]
		switch {
		case !ok || dev == "" || point == "":
			errAt("temperature", "energy.temperature: %q is not DEVICE.POINT: write e.g. weather-1.outdoor_temperature", e.Temperature)
		case d == nil || c.Profiles[d.Profile] == nil:
			errAt("temperature", "energy.temperature: no device %q%s", dev, yamlstrict.DidYouMean(dev, slices.Sorted(maps.Keys(byID))))
		case c.Profiles[d.Profile].Point(point) == nil:
			var names []string
			for _, p := range c.Profiles[d.Profile].Points {
				names = append(names, p.Name)
			}
			errAt("temperature", "energy.temperature: device %q (profile %s) has no point %q%s", dev, d.Profile, point, yamlstrict.DidYouMean(point, names))
		default:
			e.TemperatureDevice, e.TempPoint, e.TemperatureMeasurement = dev, point, c.Profiles[d.Profile].Type
		}
	}
	b := &e.Baseline
	if b.Model == "" {
		b.Model = baseline.KindHourly
		if e.Temperature == "" {
			b.Model = baseline.KindTOW
		}
	}
	if b.Window == 0 {
		b.Window = DefaultEnergyWindow
	}
	if b.Refit == "" {
		b.Refit = DefaultEnergyRefit
	}
	if s, err := cron.ParseStandard(b.Refit); err != nil {
		errAt("baseline.refit", "energy.baseline.refit: %q: %v: write a cron spec such as \"0 3 * * *\" (03:00 every day)", b.Refit, err)
	} else {
		if spec, ok := s.(*cron.SpecSchedule); ok && c.Zone != nil {
			spec.Location = c.Zone
		}
		b.Schedule = s
	}
	meters := map[string]bool{}
	for _, m := range e.Usage.Meters {
		if m != nil {
			meters[m.ID] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(b.Models)) {
		if !meters[key] && !slices.Contains(usage.Categories, usage.Category(key)) {
			known := append(slices.Sorted(maps.Keys(meters)), "electricity", "water", "gas")
			errAt("baseline.models."+key, "energy.baseline.models: %q is neither a category (electricity, water, gas) nor a meter id%s", key, yamlstrict.DidYouMean(key, known))
		}
	}
	if e.Temperature == "" {
		for _, m := range e.Usage.Meters {
			if m != nil && e.ModelFor(m) != baseline.KindTOW {
				errAt("baseline", "energy: meter %q has a %s model, which needs temperature: name the outdoor temperature (temperature: DEVICE.POINT) or use model: tow", m.ID, e.ModelFor(m))
				break
			}
		}
	}
	return errs
}

// checkMeterPoints checks that each meter's counter or power is a point of
// its device's profile (Resolve knows devices, not profiles).
func (c *Config) checkMeterPoints(d *yamlstrict.Decoder, meters *yaml.Node, byID map[string]*Device) []error {
	if meters == nil || meters.Kind != yaml.SequenceNode {
		return nil
	}
	var errs []error
	for _, item := range meters.Content {
		item = d.Resolve(item)
		if item.Kind != yaml.MappingNode {
			continue
		}
		var id, device string
		var point *yaml.Node
		for i := 0; i+1 < len(item.Content); i += 2 {
			switch v := item.Content[i+1]; item.Content[i].Value {
			case "id":
				id = v.Value
			case "device":
				device = v.Value
			case "counter", "power":
				point = v
			}
		}
		dev := byID[device]
		if point == nil || dev == nil || c.Profiles[dev.Profile] == nil {
			continue // Resolve reports these
		}
		p := c.Profiles[dev.Profile]
		if p.Point(point.Value) == nil {
			var names []string
			for _, pt := range p.Points {
				names = append(names, pt.Name)
			}
			errs = append(errs, yamlstrict.Errorf(d.At(point), "meter %q: device %q (profile %s) has no point %q%s", id, device, dev.Profile, point.Value, yamlstrict.DidYouMean(point.Value, names)))
		}
	}
	return errs
}

// UsageDevice is what energy/usage needs of a device: its measurement,
// InfluxDB tags and poll interval; false for an unknown device.
func (c *Config) UsageDevice(id string) (usage.Device, bool) {
	for _, dev := range c.Devices {
		if dev.ID != id || c.Profiles[dev.Profile] == nil {
			continue
		}
		ud := usage.Device{Measurement: c.Profiles[dev.Profile].Type, Tags: c.DeviceTags()[id]}
		if dev.Modbus != nil {
			ud.PollInterval = dev.Modbus.Interval
		}
		return ud, true
	}
	return usage.Device{}, false
}
