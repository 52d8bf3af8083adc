// Package rules parses rule files, compiles rule expressions against device
// profiles and evaluates them into alerts with a pure, clock-free state
// machine: every evaluation takes the time as an argument, and nothing here
// reads a clock.
//
// A rule file holds groups of rules and inhibit rules:
//
//	groups:
//	  - name: pump
//	    rules:
//	      - name: pump_low_pressure
//	        match: {type: pump}
//	        expr: discharge_pressure < 1.5 && running
//	        for: 10s
//	        severity: major
//	        annotations: {summary: "{{ $device }}: {{ printf \"%.2f\" $value }} bar"}
//	        ticket: {priority: P2, category: plumbing}
//	inhibit_rules:
//	  - source: ['rule="gateway_offline"']
//	    target: ['rule="device_offline"']
//	    equal: [gateway]
package rules

import (
	"slices"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Severity ranks an alert.
type Severity string

// Severities, lowest first.
const (
	Info     Severity = "info"
	Minor    Severity = "minor"
	Major    Severity = "major"
	Critical Severity = "critical"
)

// severities are the valid severities, lowest first.
var severities = []Severity{Info, Minor, Major, Critical}

// Severities lists the valid severities, lowest first.
var Severities = names(severities)

// Kind is what a rule watches. Kinds are registered in the switch of
// NewEngine and the parser; there is no registry.
type Kind string

// Rule kinds.
const (
	// KindExpr fires on an expression over a device's points (the default).
	KindExpr Kind = "expr"
	// KindOffline fires for a device that its driver reports down
	// (device_health up = false) or that sent no data for After (or three
	// poll intervals, if longer).
	KindOffline Kind = "offline"
	// KindGatewayOffline fires once for a gateway when every matched device
	// behind it is offline: with an inhibit rule it replaces a storm of
	// device alerts by one.
	KindGatewayOffline Kind = "gateway_offline"
)

// kinds are the valid rule kinds.
var kinds = []Kind{KindExpr, KindOffline, KindGatewayOffline, KindEnergy}

// Kinds lists the valid rule kinds.
var Kinds = names(kinds)

// ticketPriorities are the priorities a rule's ticket may have.
var ticketPriorities = []string{"P1", "P2", "P3", "P4"}

// names spells a list of enum values as strings.
func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// DefaultAfter is how long a device may send no data before an offline rule
// without `after` counts it offline.
const DefaultAfter = time.Minute

// Default flap detection: an alert that fires DefaultFlapFires times within
// DefaultFlapWindow is flapping.
const (
	DefaultFlapWindow = 15 * time.Minute
	DefaultFlapFires  = 3
)

// Set is every rule and inhibit rule of a configuration.
type Set struct {
	Rules   []*Rule
	Inhibit []*InhibitRule
	// Windows are the recurring maintenance windows of the rule files.
	Windows []*MaintenanceWindow
	// Inspections are the maintenance plans, for their built-in alerts
	// (see inspection.go).
	Inspections []InspectionPlan
}

// File is a parsed rule file.
type File struct {
	Path    string
	Groups  []*Group
	Inhibit []*InhibitRule
	Windows []*MaintenanceWindow
}

// Rules returns the rules of every group of the file, in order.
func (f *File) Rules() []*Rule {
	var out []*Rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// Group is a named set of rules.
type Group struct {
	Name  string
	Rules []*Rule
	pos   Pos
}

// Rule turns a condition over a device's points into an alert.
type Rule struct {
	// Name identifies the rule; with the device it identifies the alert.
	Name  string
	Group string
	Kind  Kind
	Match Match
	// Expr is an expr-lang boolean expression over the device's points
	// (KindExpr only).
	Expr string
	// Value is a numeric expression whose result is the alert's value in
	// annotations; by default the first number the expression reads.
	Value string
	// For is how long the condition must hold before the alert fires (0: at once).
	For time.Duration
	// KeepFiringFor keeps a firing alert firing this long after the
	// condition stops holding.
	KeepFiringFor time.Duration
	// Clear, when set, must hold for a firing alert to resolve (hysteresis).
	Clear string
	// After is how long without data makes a device offline (offline kinds).
	After       time.Duration
	Severity    Severity
	Labels      map[string]string
	Annotations map[string]string
	Ticket      *TicketSpec
	Flapping    Flapping
	// Energy is the detector of an energy rule (see energy.go).
	Energy *EnergySpec

	pos       map[string]Pos // of the rule ("") and of each field written
	templates map[string]*annotationTemplate
	malformed bool // had errors when parsed
}

// Pos returns where the rule (field "") or one of its fields (by YAML key,
// e.g. "expr", "match.devices", "ticket.priority") was written; the rule's
// own position when the field was not written.
func (r *Rule) Pos(field string) Pos {
	if p, ok := r.pos[field]; ok {
		return p
	}
	return r.pos[""]
}

// Flapping configures flap suppression: an alert that fired Fires times
// within Window is flapping, and then resolves only once its condition has
// stayed false for the whole Window. A zero Window turns it off.
type Flapping struct {
	Window time.Duration
	Fires  int
}

// Match selects the devices a rule applies to. Every field that is set must
// match; an empty Match matches no device (a rule must say what it is for):
// write all: true for every device.
type Match struct {
	All bool
	// Type is the equipment type (profile type), e.g. pump.
	Type    string
	Devices []string
	Tags    map[string]string
}

// Empty reports whether the match sets nothing.
func (m *Match) Empty() bool {
	return !m.All && m.Type == "" && len(m.Devices) == 0 && len(m.Tags) == 0
}

// Matches reports whether the device is selected.
func (m *Match) Matches(d *Device) bool {
	if m.Empty() {
		return false
	}
	if m.Type != "" && m.Type != d.Type {
		return false
	}
	if len(m.Devices) > 0 && !slices.Contains(m.Devices, d.ID) {
		return false
	}
	for k, v := range m.Tags {
		if d.Tags[k] != v {
			return false
		}
	}
	return true
}

// TicketSpec asks for a maintenance ticket when the alert fires.
type TicketSpec struct {
	Priority string // P1..P4
	Category string // team or trade: plumbing, electrical, lifts, fire
}

// InhibitRule mutes target alerts while a matching source alert fires, when
// the labels named in Equal are the same on both. A gateway outage mutes the
// devices behind it; a pump room's power loss mutes its pumps.
type InhibitRule struct {
	Source Matchers
	Target Matchers
	Equal  []string
	pos    Pos
}

// Device is what rules know of a device: its identity, equipment type, tags,
// the gateway it is reached through, and the kinds of its points (for
// type-checking expressions).
type Device struct {
	ID       string
	Type     string
	Profile  string
	Location string
	// Gateway is the connection the device is polled over (a Modbus
	// address); devices behind one gateway go offline together.
	Gateway string
	// Interval is how often the device is polled (0: it reports on its
	// own); offline rules wait at least three intervals for data.
	Interval time.Duration
	Tags     map[string]string
	Points   map[string]drivers.Kind // read only: devices of one profile may share it
}
