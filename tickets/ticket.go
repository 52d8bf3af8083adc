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

// AlertFiring reports whether t was raised by a rule's alert that has not
// cleared since it last fired. (Inspections are done, not cleared.)
func (t *Ticket) AlertFiring() bool {
	return t.Source == SourceRule && t.AlertResolvedAt.IsZero()
}

// openStatuses is Status.IsOpen in SQL.
const openStatuses = `status NOT IN ('resolved','closed','cancelled')`

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
	// ErrTransition means the lifecycle does not allow the change.
	ErrTransition = errors.New("transition not allowed")
	// ErrInvalid means an argument was malformed (unknown priority, status…).
	ErrInvalid = errors.New("invalid argument")
	// ErrAlertFiring means a resolve, close or cancel of a ticket whose
	// alert still fires, without force: the fault is still there.
	ErrAlertFiring = errors.New("alert still firing")
	// ErrRejected is wrapped by a Notifier whose receiver refused a
	// notification for good (HTTP 400, say): retrying would not help, so
	// the outbox drops it, logged, instead of blocking the receiver's queue.
	ErrRejected = errors.New("rejected by receiver")
)

// Alert is what the alert layer hands over when an alert fires: Key is its
// stable fingerprint (rule + device + labels), never its value.
type Alert struct {
	Key         string `json:"key"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Device      string `json:"device,omitempty"`
	Location    string `json:"location,omitempty"`
	Category    string `json:"category,omitempty"`
	Priority    string `json:"priority,omitempty"`
	Source      string `json:"source,omitempty"`
	// Assignee, when set, is who the new ticket is assigned to (an
	// inspection plan's contractor); a repeat does not change it.
	Assignee string `json:"assignee,omitempty"`
	// At is when the alert fired; zero means now.
	At time.Time `json:"at,omitzero"`
}

// Change is one alert transition for Apply: the alert fired, or, with
// Resolved set, cleared (then only Alert.Key and Alert.At matter).
type Change struct {
	// ID, when set, makes the change idempotent: Apply records it in the
	// transaction of the change and skips a change whose ID it recorded
	// before, so a queue that retries after a crash never applies a
	// transition twice. Queues of transitions set it; direct callers may not.
	ID       string `json:"id,omitempty"`
	Alert    Alert  `json:"alert"`
	Resolved bool   `json:"resolved,omitempty"`
	// StillFiring marks a firing alert found without an open ticket (its
	// ticket was closed by force while it fired): it opens a new ticket
	// that names the closed one, never reopens that one.
	StillFiring bool `json:"still_firing,omitempty"`
}

// Result is what Apply did with one Change. Ticket is the ticket after the
// change; it is zero for a resolution without an open ticket.
type Result struct {
	Ticket Ticket
	// Created is set when the change opened a new ticket, Reopened when it
	// brought a resolved or closed one back.
	Created, Reopened bool
	// Duplicate is set when the change's ID was applied before: nothing
	// was done.
	Duplicate bool
}

// Ticket is one maintenance ticket. Times are UTC; zero times are unset and
// left out of JSON.
type Ticket struct {
	ID int64 `json:"id"`
	// Site is the site whose daemon raised the ticket (Config.Site): a
	// key is unique among a site's open tickets, not across sites.
	Site        string `json:"site"`
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
	// that the fix held (FollowUpAt, FollowUpResult) and closes it.
	FollowUpBy time.Time `json:"follow_up_by,omitzero"`
	// RespondedAt is the first move out of open: the response time of the SLA.
	RespondedAt time.Time `json:"responded_at,omitzero"`
	// AlertResolvedAt is when the alert last cleared.
	AlertResolvedAt time.Time `json:"alert_resolved_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	FollowUpAt      time.Time `json:"follow_up_at,omitzero"`
	// FollowUpResult is FollowUpOK or FollowUpFailed once the check is done.
	FollowUpResult string    `json:"follow_up_result,omitempty"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`
	// HeldSince is when the ticket went on_hold, while it is: the
	// resolve-by clock is paused, and ResolveBy moves later by the time
	// held when the ticket leaves on_hold.
	HeldSince time.Time `json:"held_since,omitzero"`
	// Related is the inspection ticket a corrective ticket came from: the
	// checklist item that failed is on it.
	Related int64 `json:"related,omitempty"`
}

// Due returns the deadline t works towards now: respond-by while open,
// resolve-by until resolved, follow-up-by until the check is recorded; ""
// when none is left, or while on_hold (the clock is paused).
func (t Ticket) Due() (kind string, at time.Time) {
	switch {
	case t.Status == StatusOnHold:
		return "", time.Time{}
	case t.Status == StatusOpen:
		return BreachRespond, t.RespondBy
	case t.Status.IsOpen():
		return BreachResolve, t.ResolveBy
	case t.Status == StatusResolved && t.FollowUpAt.IsZero() && !t.FollowUpBy.IsZero():
		return BreachFollowUp, t.FollowUpBy
	}
	return "", time.Time{}
}

// Results of a follow-up check.
const (
	// FollowUpOK means the repair held; the ticket may be closed.
	FollowUpOK = "ok"
	// FollowUpFailed means it did not; the ticket goes back to in_progress.
	FollowUpFailed = "failed"
)

// EventKind names what happened to a ticket.
type EventKind string

// The kinds of ticket events.
const (
	EventCreated       EventKind = "created"
	EventOccurrence    EventKind = "occurrence"
	EventAlertResolved EventKind = "alert_resolved"
	EventTransition    EventKind = "transition"
	EventReopened      EventKind = "reopened"
	EventAssigned      EventKind = "assigned"
	EventComment       EventKind = "comment"
	EventFollowUp      EventKind = "follow_up"
	EventSLABreach     EventKind = "sla_breach"
	// EventSLAPaused records that a ticket left on_hold and its resolve-by
	// moved later by the time it was held.
	EventSLAPaused EventKind = "sla_paused"
	// EventInspection records an inspection ticket's part in its plan:
	// opened for a cycle, replaced by a deeper plan, done, skipped.
	EventInspection EventKind = "inspection"
	// EventChecklist records an answer to a checklist item.
	EventChecklist EventKind = "checklist"
)

// EventKinds lists every kind, in lifecycle order.
var EventKinds = []EventKind{EventCreated, EventOccurrence, EventAlertResolved, EventTransition,
	EventReopened, EventAssigned, EventComment, EventFollowUp, EventSLABreach, EventSLAPaused,
	EventInspection, EventChecklist}

// Event is one entry of a ticket's history.
type Event struct {
	ID       int64     `json:"id"`
	TicketID int64     `json:"ticket_id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Kind     EventKind `json:"kind"`
	Detail   string    `json:"detail,omitempty"`
}

// Notification is what the outbox delivers to a receiver: one event and the
// ticket as it was right after it.
type Notification struct {
	// ID is the idempotency key: unique per event and database, the same on
	// every retry, so a receiver can drop a repeat.
	ID     string `json:"id"`
	Event  Event  `json:"event,omitzero"`
	Ticket Ticket `json:"ticket,omitzero"`
	// Report is set, and Event and Ticket are not, on the delivery of a
	// scheduled report (see Store.EnqueueReport).
	Report *ReportNotice `json:"report,omitempty"`
}

// AllSites is the Filter.Site of every site's tickets.
const AllSites = "*"

// Filter selects tickets for List. Zero fields select everything of the
// store's site.
type Filter struct {
	// Site keeps the tickets of that site: empty means the store's own
	// (Store.Site), AllSites every site that shares the database.
	Site string
	// Status keeps tickets in any of these statuses.
	Status   []string
	Device   string
	Category string
	Priority string
	Assignee string
	Source   string
	// OpenOnly keeps tickets that still own their key (see Status.IsOpen).
	OpenOnly bool
	// Limit caps the number of tickets; zero means no cap.
	Limit int
}
