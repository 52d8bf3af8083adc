package inspections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// Store is what the engine needs of the ticket database (tickets.Store
// implements it): the states of every plan × device, a version-checked
// write of states and records together, and the opening of an inspection
// ticket in the same transaction as its state.
type Store interface {
	// InspectionStates returns the stored states of a device, or of every
	// device for "".
	InspectionStates(ctx context.Context, device string) ([]tickets.InspectionState, error)
	// PutInspectionStates writes states (refused as stale when a state's
	// Version is not the stored one) and appends records, in one
	// transaction.
	PutInspectionStates(ctx context.Context, states []tickets.InspectionState, records []tickets.InspectionRecord) error
	// OpenInspection creates the inspection ticket of st (key
	// inspection:PLAN:DEVICE, source inspection) with its checklist and
	// writes st with the ticket's id, in one transaction; the open tickets
	// of the plans in replaces (same device) are cancelled with a note and
	// their states' TicketID cleared. created is false when the key's
	// ticket was open already (another process opened it).
	OpenInspection(ctx context.Context, st tickets.InspectionState, a tickets.Alert, checklist []tickets.ChecklistItem, replaces []string) (tickets.Ticket, bool, error)
}

// Engine evaluates every plan × device pair on a tick and applies what is
// due through the Store. It holds no schedule of its own: each tick starts
// from the stored states, so a restart, a reload or another process on the
// same database changes nothing. Only the last counter readings seen are
// kept in memory, to rebase a counter that goes backwards precisely.
type Engine struct {
	plans   map[string]*Plan
	devices map[string]*Device
	store   Store
	usage   Usage

	mu     sync.Mutex // one tick at a time; guards what follows
	pairs  []*pair    // by device, deepest plan first
	index  map[pairKey]int
	steps  []Step
	states []tickets.InspectionState // of the tick, by pair
	open   []bool
	hold   []bool // state not written this tick: replaced by an opening
}

type pairKey struct{ plan, device string }

type pair struct {
	plan   *Plan
	dev    *Device
	deeper []int // pairs of the device whose plan includes this one
	seen   []float64
}

// New returns an engine over the plans and the devices they apply to. It
// checks the plans (see Check) and refuses them on any error. usage may be
// nil (no estimates).
func New(plans []*Plan, devices []*Device, store Store, usage Usage) (*Engine, error) {
	if errs := Check(plans, devices); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e := &Engine{plans: map[string]*Plan{}, devices: map[string]*Device{}, store: store, usage: usage, index: map[pairKey]int{}}
	for _, p := range plans {
		e.plans[p.Name] = p
	}
	for _, d := range devices {
		e.devices[d.ID] = d
		for _, p := range plans {
			if p.Matches(d) {
				seen := make([]float64, len(p.Counters))
				for i := range seen {
					seen[i] = math.NaN()
				}
				e.pairs = append(e.pairs, &pair{plan: p, dev: d, seen: seen})
			}
		}
	}
	slices.SortStableFunc(e.pairs, func(a, b *pair) int {
		return cmp.Or(cmp.Compare(a.dev.ID, b.dev.ID), cmp.Compare(len(b.plan.closure), len(a.plan.closure)), cmp.Compare(a.plan.Name, b.plan.Name))
	})
	for i, pr := range e.pairs {
		e.index[pairKey{pr.plan.Name, pr.dev.ID}] = i
	}
	for i, pr := range e.pairs {
		for j := i - 1; j >= 0 && e.pairs[j].dev == pr.dev; j-- {
			if e.pairs[j].plan.includes(pr.plan) {
				pr.deeper = append(pr.deeper, j)
			}
		}
		slices.Reverse(pr.deeper) // deepest first
	}
	n := len(e.pairs)
	e.steps, e.states, e.open, e.hold = make([]Step, n), make([]tickets.InspectionState, n), make([]bool, n), make([]bool, n)
	return e, nil
}

// Plan returns the plan of that name, or nil.
func (e *Engine) Plan(name string) *Plan { return e.plans[name] }

// Pairs returns the number of plan × device pairs the engine evaluates.
func (e *Engine) Pairs() int { return len(e.pairs) }

// Transition is a status change of one plan × device: what alerts of kind
// inspection are made of.
type Transition struct {
	Plan, Device string
	From, To     Status
	State        tickets.InspectionState
}

// Opened is an inspection ticket a tick opened (or found open).
type Opened struct {
	Plan, Device string
	Ticket       tickets.Ticket
	Created      bool
	// Replaces are the plans whose open tickets this one replaced: one
	// visit, one ticket.
	Replaces []string
}

// Result is what one tick did.
type Result struct {
	Transitions []Transition
	Opened      []Opened
	// Records are the counter rebases written.
	Records []tickets.InspectionRecord
	// Written counts the states written.
	Written int
}

// Tick evaluates every pair at now with the live counters: it reads the
// states from the store, writes those that changed (with the rebase
// records) in one call, then opens the tickets that are due, one
// transaction each. A deeper plan due within a week (or the shallower
// plan's lead) of a plan it includes opens instead of it, early, and an
// opening replaces the open tickets of the plans it includes. When the
// write is refused (another process wrote meanwhile), Tick opens nothing
// and returns the error; the next tick starts again from the store.
func (e *Engine) Tick(ctx context.Context, now time.Time, live Live) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	loaded, err := e.store.InspectionStates(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("inspections: read states: %w", err)
	}
	states := e.states
	for i, pr := range e.pairs {
		states[i] = tickets.InspectionState{Plan: pr.plan.Name, Device: pr.dev.ID}
	}
	for _, st := range loaded {
		if i, ok := e.index[pairKey{st.Plan, st.Device}]; ok {
			states[i] = st
		}
	}
	var clk clock
	for i, pr := range e.pairs {
		if loc := pr.plan.zone(); clk.loc != loc {
			clk = newClock(now, loc)
		}
		e.steps[i] = pr.plan.eval(states[i], live, e.usage, clk, pr.seen)
		e.open[i], e.hold[i] = false, false
	}
	e.plan(now)
	res := &Result{}
	var put []tickets.InspectionState
	for i := range e.pairs {
		s := &e.steps[i]
		if e.open[i] || e.hold[i] || !s.Changed {
			continue
		}
		put = append(put, s.State)
		res.Records = append(res.Records, s.Records...)
		if Status(s.State.Status) != s.From {
			res.Transitions = append(res.Transitions, e.transition(i))
		}
	}
	if len(put) > 0 || len(res.Records) > 0 {
		if err := e.store.PutInspectionStates(ctx, put, res.Records); err != nil {
			return nil, fmt.Errorf("inspections: write states: %w", err)
		}
		res.Written = len(put)
	}
	var errs []error
	for i, pr := range e.pairs {
		if !e.open[i] {
			continue
		}
		st := e.steps[i].State
		var replaces []string
		for _, q := range pr.plan.closure {
			if j, ok := e.index[pairKey{q.Name, pr.dev.ID}]; ok && e.steps[j].State.TicketID != 0 {
				replaces = append(replaces, q.Name)
			}
		}
		t, created, err := e.store.OpenInspection(ctx, st, e.alert(pr, st, now), pr.plan.FullChecklist(), replaces)
		if err != nil {
			errs = append(errs, fmt.Errorf("inspections: open %s for %q: %w", pr.plan, pr.dev.ID, err))
			continue
		}
		res.Opened = append(res.Opened, Opened{Plan: pr.plan.Name, Device: pr.dev.ID, Ticket: t, Created: created, Replaces: replaces})
		if Status(st.Status) != e.steps[i].From {
			res.Transitions = append(res.Transitions, e.transition(i))
		}
	}
	return res, errors.Join(errs...)
}

func (e *Engine) transition(i int) Transition {
	s := &e.steps[i]
	return Transition{Plan: s.State.Plan, Device: s.State.Device, From: s.From, To: Status(s.State.Status), State: s.State}
}

// plan decides which pairs open a ticket this tick: never two for one
// visit. Pairs are by device, deepest plan first, so a deeper plan has
// decided before the plans it includes.
func (e *Engine) plan(now time.Time) {
	for i, pr := range e.pairs {
		s := &e.steps[i]
		if !s.NeedsTicket || e.open[i] || len(s.Records) > 0 { // a rebase is written first; open next tick
			continue
		}
		covered := false
		for _, j := range pr.deeper {
			if e.open[j] || e.steps[j].State.TicketID != 0 {
				covered = true // the deeper plan's visit does this one too
				break
			}
		}
		if covered {
			continue
		}
		target := i
		if due := s.State.Estimated; !due.IsZero() {
			loc := pr.plan.zone()
			d := dayOf(due, loc)
			until := max(d+7, pr.plan.Lead.add(d, 1))
			for _, j := range pr.deeper {
				sj := &e.steps[j]
				if est := sj.State.Estimated; len(sj.Records) == 0 && !est.IsZero() && dayOf(est, loc) <= until {
					target = j
					break
				}
			}
		}
		e.open[target] = true
		if target != i {
			st := &e.steps[target].State
			if Status(st.Status) == StatusOK || Status(st.Status) == StatusSkipped {
				st.Status = string(StatusDueSoon)
				st.UpdatedAt = now
			}
		}
		for _, q := range e.pairs[target].plan.closure {
			j, ok := e.index[pairKey{q.Name, pr.dev.ID}]
			if !ok {
				continue
			}
			e.open[j] = false // decided before this deeper one was chosen
			if e.steps[j].State.TicketID != 0 {
				e.hold[j] = true // the store clears it with the opening
			}
		}
	}
}

// alert is the inspection ticket of a pair's cycle.
func (e *Engine) alert(pr *pair, st tickets.InspectionState, now time.Time) tickets.Alert {
	p, loc := pr.plan, pr.plan.zone()
	due := ""
	switch {
	case st.DueBy == "calendar" || st.DueBy == "" && !st.NextDue.IsZero():
		due = "due " + st.NextDue.In(loc).Format(time.DateOnly)
	case st.DueBy != "":
		due = fmt.Sprintf("due at %s %s", num(st.NextCounters[st.DueBy]), st.DueBy)
		if est := st.Estimated; !est.IsZero() && dayOf(est, loc) > dayOf(now, loc) {
			due += " (about " + est.In(loc).Format(time.DateOnly) + ")"
		}
	}
	desc := fmt.Sprintf("Preventive maintenance %q, %s, %s.", p.Name, p.Interval(), due)
	if n := len(p.FullChecklist()); n > 0 {
		desc += fmt.Sprintf(" Checklist of %d items.", n)
	}
	return tickets.Alert{Key: Key(p.Name, pr.dev.ID), Title: fmt.Sprintf("%s: %s %s", pr.dev.ID, p.Title(), due),
		Description: desc, Device: pr.dev.ID, Location: pr.dev.Location, Category: p.Ticket.Category,
		Priority: p.Ticket.Priority, Source: tickets.SourceInspection, Assignee: p.Ticket.Assignee, At: now}
}

// Run ticks at once and then every interval until ctx ends, reading the
// time from now and the counters from live; report, if set, gets each
// tick's result or error. The tick that is running when ctx ends finishes.
func (e *Engine) Run(ctx context.Context, interval time.Duration, now func() time.Time, live Live, report func(*Result, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := e.Tick(ctx, now(), live)
		if report != nil {
			report(res, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// FullChecklist is the checklist of the plan's ticket: the items of the
// plans it includes (the half-monthly items of a quarterly visit) first,
// then its own, each text once, numbered from 1. Valid after Check.
func (p *Plan) FullChecklist() []tickets.ChecklistItem {
	var out []tickets.ChecklistItem
	seen := map[string]bool{}
	var walk func(q *Plan, path []*Plan)
	walk = func(q *Plan, path []*Plan) {
		if slices.Contains(path, q) {
			return // a cycle, refused by Check
		}
		for _, name := range q.Includes {
			if i := slices.IndexFunc(p.closure, func(c *Plan) bool { return c.Name == name }); i >= 0 {
				walk(p.closure[i], append(path, q))
			}
		}
		for _, it := range q.Checklist {
			if !seen[it.Text] {
				seen[it.Text] = true
				it.Index = len(out) + 1
				out = append(out, it)
			}
		}
	}
	walk(p, nil)
	return out
}
