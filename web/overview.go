package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// Tile states, from worst to best: what colours a device on the overview
// and, for the worst of all, the site in the header.
const (
	StateAlarm    = "alarm"    // an alert fires on the device
	StateOffline  = "offline"  // the device does not answer
	StateDegraded = "degraded" // it answers, partly
	StateOverdue  = "overdue"  // an inspection of it is overdue
	StateOK       = "ok"
	StateUnknown  = "unknown" // not heard from yet
)

// stateRank orders the states; the larger is worse.
var stateRank = map[string]int{StateUnknown: 0, StateOK: 1, StateOverdue: 2, StateDegraded: 3, StateOffline: 4, StateAlarm: 5}

// worse returns the worse of two states.
func worse(a, b string) string {
	if stateRank[b] > stateRank[a] {
		return b
	}
	return a
}

// Overview is the site at a glance: every device's tile and the counts the
// header and the overview show. The page draws it; it computes nothing.
type Overview struct {
	// State is the site's worst state: the worst tile, an alert on no
	// device (a gateway), or the daemon's own health.
	State string `json:"state"`
	// Daemon is /healthz's status: ok, degraded or failing.
	Daemon  string `json:"daemon"`
	Devices []Tile `json:"devices"`
	// Alerts counts the firing alerts by severity; Pending those that wait
	// for their for: to pass.
	Alerts  map[string]int `json:"alerts"`
	Pending int            `json:"pending"`
	// Tickets counts the open tickets by SLA state: breached, due_soon (due
	// within the hour), ok, paused (on hold).
	Tickets map[string]int `json:"tickets"`
	// Inspections counts the inspections by status: due_soon, due, overdue.
	Inspections map[string]int `json:"inspections"`
	At          time.Time      `json:"at"`
}

// Tile is one device on the overview, with where it is and why it has the
// state it has.
type Tile struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Location string `json:"location,omitempty"`
	// Building, Floor and System group the tiles: the device's tags of those
	// names (System falls back to its category tag, then its type).
	Building string   `json:"building,omitempty"`
	Floor    string   `json:"floor,omitempty"`
	System   string   `json:"system"`
	State    string   `json:"state"`
	Reasons  []Reason `json:"reasons,omitempty"`
}

// Reason is one thing that makes a tile's state: Kind is the state it
// causes, Name the rule, plan or driver state behind it.
type Reason struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Severity string `json:"severity,omitempty"`
}

// SLA states of an open ticket.
const (
	SLABreached = "breached"
	SLADueSoon  = "due_soon"
	SLAOK       = "ok"
	SLAPaused   = "paused"
)

// slaSoon is how close a deadline counts as due soon.
const slaSoon = time.Hour

// SLAState is where an open ticket stands against its next deadline at now.
func SLAState(t tickets.Ticket, now time.Time) string {
	_, at := t.Due()
	switch {
	case at.IsZero():
		return SLAPaused
	case !now.Before(at):
		return SLABreached
	case at.Sub(now) <= slaSoon:
		return SLADueSoon
	}
	return SLAOK
}

// snapshot is what the overview and the event stream are made of.
type snapshot struct {
	health      map[string]any
	devices     []Device
	alerts      []Alert
	tickets     []tickets.Ticket // open ones
	inspections []Inspection
}

// BuildOverview computes the overview of a snapshot at now. It is pure:
// the tests give it data and a time.
func BuildOverview(health map[string]any, devices []Device, alerts []Alert, open []tickets.Ticket, ins []Inspection, now time.Time) Overview {
	o := Overview{State: StateOK, Alerts: map[string]int{}, Tickets: map[string]int{}, Inspections: map[string]int{}, At: now.UTC()}
	o.Daemon, _ = health["status"].(string)
	switch o.Daemon {
	case "ok":
	case "degraded":
		o.State = StateDegraded
	default:
		o.State = StateAlarm // failing, or a status it does not know
	}
	idx := map[string]int{}
	for _, d := range devices {
		t := Tile{ID: d.ID, Type: d.Type, Location: d.Location, Building: d.Tags["building"], Floor: d.Tags["floor"],
			System: cmp.Or(d.Tags["system"], d.Tags["category"], d.Type), State: StateOK}
		st := d.State
		if s, ok := d.Health["state"].(string); ok && s != "" {
			st = s
		}
		switch st {
		case "offline":
			t.add(Reason{Kind: StateOffline, Name: st})
		case "degraded":
			t.add(Reason{Kind: StateDegraded, Name: st})
		case "", "unknown":
			t.State = StateUnknown
		}
		idx[d.ID] = len(o.Devices)
		o.Devices = append(o.Devices, t)
	}
	for _, a := range alerts {
		if a.State != "firing" {
			if a.State == "pending" {
				o.Pending++
			}
			continue
		}
		o.Alerts[a.Severity]++
		if i, ok := idx[a.Device]; ok {
			o.Devices[i].add(Reason{Kind: StateAlarm, Name: a.Rule, Severity: a.Severity})
		} else {
			o.State = worse(o.State, StateAlarm) // a gateway, or a device no longer configured
		}
	}
	for _, t := range open {
		o.Tickets[SLAState(t, now)]++
	}
	for _, in := range ins {
		switch in.Status {
		case tickets.InspectionDueSoon, tickets.InspectionDue, tickets.InspectionOverdue:
			o.Inspections[in.Status]++
		}
		if i, ok := idx[in.Device]; ok && in.Status == tickets.InspectionOverdue {
			o.Devices[i].add(Reason{Kind: StateOverdue, Name: in.Plan})
		}
	}
	for _, t := range o.Devices {
		if t.State != StateUnknown {
			o.State = worse(o.State, t.State)
		}
	}
	slices.SortFunc(o.Devices, func(a, b Tile) int {
		return cmp.Or(cmp.Compare(a.Building, b.Building), cmp.Compare(a.Floor, b.Floor), cmp.Compare(a.System, b.System), cmp.Compare(a.ID, b.ID))
	})
	return o
}

// add records a reason and makes the tile at least as bad as it says; an
// unknown device with an alert is in alarm all the same.
func (t *Tile) add(r Reason) {
	t.Reasons = append(t.Reasons, r)
	if t.State == StateUnknown {
		t.State = StateOK
	}
	t.State = worse(t.State, r.Kind)
}

// gather reads a snapshot from the server's sources; a source that fails
// or is absent leaves its part empty, and the error is returned with what
// could be read.
func (s *Server) gather(ctx context.Context, withInspections bool) (snapshot, error) {
	snap := snapshot{health: s.src.Health(), devices: s.src.Devices(), alerts: s.src.Alerts()}
	var err error
	if s.Tickets != nil {
		snap.tickets, err = s.Tickets.List(ctx, tickets.Filter{OpenOnly: true})
	}
	if s.Inspections != nil && withInspections {
		ins, ierr := s.Inspections.Inspections(ctx, InspectionQuery{})
		snap.inspections = ins
		err = cmp.Or(err, ierr)
	}
	return snap, err
}

func (s *Server) overviewOf(snap snapshot) Overview {
	return BuildOverview(snap.health, snap.devices, snap.alerts, snap.tickets, snap.inspections, s.now())
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	snap, err := s.gather(r.Context(), true)
	if err != nil && !tickets.NotOpen(err) {
		s.log.Warn("overview: part of it could not be read", "err", err)
	}
	writeJSON(w, http.StatusOK, s.overviewOf(snap))
}
