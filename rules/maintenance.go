package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// WindowIDPrefix starts the id under which a recurring maintenance window
// appears in an alert's SilencedBy: "window:NAME".
const WindowIDPrefix = "window:"

// MaintenanceWindow mutes the alerts its matchers select for Duration from
// every start of its cron Schedule, read in its time zone: "every Sunday
// 02:00–06:00 the pumps of building A are in maintenance". Muted alerts are
// still evaluated, recorded and listed, but open no ticket, as with a
// silence. Windows are written in rule files under maintenance_windows.
type MaintenanceWindow struct {
	Name     string
	Matchers Matchers
	// Schedule is a standard five-field cron spec ("0 2 * * SUN") or a
	// descriptor such as @weekly, read in Location.
	Schedule string
	Duration time.Duration
	// Timezone is the IANA name of Location as written; empty for the
	// daemon's local time zone.
	Timezone string
	Location *time.Location
	Comment  string
	// File is the rule file the window was written in.
	File  string
	sched cron.Schedule
	pos   Pos
}

// parseSchedule parses a standard cron spec in loc. Constant-delay specs
// (@every) and inline time zones are refused: a window is a calendar event,
// and its zone is the timezone field.
func parseSchedule(spec string, loc *time.Location) (cron.Schedule, error) {
	if strings.HasPrefix(spec, "@every") || strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("%q is not a calendar schedule: write five fields, minute hour day-of-month month day-of-week, such as \"0 2 * * SUN\" (the zone goes in timezone)", spec)
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %v: write five fields, minute hour day-of-month month day-of-week, such as \"0 2 * * SUN\"", spec, err)
	}
	spec2, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a calendar schedule", spec)
	}
	spec2.Location = loc
	return spec2, nil
}

// ID is how alerts muted by the window name it in SilencedBy.
func (w *MaintenanceWindow) ID() string { return WindowIDPrefix + w.Name }

// At returns the occurrence of the window in force at t, if any: the one
// that started last at or before t and ends after t.
func (w *MaintenanceWindow) At(t time.Time) (start, end time.Time, ok bool) {
	if w.sched == nil || w.Duration <= 0 {
		return time.Time{}, time.Time{}, false
	}
	// Occurrences that can cover t start in (t-Duration, t]; the first
	// after t-Duration covers t if it is not after t. Later ones in that
	// span (overlapping occurrences) end later: take the last.
	s := w.sched.Next(t.Add(-w.Duration))
	if s.IsZero() || s.After(t) {
		return time.Time{}, time.Time{}, false
	}
	for {
		n := w.sched.Next(s)
		if n.IsZero() || n.After(t) {
			return s, s.Add(w.Duration), true
		}
		s = n
	}
}

// Active reports whether the window mutes its alerts at t.
func (w *MaintenanceWindow) Active(t time.Time) bool {
	_, _, ok := w.At(t)
	return ok
}

// WindowStatus describes a maintenance window at a time, for listing: the
// occurrence in force, or else the next one.
type WindowStatus struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`      // always "maintenance"
	Recur    bool      `json:"recurring"` // always true: tells it from a one-off silence
	Matchers Matchers  `json:"matchers"`
	Schedule string    `json:"schedule"`
	Duration string    `json:"duration"`
	Timezone string    `json:"timezone"`
	Active   bool      `json:"active"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Comment  string    `json:"comment,omitempty"`
	File     string    `json:"file,omitempty"`
}

// Status returns the window's state at t.
func (w *MaintenanceWindow) Status(t time.Time) WindowStatus {
	st := WindowStatus{ID: w.ID(), Name: w.Name, Kind: string(KindMaintenance), Recur: true, Matchers: w.Matchers,
		Schedule: w.Schedule, Duration: w.Duration.String(), Timezone: w.Timezone, Comment: w.Comment, File: w.File}
	if st.Timezone == "" {
		st.Timezone = "Local"
	}
	if start, end, ok := w.At(t); ok {
		st.Active, st.StartsAt, st.EndsAt = true, start, end
	} else if w.sched != nil {
		st.StartsAt = w.sched.Next(t)
		st.EndsAt = st.StartsAt.Add(w.Duration)
	}
	return st
}

// WindowStatuses returns the status of every window at t, in order.
func WindowStatuses(ws []*MaintenanceWindow, t time.Time) []WindowStatus {
	out := make([]WindowStatus, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Status(t))
	}
	return out
}
