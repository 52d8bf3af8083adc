package app

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// energyCheckEvery is how often the meters are compared with their
// baselines: the detectors work on whole hours.
const energyCheckEvery = time.Hour

// energyLookback is the span the detectors step through at each check, and
// the gap between the training window's end and the refit: the last week is
// never training data, so a fault of the last days does not teach the
// baseline that it is normal.
const energyLookback = 7 * 24 * time.Hour

// energyRunner is one generation's energy monitoring: it fits the meters'
// baselines (at start when missing or stale, on the refit schedule and on
// demand), checks every meter against its baseline each hour with the
// energy rules' detectors, and reports each rule's outcome as samples that
// the rules engine turns into alerts (see rules/energy.go).
type energyRunner struct {
	a       *app
	cfg     *config.Config
	energy  *config.Energy
	q       *store.Querier
	usage   *usage.Engine
	store   *baselineStore
	handler http.Handler
	rules   []*rules.Rule // kind energy
	devices map[string]*rules.Device

	fitMu sync.Mutex // one fit at a time: scheduled, on demand
	mu    sync.RWMutex
	found []energyFound      // of the last check
	last  time.Time          // when the last check ran
	noted map[string]float64 // excess last written on each alert's ticket

	expected expectedState // where energy_expected is written up to (energy_expected.go)
}

// energyFound is one anomaly an energy rule found on a meter.
type energyFound struct {
	meter  *usage.Meter
	rule   *rules.Rule
	a      baseline.Anomaly
	active bool
	// cost is the excess at the tariff (see excessCost); ok false without one.
	cost energyCost
}

// energyCost is an excess priced at the tariff.
type energyCost struct {
	amount   float64
	currency string
	ok       bool
}

// excessCost prices an anomaly's excess at the tariffs: section's price of
// the meter's category, averaged over the anomaly's hours (a time-of-use
// tariff gives the mean of its bands over those hours). Without a tariff
// for the category there is no cost.
func (r *energyRunner) excessCost(m *usage.Meter, an baseline.Anomaly) energyCost {
	t := r.cfg.Tariffs
	if t == nil || t.Tariffs == nil || an.Excess <= 0 {
		return energyCost{}
	}
	end := an.End
	if !end.After(an.Start) {
		end = an.Start.Add(time.Hour)
	}
	var sum float64
	n := 0
	for h := an.Start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
		if _, p, ok := t.Price(m.Category, h, r.zone()); ok {
			sum += p
			n++
		}
	}
	if n == 0 {
		return energyCost{}
	}
	cur := t.Currency
	if cur == "" {
		cur = "CNY"
	}
	return energyCost{amount: an.Excess * sum / float64(n), currency: cur, ok: true}
}

// startEnergy starts the energy monitoring of cfg; without an energy
// section it does nothing.
func (a *app) startEnergy(ctx context.Context, cfg *config.Config, wg *sync.WaitGroup) error {
	if cfg.Energy == nil || cfg.Energy.Usage == nil {
		a.setEnergy(nil)
		return nil
	}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		return err
	}
	st, err := openBaselines(cfg.StateDir)
	if err != nil {
		a.log.Warn("energy: baselines not read", "err", err)
	}
	r := &energyRunner{a: a, cfg: cfg, energy: cfg.Energy, q: q, store: st, devices: map[string]*rules.Device{}}
	r.usage = usage.NewEngine(q, cfg.Energy.Usage)
	if !cfg.Energy.Rollup.Disabled {
		r.usage.UseRollup()
	}
	r.handler = usage.NewHandler(r.usage, cfg.Zone)
	for _, rl := range cfg.Rules {
		if rl.Kind == rules.KindEnergy && rl.Energy != nil {
			r.rules = append(r.rules, rl)
		}
	}
	for _, d := range cfg.RuleDevices() {
		r.devices[d.ID] = d
	}
	a.setEnergy(r)
	wg.Go(func() {
		defer q.Close()
		var rolls sync.WaitGroup
		rolls.Go(func() { r.runRollup(ctx) })
		r.run(ctx)
		rolls.Wait()
	})
	return nil
}

func (a *app) setEnergy(r *energyRunner) {
	a.energyMu.Lock()
	a.energy = r
	a.energyMu.Unlock()
}

func (a *app) currentEnergy() *energyRunner {
	a.energyMu.RLock()
	defer a.energyMu.RUnlock()
	return a.energy
}

// run fits what is missing or stale, checks, then checks every hour and
// refits on the schedule.
func (r *energyRunner) run(ctx context.Context) {
	r.fitStale(ctx, false)
	r.check(ctx)
	sched := r.energy.Baseline.Schedule
	refitAt := sched.Next(r.a.now())
	for {
		now := r.a.now()
		wake := now.Truncate(energyCheckEvery).Add(energyCheckEvery + time.Minute) // once the hour is in
		if refitAt.Before(wake) {
			wake = refitAt
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wake.Sub(now), time.Second)):
		}
		if now := r.a.now(); !now.Before(refitAt) {
			r.fitStale(ctx, true)
			refitAt = sched.Next(now)
		}
		r.check(ctx)
	}
}

// stale reports whether a meter's baseline must be fitted: none, of an
// older format, fitted for another device, point, model or window, or a
// scheduled refit has come since it was fitted.
func (r *energyRunner) stale(m *usage.Meter, b *storedBaseline, now time.Time) bool {
	if b == nil || b.Format < baselineFormat || b.Device != m.Device || b.Point != m.Point() || b.Kind != r.energy.ModelFor(m) ||
		b.Window != r.energy.Baseline.Window.String() || !b.Calendar.Equal(r.energy.Calendar) {
		return true
	}
	return !r.energy.Baseline.Schedule.Next(b.FittedAt).After(now)
}

// fitStale fits every stale baseline. On schedule, a meter with an active
// anomaly keeps its baseline: its fault must not become the norm.
func (r *energyRunner) fitStale(ctx context.Context, scheduled bool) {
	now := r.a.now()
	var todo []*usage.Meter
	for _, m := range r.usage.Meters() {
		b := r.store.get(m.ID)
		if !r.stale(m, b, now) {
			continue
		}
		if scheduled && b != nil && b.Kind == r.energy.ModelFor(m) && r.activeOn(m.ID) {
			r.a.log.Info("energy: baseline kept while an anomaly is active", "meter", m.ID)
			continue
		}
		todo = append(todo, m)
	}
	if len(todo) > 0 {
		r.fit(ctx, todo)
	}
}

func (r *energyRunner) activeOn(meter string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, f := range r.found {
		if f.active && f.meter.ID == meter {
			return true
		}
	}
	return false
}

// fit fits the baselines of meters and stores them, failures included (with
// their error), so that the API says why a meter has none.
func (r *energyRunner) fit(ctx context.Context, meters []*usage.Meter) []*storedBaseline {
	r.fitMu.Lock()
	defer r.fitMu.Unlock()
	now := r.a.now()
	loc := r.zone()
	l := now.Add(-energyLookback).In(loc)
	to := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	from := to.Add(-r.energy.Baseline.Window)
	var temps []baseline.TempReading
	var tempErr error
	if r.energy.Temperature != "" {
		temps, tempErr = r.temperatures(ctx, from, to)
	}
	var out []*storedBaseline
	for _, m := range meters {
		start := time.Now()
		b := &storedBaseline{Format: baselineFormat, Meter: m.ID, Device: m.Device, Point: m.Point(), Kind: r.energy.ModelFor(m),
			Window: r.energy.Baseline.Window.String(), FittedAt: now, From: from, To: to, Calendar: r.energy.Calendar}
		err := tempErr
		if err == nil {
			err = r.fitOne(ctx, b, m, temps)
		}
		if err != nil {
			b.Error = err.Error()
			r.a.log.Warn("energy: baseline not fitted", "meter", m.ID, "model", b.Kind, "err", err)
		} else {
			r.a.log.Info("energy: baseline fitted", "meter", m.ID, "model", b.Model.Model, "kind", b.Kind, "gate", b.Model.Gate.Name,
				"n", b.Model.N, "cvrmse", fmt.Sprintf("%.3f", b.Model.CVRMSE), "nmbe", fmt.Sprintf("%.4f", b.Model.NMBE),
				"fit_for_alarms", b.Model.FitForAlarms, "took", time.Since(start).Round(time.Millisecond))
		}
		out = append(out, b)
	}
	if err := r.store.put(out...); err != nil {
		r.a.log.Error("energy: baselines not saved", "err", err)
	}
	return out
}

func (r *energyRunner) zone() *time.Location {
	if r.cfg.Zone != nil {
		return r.cfg.Zone
	}
	return time.Local
}

// fitOne fits one meter's model over [b.From, b.To).
func (r *energyRunner) fitOne(ctx context.Context, b *storedBaseline, m *usage.Meter, temps []baseline.TempReading) error {
	fuel := fuelOf(m)
	loc := r.zone()
	iv := usage.Hour
	if fuel == baseline.Water && b.Kind == baseline.KindHourly {
		iv = usage.Quarter // the still quarter hours of the leak check
	}
	readings, err := r.readings(ctx, m, b.From, b.To, iv)
	if err != nil {
		return err
	}
	return b.fitOn(readings, temps, fuel, loc)
}

func fuelOf(m *usage.Meter) baseline.Fuel {
	switch m.Category {
	case usage.Water:
		return baseline.Water
	case usage.Gas:
		return baseline.Gas
	}
	return baseline.Electricity
}

// readings are a meter's consumption over [from, to) in slots of iv, from
// InfluxDB: a slot without readings is missing (NaN), never zero.
func (r *energyRunner) readings(ctx context.Context, m *usage.Meter, from, to time.Time, iv usage.Interval) ([]baseline.Reading, error) {
	rep, err := r.usage.Consumption(ctx, usage.Query{Meters: []string{m.ID}, From: from, To: to, Interval: iv, Zone: r.zone()})
	if err != nil {
		return nil, err
	}
	for _, u := range rep.Meters {
		if u.Meter != m.ID {
			continue
		}
		out := make([]baseline.Reading, len(u.Slots))
		for i, s := range u.Slots {
			out[i] = baseline.Reading{Start: s.Start, Usage: s.Amount}
			if s.Samples == 0 {
				out[i].Usage = math.NaN()
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("meter %q: no consumption in the answer", m.ID)
}

// temperatures are the hourly means of the weather point over [from, to),
// in °C; none is an error, since the models need them.
func (r *energyRunner) temperatures(ctx context.Context, from, to time.Time) ([]baseline.TempReading, error) {
	out, err := HourlyTemperatures(ctx, r.q, r.usage.Backend(), r.energy, from, to)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("temperature %s: no readings from %s to %s", r.energy.Temperature, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	return out, err
}

// HourlyTemperatures are the hourly means of the energy section's weather
// point over [from, to), each at its hour's start, computed in InfluxDB in
// the meters' query language (backend). The daemon and the energy report
// read them.
func HourlyTemperatures(ctx context.Context, q *store.Querier, backend usage.Backend, e *config.Energy, from, to time.Time) ([]baseline.TempReading, error) {
	var out []baseline.TempReading
	if backend == usage.FluxBackend {
		series, err := q.Aggregate(ctx, store.Selector{Measurement: e.TemperatureMeasurement, Device: e.TemperatureDevice, Field: e.TempPoint},
			from, to, time.Hour, store.AggMean)
		if err != nil {
			return nil, fmt.Errorf("temperature %s: %w", e.Temperature, err)
		}
		for _, s := range series {
			for _, p := range s.Points {
				out = append(out, baseline.TempReading{Time: p.Time.Add(-time.Hour), Temp: p.Value}) // window end → start
			}
		}
		return out, nil
	}
	query := fmt.Sprintf(`SELECT mean(%s) FROM %s WHERE "device" = %s AND time >= %d AND time < %d GROUP BY time(1h) fill(none)`,
		store.InfluxQLIdent(e.TempPoint), store.InfluxQLIdent(e.TemperatureMeasurement), store.InfluxQLString(e.TemperatureDevice),
		from.UnixNano(), to.UnixNano())
	err := q.QueryInfluxQL(ctx, query, func(s store.InfluxQLSeries) error {
		for _, row := range s.Values {
			if len(row) < 2 || row[1] == nil {
				continue
			}
			t, ok1 := influxQLTime(row[0])
			v, ok2 := influxQLFloat(row[1])
			if ok1 && ok2 {
				out = append(out, baseline.TempReading{Time: t, Temp: v})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("temperature %s: %w", e.Temperature, err)
	}
	return out, nil
}

// check runs every energy rule on every meter it matches, over the last
// energyLookback, and reports each outcome as samples.
func (r *energyRunner) check(ctx context.Context) {
	now := r.a.now()
	to := now.Truncate(time.Hour)
	from := to.Add(-energyLookback)
	var temps []baseline.TempReading
	if r.energy.Temperature != "" {
		var err error
		if temps, err = r.temperatures(ctx, from.Add(-time.Hour), to); err != nil {
			// The models predict nothing without temperature, so their
			// detectors find nothing; the leak checks still run.
			r.a.log.Warn("energy: no outdoor temperature; only the leak checks run", "err", err)
		}
	}
	var found []energyFound
	var samples []drivers.Sample
	excess := map[string]energyExcess{} // by alert fingerprint
	for _, m := range r.usage.Meters() {
		var mine []*rules.Rule
		for _, rl := range r.rules {
			if d := r.devices[m.Device]; d != nil && rl.Match.Matches(d) {
				mine = append(mine, rl)
			}
		}
		if len(mine) == 0 {
			continue
		}
		in, err := r.inputs(ctx, m, from, to, temps)
		if err != nil {
			r.a.log.Warn("energy: meter not checked", "meter", m.ID, "err", err)
			continue
		}
		b := r.store.get(m.ID)
		for _, rl := range mine {
			status, as := detect(rl, b, in)
			active := 0.0
			var cost energyCost
			for _, an := range as {
				f := energyFound{meter: m, rule: rl, a: an, active: an.Open, cost: r.excessCost(m, an)}
				if f.active && an.Excess > active {
					// Detectors of one rule may see one incident twice (a
					// leak's still quarters and its 24 h without a still
					// hour): the excess is the largest, not their sum.
					active, cost = an.Excess, f.cost
				}
				found = append(found, f)
			}
			if rl.Ticket != nil {
				excess[rules.Fingerprint(rl.Name, m.Device, rl.Labels)] = energyExcess{status == rules.EnergyAnomaly, active, m.OutUnit(), cost}
			}
			samples = append(samples,
				drivers.Sample{Time: now, Device: m.Device, Measurement: rules.EnergyMeasurement, Point: rl.Name, Value: drivers.String(status)},
				drivers.Sample{Time: now, Device: m.Device, Measurement: rules.EnergyMeasurement, Point: rl.Name + rules.EnergyExcessSuffix, Value: drivers.Float(active)})
		}
	}
	r.mu.Lock()
	r.found, r.last = found, now
	r.mu.Unlock()
	if len(samples) > 0 {
		r.a.ingest(ctx, samples)
	}
	r.publishExpected(now, temps)
	r.noteExcess(ctx, excess)
	r.reconcileTickets(ctx, excess, now)
}

// reconcileTickets records the resolution on each open energy ticket whose
// alert is still firing there but whose anomaly this check found gone. A
// restart that lost the alert (a power cut, a stale state file) leaves the
// engine no alert to resolve, so without this the ticket stayed open until
// the same anomaly came and went again. It runs after every check, the
// first at start, and, as the rule tickets' reconcile, only when the
// ticket queue is empty (it waits up to 30 s for that). A firing energy alert without a ticket is the
// rule tickets' reconcile's (reconcile.go): its alert is in the engine.
func (r *energyRunner) reconcileTickets(ctx context.Context, ex map[string]energyExcess, now time.Time) {
	a := r.a
	if a.tickets == nil {
		return
	}
	// At start the queue often still holds the restored alerts'
	// transitions: wait a little for it, rather than an hour.
	for wait := 0; a.journal != nil && a.journal.Len() > 0; wait++ {
		if wait == 120 {
			a.log.Warn("energy: tickets not compared with the check: the ticket queue is busy; trying again at the next")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	open, err := a.tickets.OpenKeys(qctx, tickets.SourceEnergy)
	if err != nil {
		if ctx.Err() == nil && !tickets.NotOpen(err) {
			a.log.Warn("energy: tickets not compared with the check; trying again at the next", "err", err)
		}
		return
	}
	var changes []tickets.Change
	for key, alertFiring := range open {
		if e, checked := ex[key]; checked && alertFiring && !e.active {
			a.log.Warn("energy: ticket of an anomaly that is over: recording the resolution", "key", key)
			changes = append(changes, tickets.Change{Alert: tickets.Alert{Key: key, At: now}, Resolved: true})
		}
	}
	a.queueTickets(ctx, changes)
}

// energyExcess is an energy rule's outcome on a meter, for its ticket.
type energyExcess struct {
	active bool
	excess float64
	unit   string
	cost   energyCost
}

// noteGrowth is how much an anomaly's excess must have grown since its
// ticket last heard of it to be written on the ticket again: the alert's
// occurrences follow every hour, the ticket's comments the figure that
// matters.
const noteGrowth = 1.25

// noteExcess writes the excess so far on the open ticket of each active
// energy alert, when it has grown by noteGrowth since the last note.
func (r *energyRunner) noteExcess(ctx context.Context, ex map[string]energyExcess) {
	r.mu.Lock()
	if r.noted == nil {
		r.noted = map[string]float64{}
	}
	var due []string
	for key, e := range ex {
		switch {
		case !e.active:
			delete(r.noted, key)
		case e.excess > 0 && e.excess >= noteGrowth*r.noted[key]:
			due = append(due, key)
		}
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return
	}
	open, err := r.a.tickets.List(ctx, tickets.Filter{Source: tickets.SourceEnergy, OpenOnly: true})
	if err != nil {
		if !tickets.NotOpen(err) {
			r.a.log.Warn("energy: tickets not read", "err", err)
		}
		return
	}
	byKey := map[string]int64{}
	for _, t := range open {
		byKey[t.Key] = t.ID
	}
	for _, key := range due {
		id, ok := byKey[key]
		if !ok {
			continue // not opened yet: the next check notes it
		}
		e := ex[key]
		note := fmt.Sprintf("Excess so far: %.4g %s above the baseline.", e.excess, e.unit)
		if e.cost.ok {
			note = fmt.Sprintf("Excess so far: %.4g %s above the baseline, %.2f %s at the tariff.", e.excess, e.unit, e.cost.amount, e.cost.currency)
		}
		if _, err := r.a.tickets.Comment(ctx, id, "energy", note); err != nil {
			r.a.log.Warn("energy: excess not noted on the ticket", "ticket", id, "err", err)
			continue
		}
		r.mu.Lock()
		r.noted[key] = e.excess
		r.mu.Unlock()
	}
}

// energyInputs are a meter's hours (and quarters, for water) of the span
// checked.
type energyInputs struct {
	fuel     baseline.Fuel
	loc      *time.Location
	hours    []baseline.Hour
	quarters []baseline.Reading
	days     []baseline.Day
	to       time.Time
}

func (r *energyRunner) inputs(ctx context.Context, m *usage.Meter, from, to time.Time, temps []baseline.TempReading) (*energyInputs, error) {
	in := &energyInputs{fuel: fuelOf(m), loc: r.zone(), to: to}
	iv := usage.Hour
	if in.fuel == baseline.Water {
		iv = usage.Quarter
	}
	readings, err := r.readings(ctx, m, from, to, iv)
	if err != nil {
		return nil, err
	}
	if iv == usage.Quarter {
		in.quarters = readings
	}
	in.hours = baseline.HourlyTable(readings, temps, in.fuel, in.loc, from, to)
	l := from.In(in.loc)
	dayFrom := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, in.loc)
	l = to.In(in.loc)
	dayTo := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, in.loc)
	if dayTo.After(dayFrom) {
		in.days = baseline.DailyTable(readings, temps, in.fuel, in.loc, dayFrom, dayTo)
	}
	return in, nil
}

// ticketSource is the ticket source of an alert's ticket.
func ticketSource(al rules.Alert) string {
	if al.Kind == rules.KindEnergy {
		return tickets.SourceEnergy
	}
	return tickets.SourceRule
}
