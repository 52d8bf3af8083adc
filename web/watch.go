package web

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// Events of GET /api/v1/events, each with its JSON data:
//
//	hello     {}               on connect: load the full state
//	overview  Overview         when any tile, count or the site's state changed
//	device    Device           a device whose values or state changed
//	alerts    [Alert]          the active alerts, when they changed
//	ticket    tickets.Ticket   a ticket created or changed
const (
	EventOverview = "overview"
	EventDevice   = "device"
	EventAlerts   = "alerts"
	EventTicket   = "ticket"
)

// inspectionsEvery is how often Watch reads the inspections: they change
// by the day, not by the second.
const inspectionsEvery = 30 * time.Second

// recentTickets is how many of the newest tickets Watch compares, besides
// the open ones, to see closes and cancels.
const recentTickets = 100

// Watch is the one producer of the event stream: every interval until ctx
// ends it reads the sources once, whatever the number of clients (but not
// while there are none), and publishes what changed since it last looked. It closes the hub when it
// returns. Without Deps.Events it returns at once.
func (s *Server) Watch(ctx context.Context, every time.Duration) {
	if s.Events == nil {
		return
	}
	defer s.Events.Close()
	w := watcher{s: s, seed: maphash.MakeSeed(), devices: map[string]uint64{}, tickets: map[int64]time.Time{}}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		// With no dashboard following the stream there is nobody to tell,
		// and a look costs a JSON encoding of every device (about a third of
		// the daemon's CPU at 1,000 meters): skip it. The first look after a
		// client connects compares with what was last seen, so it sends every
		// change since then (the client loads the full state on hello anyway).
		if !w.started || s.Events.Stats().Clients > 0 {
			w.step(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// watcher holds what the clients were last told.
type watcher struct {
	s       *Server
	started bool
	// What was last sent is remembered by a hash of its JSON, not the JSON
	// itself (at 1,000 meters half a MB held for as long as the daemon
	// runs, though there are seldom clients).
	seed     maphash.Seed
	devices  map[string]uint64
	alerts   uint64
	overview uint64
	tickets  map[int64]time.Time // updated_at by id
	ins      []Inspection
	insAt    time.Time
}

func (w *watcher) step(ctx context.Context) {
	s := w.s
	now := s.now()
	readIns := now.Sub(w.insAt) >= inspectionsEvery
	snap, err := s.gather(ctx, readIns)
	if err != nil && ctx.Err() == nil && !tickets.NotOpen(err) {
		s.log.Warn("events: part of the state could not be read", "err", err)
	}
	if readIns {
		w.ins, w.insAt = snap.inspections, now
	}
	snap.inspections = w.ins
	for _, d := range snap.devices {
		b, _ := json.Marshal(d)
		if h := w.devices[d.ID]; w.changed(&h, b) {
			w.devices[d.ID] = h
			w.publish(EventDevice, json.RawMessage(b))
		}
	}
	if b, _ := json.Marshal(snap.alerts); w.changed(&w.alerts, b) {
		w.publish(EventAlerts, json.RawMessage(b))
	}
	o := s.overviewOf(snap)
	o.At = time.Time{} // compared without the time, which always changes
	if b, _ := json.Marshal(o); w.changed(&w.overview, b) {
		o.At = now.UTC()
		w.publish(EventOverview, o)
	}
	if s.Tickets != nil {
		recent, err := s.Tickets.List(ctx, tickets.Filter{Limit: recentTickets})
		if err == nil {
			// Only the tickets in view are remembered, so the map stays
			// bounded; one that comes back into view is sent again.
			next := make(map[int64]time.Time, len(recent)+len(snap.tickets))
			for _, t := range append(recent, snap.tickets...) {
				if seen, ok := w.tickets[t.ID]; (!ok || !seen.Equal(t.UpdatedAt)) && next[t.ID].IsZero() {
					w.publish(EventTicket, t)
				}
				next[t.ID] = t.UpdatedAt
			}
			w.tickets = next
		}
	}
	w.started = true
}

// changed reports whether b's hash differs from *last, and keeps it there.
func (w *watcher) changed(last *uint64, b []byte) bool {
	h := maphash.Bytes(w.seed, b)
	if h == *last {
		return false
	}
	*last = h
	return true
}

// publish sends an event, except on the first look: a client that connects
// loads the state itself when it gets hello.
func (w *watcher) publish(kind string, v any) {
	if !w.started {
		return
	}
	if err := w.s.Events.Publish(kind, v); err != nil {
		w.s.log.Error("events: not sent", "err", err)
	}
}
