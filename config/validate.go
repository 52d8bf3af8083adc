package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/facilityd/facilityd/drivers"
)

func (c *Config) applyDefaults() {
	if c.Site == "" {
		c.Site = "default"
	}
	c.Tickets.Site = c.Site // the ticket store's rows are this site's
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
	c.applyMQTTDefaults()
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
	if c.InfluxDB.URL != "" && c.InfluxDB.Bucket != "" {
		if err := c.InfluxDB.Validate(); err != nil {
			// The store's messages read "influxdb: FIELD ...": point at FIELD.
			field, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "influxdb: "), " ")
			add(&c.InfluxDB, field, "%v", err)
		}
	}
	if err := c.HTTP.Validate(); err != nil && c.HTTP.Pprof != "" {
		add(&c.HTTP, "pprof", "%v", err)
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
		if d.Modbus == nil && d.MQTT == nil {
			add(d, "", "device %q: a modbus or an mqtt section is required", d.ID)
		} else if d.Modbus != nil && d.MQTT != nil {
			add(d, "mqtt", "device %q: both modbus and mqtt are set: a device is read over one of them", d.ID)
		} else if d.Modbus != nil && d.Modbus.Address == "" {
			add(d, "modbus", "device %q: modbus: address is required (host:port, or a serial device for rtu)", d.ID)
		}
	}
	errs = append(errs, c.validateModbus()...)
	errs = append(errs, c.validateMQTT()...)
	errs = append(errs, c.validateTickets()...)
	errs = append(errs, c.validateRules()...)
	return append(errs, c.validateInspections()...)
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
		if pt.Register == "" && c.usedByModbus(name) {
			add(pt, "", "point %q: register is required (holding, input, coil or discrete)", pt.Name)
		}
		if pt.Register != "" && pt.Type == "" {
			add(pt, "", "point %q: type is required (%s)", pt.Name, strings.Join(drivers.DataTypes, ", "))
		}
		if pt.Type == drivers.TypeBit && (pt.Bit < 0 || pt.Bit > 15) {
			add(pt, "bit", "point %q: bit %d is outside 0..15", pt.Name, pt.Bit)
		}
		if pt.Type == drivers.TypeString && pt.Length <= 0 && pt.Register != "" {
			add(pt, "", "point %q: a string point needs length (registers)", pt.Name)
		}
		if pt.Register.IsBit() && pt.Type != drivers.TypeBool {
			add(pt, "type", "point %q: %s points are bool, not %s", pt.Name, pt.Register, pt.Type)
		}
	}
	return errs
}
