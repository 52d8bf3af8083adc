// Package tickets keeps maintenance tickets in SQLite, or in a PostgreSQL
// database that the daemons of many sites share: one open ticket per
// alert fingerprint, with occurrences, history, SLA deadlines, breach
// detection and escalation, and a persistent outbox of notifications.
package tickets

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Config is the tickets section of the config file.
type Config struct {
	// Database is the SQLite file, or a postgres:// (postgresql://) URL
	// for a PostgreSQL database shared by many sites; empty means
	// tickets.db in the state dir. A URL's password may come from
	// PGPASSWORD or ~/.pgpass instead.
	Database string `yaml:"database"`
	// Site is the config's site (its top-level site:, not a key of the
	// tickets section): the store's tickets, inspections and outbox rows
	// are that site's, so that the daemons of many sites share one
	// database without sharing tickets. Empty means "default", as the
	// config's own default.
	Site string `yaml:"-"`
	// SLA deadlines per priority (P1..P4).
	SLA map[string]SLA `yaml:"sla"`
	// ReopenWithin is the cool-down after a ticket was resolved or closed:
	// an alert that fires again within it reopens that ticket instead of
	// opening a new one, so a fix that did not hold stays one story. Zero
	// turns it off.
	ReopenWithin time.Duration `yaml:"reopen_within"`
	// OnAlertResolved is what a clearing alert does to its ticket:
	// "record" (the default) notes it and leaves the ticket to people,
	// "resolve" resolves it, which starts the follow-up clock.
	OnAlertResolved string `yaml:"on_alert_resolved"`
	// FollowUp is "required" (the default: closing needs a recorded
	// follow-up check, as the repair service standard asks) or "optional".
	FollowUp   string     `yaml:"follow_up"`
	Escalation Escalation `yaml:"escalation"`
	// Receivers get notifications through the outbox.
	Receivers []Receiver `yaml:"receivers"`
	Outbox    Outbox     `yaml:"outbox"`
	// NoMigrate opens the database as it is: one without the current
	// schema is refused (ErrSchemaBehind) rather than migrated. The
	// portfolio's, which reads every site's rows and has no site to give
	// the rows of an older schema.
	NoMigrate bool `yaml:"-"`
}

// SLA holds the time limits of one priority.
type SLA struct {
	RespondWithin  time.Duration `yaml:"respond_within"`
	ResolveWithin  time.Duration `yaml:"resolve_within"`
	FollowUpWithin time.Duration `yaml:"follow_up_within"`
}

// Escalation is what happens when a ticket misses a deadline. The breach is
// always recorded in the ticket's history, once per deadline.
type Escalation struct {
	// Priority is "keep" (the default) or "raise": one step up per breach,
	// P1 at most.
	Priority string `yaml:"priority"`
	// Notify names receivers that get every breach, whatever their filters.
	Notify []string `yaml:"notify"`
	// CheckInterval is how often the daemon looks for breaches (1m).
	CheckInterval time.Duration `yaml:"check_interval"`
}

// Outbox tunes delivery to receivers. Zero fields take the defaults.
type Outbox struct {
	// RetryMin and RetryMax bound the exponential back-off (1s, 5m).
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// GiveUpAfter drops a notification still undelivered this long after
	// it was queued (168h), logged, so a receiver that is gone for good
	// does not grow the database forever.
	GiveUpAfter time.Duration `yaml:"give_up_after"`
	// KeepDelivered is how long delivered notifications stay (168h).
	KeepDelivered time.Duration `yaml:"keep_delivered"`
	// PollInterval is how often the daemon looks for notifications queued
	// by another process, such as the operator CLI (5s).
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Policy values.
const (
	OnResolvedRecord  = "record"
	OnResolvedResolve = "resolve"
	FollowUpRequired  = "required"
	FollowUpOptional  = "optional"
	EscalateKeep      = "keep"
	EscalateRaise     = "raise"
)

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// withDefaults fills what the config left empty.
func (c Config) withDefaults() Config {
	c.OnAlertResolved = orDefault(c.OnAlertResolved, OnResolvedRecord)
	c.FollowUp = orDefault(c.FollowUp, FollowUpRequired)
	c.Escalation.Priority = orDefault(c.Escalation.Priority, EscalateKeep)
	c.Escalation.CheckInterval = orDefault(c.Escalation.CheckInterval, time.Minute)
	o := &c.Outbox
	o.RetryMin = orDefault(o.RetryMin, time.Second)
	o.RetryMax = max(orDefault(o.RetryMax, 5*time.Minute), o.RetryMin)
	o.GiveUpAfter = orDefault(o.GiveUpAfter, 7*24*time.Hour)
	o.KeepDelivered = orDefault(o.KeepDelivered, 7*24*time.Hour)
	o.PollInterval = orDefault(o.PollInterval, 5*time.Second)
	return c
}

// CheckInterval is how often the daemon calls CheckSLA.
func (c Config) CheckInterval() time.Duration { return c.withDefaults().Escalation.CheckInterval }

// validPriority reports whether p is one of P1 (most urgent) to P4.
func validPriority(p string) bool {
	return p == "P1" || p == "P2" || p == "P3" || p == "P4"
}

// defaultSLA applies to every limit a config leaves at zero. P1 is the
// urgent repair of the service standard: someone on site within 30 minutes.
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
	s.RespondWithin = orDefault(s.RespondWithin, d.RespondWithin)
	s.ResolveWithin = orDefault(s.ResolveWithin, d.ResolveWithin)
	s.FollowUpWithin = orDefault(s.FollowUpWithin, d.FollowUpWithin)
	return s
}

// Problem is one thing wrong with a Config. At points at the struct inside
// the config that holds the mistake and Field names its YAML key, so the
// config package can report file:line:col.
type Problem struct {
	At    any
	Field string
	Msg   string
}

// Validate reports every problem of the section at once.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Problems() {
		errs = append(errs, errors.New("tickets: "+p.Msg))
	}
	return errors.Join(errs...)
}

// Problems lists every problem of the section.
func (c *Config) Problems() []Problem {
	var ps []Problem
	add := func(at any, field, format string, args ...any) {
		ps = append(ps, Problem{At: at, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, p := range slices.Sorted(maps.Keys(c.SLA)) {
		s := c.SLA[p]
		if !validPriority(p) {
			add(c, "sla", "sla: unknown priority %q, want one of P1, P2, P3, P4", p)
			continue
		}
		if s.RespondWithin < 0 || s.ResolveWithin < 0 || s.FollowUpWithin < 0 {
			add(c, "sla", "sla %s: durations must not be negative", p)
		}
		if eff := c.SLAFor(p); eff.ResolveWithin < eff.RespondWithin {
			add(c, "sla", "sla %s: resolve_within %s is shorter than respond_within %s", p, eff.ResolveWithin, eff.RespondWithin)
		}
	}
	if c.ReopenWithin < 0 {
		add(c, "reopen_within", "reopen_within %s must not be negative", c.ReopenWithin)
	}
	enum := func(at any, field, v string, allowed ...string) {
		if v != "" && !slices.Contains(allowed, v) {
			add(at, field, "%s: unknown value %q, want %s", field, v, orList(allowed))
		}
	}
	enum(c, "on_alert_resolved", c.OnAlertResolved, OnResolvedRecord, OnResolvedResolve)
	enum(c, "follow_up", c.FollowUp, FollowUpRequired, FollowUpOptional)
	enum(&c.Escalation, "priority", c.Escalation.Priority, EscalateKeep, EscalateRaise)
	for _, d := range []struct {
		at    any
		field string
		v     time.Duration
	}{
		{&c.Escalation, "check_interval", c.Escalation.CheckInterval},
		{&c.Outbox, "retry_min", c.Outbox.RetryMin}, {&c.Outbox, "retry_max", c.Outbox.RetryMax},
		{&c.Outbox, "give_up_after", c.Outbox.GiveUpAfter}, {&c.Outbox, "keep_delivered", c.Outbox.KeepDelivered},
		{&c.Outbox, "poll_interval", c.Outbox.PollInterval},
	} {
		if d.v < 0 {
			add(d.at, d.field, "%s %s must not be negative", d.field, d.v)
		}
	}
	names := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		ps = append(ps, r.problems(i, names)...)
		names[r.Name] = true
	}
	for _, n := range c.Escalation.Notify {
		if !names[n] {
			add(&c.Escalation, "notify", "escalation: notify: unknown receiver %q (receivers: %s)", n,
				strings.Join(slices.Sorted(maps.Keys(names)), ", "))
		}
	}
	return ps
}

// orList writes "a, b or c".
func orList(xs []string) string {
	switch len(xs) {
	case 0:
		return "none"
	case 1:
		return xs[0]
	}
	out := ""
	for i, x := range xs[:len(xs)-1] {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out + " or " + xs[len(xs)-1]
}
