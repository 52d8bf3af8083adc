package tickets

import (
	"errors"
	"time"
)

// Status is where a ticket stands in its life.
type Status string

// The statuses of a ticket. Open, acknowledged, in progress and on hold count
// as open: the alert's key is taken while a ticket is in one of them.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusInProgress   Status = "in_progress"
	StatusOnHold       Status = "on_hold"
	StatusResolved     Status = "resolved"
	StatusClosed       Status = "closed"
	StatusCancelled    Status = "cancelled"
)

// IsOpen reports whether a ticket in status s still owns its key, so that a
// repeat of the alert adds an occurrence to it instead of opening another.
func (s Status) IsOpen() bool {
	switch s {
	case StatusOpen, StatusAcknowledged, StatusInProgress, StatusOnHold:
		return true
	}
	return false
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Sources of a ticket: what raised it.
const (
	SourceRule       = "rule"
	SourceInspection = "inspection"
	SourceEnergy     = "energy"
	SourceManual     = "manual"
)

func validSource(s string) bool {
	switch s {
	case SourceRule, SourceInspection, SourceEnergy, SourceManual:
		return true
	}
	return false
}

// Errors that callers tell apart with errors.Is.
var (
	// ErrNotFound means no ticket has the id asked for.
	ErrNotFound = errors.New("ticket not found")
	// ErrTransition means the lifecycle does not allow the status change.
	ErrTransition = errors.New("transition not allowed")
	// ErrInvalid means an argument was malformed (unknown priority, status…).
	ErrInvalid = errors.New("invalid argument")
)

// Alert is what the alert layer hands over when an alert fires: Key is its
// stable fingerprint (rule + device + labels), never its value.
type Alert struct {
	Key, Title, Description, Device, Location, Category, Priority, Source string
	// At is when the alert fired; zero means now.
	At time.Time
}

// Ticket is one maintenance ticket. Times are UTC; zero times are unset and
// left out of JSON.
type Ticket struct {
	ID          int64  `json:"id"`
	Key         string `json:"key"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Device      string `json:"device,omitempty"`
	Location    string `json:"location,omitempty"`
	Category    string `json:"category,omitempty"`
	Priority    string `json:"priority"`
	Status      Status `json:"status"`
	Source      string `json:"source"`
	Assignee    string `json:"assignee,omitempty"`
	// Occurrences counts how often the alert fired while this ticket was open.
	Occurrences int       `json:"occurrences"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	RespondBy   time.Time `json:"respond_by"`
	ResolveBy   time.Time `json:"resolve_by"`
	// FollowUpBy is set when the ticket is resolved: by then someone checks
	// that the fix held and closes it.
	FollowUpBy time.Time `json:"follow_up_by,omitzero"`
	// AlertResolvedAt is when the alert last cleared; people still close the
	// ticket.
	AlertResolvedAt time.Time `json:"alert_resolved_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
}

// EventKind names what happened to a ticket.
type EventKind string

// The kinds of ticket events.
const (
	EventCreated       EventKind = "created"
	EventOccurrence    EventKind = "occurrence"
	EventAlertResolved EventKind = "alert_resolved"
	EventTransition    EventKind = "transition"
	EventReopened      EventKind = "reopened"
)

// Event is one entry of a ticket's history.
type Event struct {
	ID       int64     `json:"id"`
	TicketID int64     `json:"ticket_id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Kind     EventKind `json:"kind"`
	Detail   string    `json:"detail,omitempty"`
}

// Filter selects tickets for List. Zero fields select everything.
type Filter struct {
	// Status keeps tickets in any of these statuses.
	Status []string
	Device string
	// OpenOnly keeps tickets that still own their key (see Status.IsOpen).
	OpenOnly bool
	// Limit caps the number of tickets; zero means no cap.
	Limit int
}
