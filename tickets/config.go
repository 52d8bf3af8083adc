// Package tickets keeps maintenance tickets in SQLite: one open ticket per
// alert fingerprint, with occurrences, deadlines and history.
package tickets

import "time"

// Config is the tickets section of the config file.
type Config struct {
	// Database is the SQLite file; empty means tickets.db in the state dir.
	Database string `yaml:"database"`
	// SLA deadlines per priority (P1..P4).
	SLA map[string]SLA `yaml:"sla"`
}

// SLA holds the time limits of one priority.
type SLA struct {
	RespondWithin  time.Duration `yaml:"respond_within"`
	ResolveWithin  time.Duration `yaml:"resolve_within"`
	FollowUpWithin time.Duration `yaml:"follow_up_within"`
}
