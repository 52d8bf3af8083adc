package config

import (
	"maps"
	"slices"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
)

// validateModbus checks what the Modbus driver would refuse at start: every
// Modbus point of every profile (type against register, bit, length, byte
// order, scale, enumeration, reference addresses) and every device's Modbus
// settings, so that `facilityd check` catches them.
func (c *Config) validateModbus() []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		p := c.Profiles[name]
		for i := range p.Points {
			pt := &p.Points[i]
			if pt.Register == "" || pt.Name == "" {
				continue // reported by validateProfile, or an MQTT point
			}
			// Errors name the wire address, as the driver's do at run time.
			wire := *pt
			addr, err := modbus.WireAddress(p, pt)
			if err == nil {
				wire.Address = uint32(addr)
				err = modbus.CheckPoint(&wire)
			}
			if err != nil && !c.reported(pt) {
				errs = append(errs, c.errAt(pt, "", "profile %q: %v", name, err))
			}
		}
	}
	for _, d := range c.Devices {
		if d.Modbus == nil || d.Modbus.Address == "" {
			continue // reported by validate
		}
		for _, err := range d.Modbus.Check() {
			errs = append(errs, c.errAt(d, "modbus", "device %q: modbus: %v", d.ID, err))
		}
	}
	return errs
}

// reported tells whether validateProfile already has a complaint about
// point pt that CheckPoint would repeat.
func (c *Config) reported(pt *drivers.Point) bool {
	return pt.Type == "" ||
		(pt.Type == drivers.TypeBit && (pt.Bit < 0 || pt.Bit > 15)) ||
		(pt.Type == drivers.TypeString && pt.Length <= 0) ||
		(pt.Register.IsBit() && pt.Type != drivers.TypeBool)
}
