// Package rules parses rule files, compiles rule expressions against device
// profiles and evaluates them into alerts with a pure, clock-free state machine.
package rules

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
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

// UnmarshalYAML accepts only the known severities.
func (s *Severity) UnmarshalYAML(n *yaml.Node) error {
	switch Severity(n.Value) {
	case Info, Minor, Major, Critical:
		*s = Severity(n.Value)
		return nil
	}
	return fmt.Errorf("unknown severity %q: use info, minor, major or critical", n.Value)
}

// File is a rule file: named groups of rules.
type File struct {
	Groups []Group `yaml:"groups"`
}

// Group is a named set of rules.
type Group struct {
	Name  string  `yaml:"name"`
	Rules []*Rule `yaml:"rules"`
}

// Rule turns a condition over a device's points into an alert.
type Rule struct {
	// Name identifies the rule; with the device it identifies the alert.
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Expr is an expr-lang boolean expression over the device's points.
	Expr string `yaml:"expr"`
	// For is how long Expr must hold before the alert fires (0: at once).
	For time.Duration `yaml:"for"`
	// KeepFiringFor keeps a firing alert firing this long after Expr stops holding.
	KeepFiringFor time.Duration `yaml:"keep_firing_for"`
	// Clear, when set, must hold for a firing alert to resolve (hysteresis).
	Clear       string            `yaml:"clear"`
	Severity    Severity          `yaml:"severity"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	Ticket      *TicketSpec       `yaml:"ticket"`
}

// Match selects the devices a rule applies to. Every field that is set must
// match; an empty Match matches no device (a rule must say what it is for).
type Match struct {
	// Type is the equipment type (profile type), e.g. pump.
	Type    string            `yaml:"type"`
	Devices []string          `yaml:"devices"`
	Tags    map[string]string `yaml:"tags"`
}

// Empty reports whether the match sets nothing.
func (m *Match) Empty() bool { return m.Type == "" && len(m.Devices) == 0 && len(m.Tags) == 0 }

// Matches reports whether the device is selected.
func (m *Match) Matches(d *Device) bool {
	if m.Empty() {
		return false
	}
	if m.Type != "" && m.Type != d.Type {
		return false
	}
	if len(m.Devices) > 0 {
		found := false
		for _, id := range m.Devices {
			if id == d.ID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
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
	Priority string `yaml:"priority"` // P1..P4
	Category string `yaml:"category"` // team or trade: plumbing, electrical, lifts, fire
}
