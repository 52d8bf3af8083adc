package inspections

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

var errStale = errors.New("stale state")

// fakeStore is the ticket database's inspection side in memory: versioned
// states, history records, inspection tickets with one open per key, and
// the completion transaction that calls the advancer.
type fakeStore struct {
	mu       sync.Mutex
	states   map[pairKey]tickets.InspectionState
	records  []tickets.InspectionRecord
	tickets  []fakeTicket
	advancer tickets.InspectionAdvancer
	puts     int
}

type fakeTicket struct {
	tickets.Ticket
	Plan, Device string
	Checklist    []tickets.ChecklistItem
	Replaces     []string
	Open         bool
	Note         string
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore { return &fakeStore{states: map[pairKey]tickets.InspectionState{}} }

func clone(st tickets.InspectionState) tickets.InspectionState {
	st.LastCounters, st.NextCounters = maps.Clone(st.LastCounters), maps.Clone(st.NextCounters)
	return st
}

func (f *fakeStore) InspectionStates(_ context.Context, device string) ([]tickets.InspectionState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tickets.InspectionState
	for _, st := range f.states {
		if device == "" || st.Device == device {
			out = append(out, clone(st))
		}
	}
	return out, nil
}

// check refuses states whose version is not the stored one; callers hold mu.
func (f *fakeStore) check(states []tickets.InspectionState) error {
	for _, st := range states {
		if f.states[pairKey{st.Plan, st.Device}].Version != st.Version {
			return fmt.Errorf("%s on %s: %w", st.Plan, st.Device, errStale)
		}
	}
	return nil
}

func (f *fakeStore) write(st tickets.InspectionState) {
	st = clone(st)
	st.Version++
	f.states[pairKey{st.Plan, st.Device}] = st
}

func (f *fakeStore) PutInspectionStates(_ context.Context, states []tickets.InspectionState, records []tickets.InspectionRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(states); err != nil {
		return err
	}
	for _, st := range states {
		f.write(st)
	}
	f.records = append(f.records, records...)
	f.puts++
	return nil
}

func (f *fakeStore) OpenInspection(_ context.Context, st tickets.InspectionState, a tickets.Alert, checklist []tickets.ChecklistItem, replaces []string) (tickets.Ticket, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check([]tickets.InspectionState{st}); err != nil {
		return tickets.Ticket{}, false, err
	}
	for _, t := range f.tickets {
		if t.Open && t.Key == a.Key {
			st.TicketID = t.ID
			f.write(st)
			return t.Ticket, false, nil
		}
	}
	t := fakeTicket{Ticket: tickets.Ticket{ID: int64(len(f.tickets) + 1), Key: a.Key, Title: a.Title, Source: a.Source,
		Priority: a.Priority, Category: a.Category, Device: a.Device}, Plan: st.Plan, Device: st.Device,
		Checklist: checklist, Replaces: replaces, Open: true}
	t.CreatedAt = a.At
	for _, name := range replaces {
		k := pairKey{name, st.Device}
		old := f.states[k]
		for i := range f.tickets {
			if f.tickets[i].ID == old.TicketID && old.TicketID != 0 {
				f.tickets[i].Open, f.tickets[i].Note = false, "cancelled: replaced by "+a.Key
			}
		}
		old.TicketID = 0
		f.write(old)
	}
	f.tickets = append(f.tickets, t)
	st.TicketID = t.ID
	f.records = append(f.records, tickets.InspectionRecord{Plan: st.Plan, Device: st.Device, Kind: tickets.RecordOpened, At: a.At, TicketID: t.ID})
	f.write(st)
	return t.Ticket, true, nil
}

// CompleteInspection is the store's completion transaction: the advancer
// computes the states, which are written version-checked, and the tickets
// of the records close.
func (f *fakeStore) CompleteInspection(_ context.Context, c tickets.Completion) ([]tickets.InspectionRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := map[string]tickets.InspectionState{}
	for k, st := range f.states {
		if k.device == c.Device {
			cur[k.plan] = clone(st)
		}
	}
	if c.Version != 0 && cur[c.Plan].Version != c.Version {
		return nil, errStale
	}
	states, recs, err := f.advancer(cur, c)
	if err != nil {
		return nil, err
	}
	if err := f.check(states); err != nil {
		return nil, err
	}
	for _, st := range states {
		f.write(st)
	}
	for _, r := range recs {
		for i := range f.tickets {
			if r.TicketID != 0 && f.tickets[i].ID == r.TicketID {
				f.tickets[i].Open = false
			}
		}
	}
	f.records = append(f.records, recs...)
	return recs, nil
}

func (f *fakeStore) SetInspectionAdvancer(a tickets.InspectionAdvancer) { f.advancer = a }

func (f *fakeStore) openTickets() []fakeTicket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeTicket
	for _, t := range f.tickets {
		if t.Open {
			out = append(out, t)
		}
	}
	return out
}

func (f *fakeStore) state(plan, device string) tickets.InspectionState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.states[pairKey{plan, device}])
}

// technicianDone is the technician's completion of ticket tk at at.
func technicianDone(tk fakeTicket, at time.Time, trips float64) tickets.Completion {
	return tickets.Completion{Plan: tk.Plan, Device: tk.Device, At: at, Actor: "tech", TicketID: tk.ID,
		Counters: map[string]float64{"trips": trips}}
}
