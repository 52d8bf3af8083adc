package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/inspections"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/web"
)

// inspectEvery is how often the plans are evaluated. Due dates are days and
// counters move slowly; a minute is prompt and cheap.
const inspectEvery = time.Minute

// usageEvery is how often the counters' average daily use is read again
// from InfluxDB.
const usageEvery = time.Hour

// inspector runs one generation's inspection engine: it ticks the plans,
// reports each pair's status as a sample (which the rules turn into the
// inspection alerts and InfluxDB keeps), and escalates overdue tickets.
type inspector struct {
	a      *app
	engine *inspections.Engine
	cfg    *config.Config
	usage  *counterUsage
	// escalated is the due date each ticket's overdue breach was recorded
	// for, so that a tick does not ask the store again every minute (the
	// store records it once either way). Only report touches it.
	escalated map[int64]time.Time
}

// startInspections builds the engine of cfg, makes it the store's advancer
// and ticks it until ctx ends. Without plans it does nothing.
func (a *app) startInspections(ctx context.Context, cfg *config.Config, wg *sync.WaitGroup) error {
	if len(cfg.Inspections) == 0 {
		a.setInspector(nil)
		return nil
	}
	usage := &counterUsage{}
	e, err := inspections.New(cfg.Inspections, cfg.InspectionDevices(), a.tickets, usage)
	if err != nil {
		return err
	}
	in := &inspector{a: a, engine: e, cfg: cfg, usage: usage}
	a.tickets.SetInspectionAdvancer(in.advance)
	a.setInspector(in)
	wg.Go(func() { usage.run(ctx, a, cfg) })
	wg.Go(func() {
		e.Run(ctx, a.inspectEvery, a.now, in, func(r *inspections.Result, err error) { in.report(ctx, r, err) })
	})
	return nil
}

func (a *app) setInspector(in *inspector) {
	a.mu.Lock()
	a.inspector = in
	a.mu.Unlock()
}

func (a *app) currentInspector() *inspector {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.inspector
}

// Counter is the live reading of a device's counter, of good quality.
func (in *inspector) Counter(device, point string) (float64, bool) {
	points, _ := in.a.live.device(device)
	r, ok := points[point]
	if !ok || r.Quality != drivers.Good {
		return 0, false
	}
	if r.Value.Kind != drivers.KindFloat && r.Value.Kind != drivers.KindInt {
		return 0, false
	}
	v := r.Value.Float64()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// advance is the store's advancer: the engine's, with the completion's
// counter readings taken from live data where the completer gave none (a
// ticket closed in the console).
func (in *inspector) advance(states map[string]tickets.InspectionState, c tickets.Completion) ([]tickets.InspectionState, []tickets.InspectionRecord, error) {
	if p := in.engine.Plan(c.Plan); p != nil {
		for _, cn := range p.Counters {
			if _, given := c.Counters[cn.Point]; given {
				continue
			}
			if v, ok := in.Counter(c.Device, cn.Point); ok {
				if c.Counters == nil {
					c.Counters = map[string]float64{}
				}
				c.Counters[cn.Point] = v
			}
		}
	}
	return in.engine.Advance(states, c)
}

// report turns a tick into status samples, and escalates the overdue
// inspections whose ticket is open (once per ticket and due date: the store
// remembers).
func (in *inspector) report(ctx context.Context, r *inspections.Result, err error) {
	a := in.a
	if err != nil {
		if !errors.Is(err, context.Canceled) && !tickets.NotOpen(err) {
			a.log.Warn("inspections: tick", "err", err)
		}
		return
	}
	for _, o := range r.Opened {
		if o.Created {
			a.log.Info("inspections: ticket opened", "plan", o.Plan, "device", o.Device, "ticket", o.Ticket.ID, "replaces", o.Replaces)
		}
	}
	states, err := a.tickets.InspectionStates(ctx, "")
	if err != nil {
		if !tickets.NotOpen(err) {
			a.log.Warn("inspections: states", "err", err)
		}
		return
	}
	now := a.now()
	var samples []drivers.Sample
	for _, st := range states {
		if in.engine.Plan(st.Plan) == nil {
			continue // a plan no longer configured
		}
		samples = append(samples, drivers.Sample{Time: now, Device: st.Device, Measurement: rules.InspectionMeasurement,
			Point: st.Plan, Value: drivers.String(st.Status)})
		if st.Status == tickets.InspectionOverdue && st.TicketID != 0 {
			due := st.Due()
			if in.escalated[st.TicketID].Equal(due) {
				continue
			}
			if _, err := a.tickets.RecordInspectionOverdue(ctx, st.TicketID, due); err != nil {
				if !errors.Is(err, context.Canceled) {
					a.log.Warn("inspections: overdue escalation", "plan", st.Plan, "device", st.Device, "ticket", st.TicketID, "err", err)
				}
				continue
			}
			if in.escalated == nil {
				in.escalated = map[int64]time.Time{}
			}
			in.escalated[st.TicketID] = due
		}
	}
	slices.SortFunc(samples, func(x, y drivers.Sample) int { return strings.Compare(x.Device, y.Device) })
	if len(samples) > 0 {
		a.ingest(ctx, samples)
	}
}

// counterUsage is the counters' average daily use over the last 30 days,
// read from InfluxDB every hour and answered from memory.
type counterUsage struct {
	mu  sync.RWMutex
	use map[string]map[string]float64 // device → point → units per day
}

// DailyUse implements inspections.Usage.
func (u *counterUsage) DailyUse(device, point string) (float64, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	v, ok := u.use[device][point]
	return v, ok
}

func (u *counterUsage) run(ctx context.Context, a *app, cfg *config.Config) {
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		a.log.Warn("inspections: counters' daily use unavailable", "err", err)
		return
	}
	defer q.Close()
	for {
		use, err := readDailyUse(ctx, q, cfg, a.now())
		if err != nil && ctx.Err() == nil {
			a.log.Warn("inspections: counters' daily use", "err", err)
		}
		if use != nil {
			u.mu.Lock()
			u.use = use
			u.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(usageEvery):
		}
	}
}

// readDailyUse reads the first and last value of every counter the plans
// watch over the 30 days before now: (last − first) ÷ days between them. A
// counter that went backwards in that span (a reset) gives no estimate
// rather than a wrong one; under a day of data gives none either.
//
// It asks InfluxQL for first() and last() per device, across measurements
// (a device's counter kept in two is one counter, the earliest first and
// the latest last): storage answers those selectors without reading every
// point, where 1.8's Flux decodes every point of the 30 days, and its
// first() after a group() took the first row of the merged table, which is
// not the earliest.
func readDailyUse(ctx context.Context, q *store.Querier, cfg *config.Config, now time.Time) (map[string]map[string]float64, error) {
	points := map[string]bool{}
	for _, p := range cfg.Inspections {
		for _, c := range p.Counters {
			points[c.Point] = true
		}
	}
	if len(points) == 0 {
		return nil, nil
	}
	span := fmt.Sprintf("time >= %d AND time < %d", now.Add(-30*24*time.Hour).UnixNano(), now.UnixNano())
	sorted := slices.Sorted(maps.Keys(points))
	var stmts []string
	for _, p := range sorted {
		for _, fn := range []string{"first", "last"} {
			stmts = append(stmts, fmt.Sprintf(`SELECT %s(%s) FROM /.*/ WHERE %s GROUP BY %s`, fn, store.InfluxQLIdent(p), span, store.InfluxQLIdent(store.DeviceTag)))
		}
	}
	type obs struct {
		t  time.Time
		v  float64
		ok bool
	}
	ends := map[[2]string][2]obs{} // device, point → first, last
	err := q.QueryInfluxQL(ctx, strings.Join(stmts, "; "), func(s store.InfluxQLSeries) error {
		if s.Statement < 0 || s.Statement >= len(stmts) {
			return fmt.Errorf("influxql answer for statement %d of %d", s.Statement, len(stmts))
		}
		dev, point, last := s.Tags[store.DeviceTag], sorted[s.Statement/2], s.Statement%2 == 1
		if dev == "" {
			return nil
		}
		for _, row := range s.Values {
			if len(row) < 2 {
				continue
			}
			t, ok1 := influxQLTime(row[0])
			v, ok2 := influxQLFloat(row[1])
			if !ok1 || !ok2 {
				continue // not a number: no counter
			}
			k := [2]string{dev, point}
			e := ends[k]
			i := 0
			if last {
				i = 1
			}
			if o := e[i]; !o.ok || (!last && t.Before(o.t)) || (last && t.After(o.t)) {
				e[i] = obs{t, v, true}
			}
			ends[k] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]float64{}
	for k, e := range ends {
		days := e[1].t.Sub(e[0].t).Hours() / 24
		if !e[0].ok || !e[1].ok || days < 1 || e[1].v < e[0].v {
			continue
		}
		if out[k[0]] == nil {
			out[k[0]] = map[string]float64{}
		}
		out[k[0]][k[1]] = (e[1].v - e[0].v) / days
	}
	return out, nil
}

// Inspections lists the plan × device pairs for the API, soonest due first.
func (a *app) Inspections(ctx context.Context, q web.InspectionQuery) ([]web.Inspection, error) {
	in := a.currentInspector()
	if in == nil {
		return nil, nil
	}
	states, err := a.tickets.InspectionStates(ctx, q.Device)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var out []web.Inspection
	for _, st := range states {
		v, ok := in.view(st)
		if !ok || (q.Plan != "" && st.Plan != q.Plan) || (q.Overdue && st.Status != tickets.InspectionOverdue) {
			continue
		}
		if q.DueWithin > 0 {
			if due := st.Due(); due.IsZero() || due.After(now.Add(q.DueWithin)) {
				continue
			}
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(x, y web.Inspection) int { return dueTime(x).Compare(dueTime(y)) })
	return out, nil
}

// dueTime is a pair's due time for sorting: undated pairs go last.
func dueTime(v web.Inspection) time.Time {
	if due := v.Due(); !due.IsZero() {
		return due
	}
	return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
}

// view joins a stored state with its plan; false for a plan no longer
// configured.
func (in *inspector) view(st tickets.InspectionState) (web.Inspection, bool) {
	p := in.engine.Plan(st.Plan)
	if p == nil {
		return web.Inspection{}, false
	}
	v := web.Inspection{ID: web.InspectionID(st.Plan, st.Device), InspectionState: st, Title: p.Description,
		Category: p.Ticket.Category, Interval: p.Interval(), Zone: p.Zone}
	if v.Title == "" {
		v.Title = p.Name
	}
	for _, d := range in.cfg.Devices {
		if d.ID == st.Device {
			v.Location = d.Location
		}
	}
	return v, true
}

// Inspection returns one pair and its history.
func (a *app) Inspection(ctx context.Context, plan, device string) (web.Inspection, []tickets.InspectionRecord, error) {
	in := a.currentInspector()
	if in == nil || in.engine.Plan(plan) == nil {
		return web.Inspection{}, nil, fmt.Errorf("no inspection plan %q: %w", plan, tickets.ErrNotFound)
	}
	states, err := a.tickets.InspectionStates(ctx, device)
	if err != nil {
		return web.Inspection{}, nil, err
	}
	for _, st := range states {
		if st.Plan == plan {
			v, _ := in.view(st)
			hist, err := a.tickets.InspectionHistory(ctx, tickets.InspectionFilter{Plan: plan, Device: device})
			return v, hist, err
		}
	}
	return web.Inspection{}, nil, fmt.Errorf("plan %q does not apply to device %q (or has not been evaluated yet): %w", plan, device, tickets.ErrNotFound)
}

// CompleteInspection records work done or skipped through the API.
func (a *app) CompleteInspection(ctx context.Context, c tickets.Completion) ([]tickets.InspectionRecord, error) {
	if a.currentInspector() == nil {
		return nil, fmt.Errorf("no inspection plans are configured: %w", tickets.ErrNotFound)
	}
	if c.At.IsZero() {
		c.At = a.now()
	}
	return a.tickets.CompleteInspection(ctx, c)
}

// Checklist returns an inspection ticket's checklist.
func (a *app) Checklist(ctx context.Context, ticketID int64) ([]tickets.ChecklistItem, error) {
	return a.tickets.Checklist(ctx, ticketID)
}

// AnswerItem records an answer to one checklist item.
func (a *app) AnswerItem(ctx context.Context, ticketID int64, index int, answer string, value *float64, note, actor string) (tickets.ChecklistItem, error) {
	return a.tickets.AnswerItem(ctx, ticketID, index, answer, value, note, actor)
}
