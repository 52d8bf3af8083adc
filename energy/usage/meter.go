// Package usage computes consumption per meter and interval from the meter
// readings in InfluxDB: counters (kWh, m³) with their resets, rollovers and
// meter swaps handled and reported, power (W, kW) integrated where a meter
// has no counter, gaps marked by coverage and never interpolated, and the
// totals per category, sub-item, building and site with the unmetered
// remainder of every meter that has sub-meters.
//
// The window aggregates are computed in InfluxDB, in InfluxQL (influxql.go,
// the default: fast on 1.8, and on 2.x through its v1 /query) or in Flux
// (flux.go); what comes back is a few rows per window and one row per drop
// or gap, never the raw readings. The arithmetic on those rows is pure (assemble.go) and serves the
// same readings held in memory (FromPoints), so tests and files use the same
// code.
package usage

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Category is the kind of energy a meter measures.
type Category string

// Categories.
const (
	Electricity Category = "electricity"
	Water       Category = "water"
	Gas         Category = "gas"
)

// Categories are the known categories, in the order reports list them.
var Categories = []Category{Electricity, Water, Gas}

// UnmarshalYAML accepts electricity, water or gas.
func (c *Category) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "category", Categories...)
	*c = v
	return err
}

// SubItem is the end use of an electricity meter, after the Chinese
// sub-metering of public buildings (分项计量).
type SubItem string

// Sub-items.
const (
	LightingSockets SubItem = "lighting_sockets" // 照明插座
	HVAC            SubItem = "hvac"             // 空调
	Power           SubItem = "power"            // 动力: lifts, pumps, fans
	Special         SubItem = "special"          // 特殊用电
	// Unassigned is the sub-item of electricity no sub-item claims: the
	// remainder of a main meter without one.
	Unassigned SubItem = "unassigned"
)

// SubItems are the sub-items a meter may declare.
var SubItems = []SubItem{LightingSockets, HVAC, Power, Special}

// UnmarshalYAML accepts lighting_sockets, hvac, power or special.
func (s *SubItem) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "sub_item", SubItems...)
	*s = v
	return err
}

// Unit is the unit of the point a meter reads.
type Unit string

// Units: Wh, kWh and m3 for counters; W and kW for power.
const (
	Wh  Unit = "Wh"
	KWh Unit = "kWh"
	M3  Unit = "m3"
	W   Unit = "W"
	KW  Unit = "kW"
)

// UnmarshalYAML accepts Wh, kWh, m3 (or m³), W or kW.
func (u *Unit) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "m³" {
		*u = M3
		return nil
	}
	v, err := yamlstrict.Enum(n, "unit", Wh, KWh, M3, W, KW)
	*u = v
	return err
}

// isPower reports whether u is a power unit.
func (u Unit) isPower() bool { return u == W || u == KW }

// Meter is one metered supply: a counter point of a device, or where the
// device has no counter, a power point to integrate.
type Meter struct {
	// ID names the meter in reports, the API and Parent.
	ID string `yaml:"id"`
	// Device is the device id whose point is read.
	Device string `yaml:"device"`
	// Measurement is the device's equipment type (its profile's type), the
	// InfluxDB measurement; the config fills it from the device.
	Measurement string `yaml:"measurement"`
	// Counter is the point of a cumulative reading (kWh, m³). Exactly one
	// of Counter and Power is set.
	Counter string `yaml:"counter"`
	// Power is the point of an instantaneous power (W, kW), integrated over
	// time (trapezoids between readings) where there is no counter.
	Power string `yaml:"power"`
	// Unit is the point's unit: kWh for an electricity counter, m3 for water
	// and gas, W for power, unless written.
	Unit Unit `yaml:"unit"`
	// Rollover is the value at which the counter wraps to zero (such as
	// 99999999 on an 8-digit register, or 4294967.296 for a uint32 at
	// scale 0.001); 0 means it does not wrap.
	Rollover float64 `yaml:"rollover"`
	// ResetBelow is the reading (in Unit) at or below which a drop counts as
	// a reset, the counter restarting from zero; 0 means 1 % of the reading
	// before the drop. A drop to more than that which is no rollover is a
	// meter swap.
	ResetBelow float64 `yaml:"reset_below"`
	// Category defaults to the device's tag category (or energy).
	Category Category `yaml:"category"`
	// SubItem is the end use, for electricity only; a meter with none
	// counts as unassigned.
	SubItem SubItem `yaml:"sub_item"`
	// Building and Site default to the device's tags of those names.
	Building string `yaml:"building"`
	Site     string `yaml:"site"`
	// Parent is the ID of the meter upstream of this one: the parent's
	// unmetered remainder is the parent less the sum of its sub-meters.
	Parent string `yaml:"parent"`
	// PollInterval is how often the point is read, for coverage and gaps;
	// the config fills it from the device (Modbus interval). When it stays
	// 0, the interval is estimated from the readings.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxGap is the longest time between two readings that is not a gap;
	// 0 means 3 × PollInterval, or 15m when that is unknown.
	MaxGap time.Duration `yaml:"max_gap"`
}

// Point is the meter's point: Counter or Power.
func (m *Meter) Point() string {
	if m.Power != "" {
		return m.Power
	}
	return m.Counter
}

// OutUnit is the unit of the meter's consumption: kWh for electricity (and
// anything integrated from power), m3 for water and gas.
func (m *Meter) OutUnit() string {
	switch {
	case m.Unit == M3:
		return "m3"
	default:
		return "kWh"
	}
}

// scale converts the point's unit to OutUnit (per hour, for power).
func (m *Meter) scale() float64 {
	switch m.Unit {
	case Wh, W:
		return 0.001
	}
	return 1
}

// maxGap is MaxGap with its default.
func (m *Meter) maxGap() time.Duration {
	switch {
	case m.MaxGap > 0:
		return m.MaxGap
	case m.PollInterval > 0:
		return 3 * m.PollInterval
	}
	return 15 * time.Minute
}
