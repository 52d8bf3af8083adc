// Package tickets keeps maintenance tickets in SQLite: one open ticket per
// alert fingerprint, with occurrences, deadlines and history.
package tickets

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Config is the tickets section of the config file.
type Config struct {
	// Database is the SQLite file; empty means tickets.db in the state dir.
	Database string `yaml:"database"`
	// SLA deadlines per priority (P1..P4).
	SLA map[string]SLA `yaml:"sla"`
	// ReopenWithin is the cool-down after a ticket was resolved: an alert
	// that fires again within it reopens that ticket instead of opening a new
	// one, so a fix that did not hold stays one story. Zero turns it off.
	ReopenWithin time.Duration `yaml:"reopen_within"`
}

// SLA holds the time limits of one priority.
type SLA struct {
	RespondWithin  time.Duration `yaml:"respond_within"`
	ResolveWithin  time.Duration `yaml:"resolve_within"`
	FollowUpWithin time.Duration `yaml:"follow_up_within"`
}

// validPriority reports whether p is one of P1 (most urgent) to P4.
func validPriority(p string) bool {
	return p == "P1" || p == "P2" || p == "P3" || p == "P4"
}

// defaultSLA applies to every limit a config leaves at zero.
func defaultSLA(priority string) SLA {
	const day = 24 * time.Hour
	switch priority {
	case "P1":
		return SLA{RespondWithin: 30 * time.Minute, ResolveWithin: 4 * time.Hour, FollowUpWithin: day}
	case "P2":
		return SLA{RespondWithin: time.Hour, ResolveWithin: 8 * time.Hour, FollowUpWithin: 2 * day}
	case "P3":
		return SLA{RespondWithin: 4 * time.Hour, ResolveWithin: 3 * day, FollowUpWithin: 7 * day}
	default:
		return SLA{RespondWithin: day, ResolveWithin: 14 * day, FollowUpWithin: 14 * day}
	}
}

// SLAFor returns the limits of priority: the configured ones, with the
// defaults filling every limit left at zero.
func (c Config) SLAFor(priority string) SLA {
	s, d := c.SLA[priority], defaultSLA(priority)
	if s.RespondWithin == 0 {
		s.RespondWithin = d.RespondWithin
	}
	if s.ResolveWithin == 0 {
		s.ResolveWithin = d.ResolveWithin
	}
	if s.FollowUpWithin == 0 {
		s.FollowUpWithin = d.FollowUpWithin
	}
	return s
}

// Validate reports every problem of the section at once.
func (c Config) Validate() error {
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(c.SLA)) {
		s := c.SLA[p]
		if !validPriority(p) {
			errs = append(errs, fmt.Errorf("tickets: sla: unknown priority %q, want one of P1, P2, P3, P4", p))
			continue
		}
		if s.RespondWithin < 0 || s.ResolveWithin < 0 || s.FollowUpWithin < 0 {
			errs = append(errs, fmt.Errorf("tickets: sla %s: durations must not be negative", p))
		}
		if eff := c.SLAFor(p); eff.ResolveWithin < eff.RespondWithin {
			errs = append(errs, fmt.Errorf("tickets: sla %s: resolve_within %s is shorter than respond_within %s",
				p, eff.ResolveWithin, eff.RespondWithin))
		}
	}
	if c.ReopenWithin < 0 {
		errs = append(errs, fmt.Errorf("tickets: reopen_within %s must not be negative", c.ReopenWithin))
	}
	return errors.Join(errs...)
}
