package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// AlertsMeasurement is the InfluxDB measurement of alert state changes: one
// field per rule holding the new state (pending, firing, resolved,
// inactive) and <rule>_severity, tagged with the device (or "gateway ADDR").
const AlertsMeasurement = "alerts"

// saveEvery is how often the alert state is saved while alerts are active,
// besides on every change: a crash loses at most this much pending time.
const saveEvery = 10 * time.Second

// StatePath returns the alert state file of a config.
func StatePath(cfg *config.Config) string { return filepath.Join(cfg.StateDir, rules.StateFile) }

// SilencesPath returns the silences file of a config.
func SilencesPath(cfg *config.Config) string { return filepath.Join(cfg.StateDir, rules.SilencesFile) }

// alerter owns the rules engine of one generation: it feeds it, hands its
// transitions to tickets and InfluxDB, and keeps its state on disk. Only the
// generation's goroutine calls it.
type alerter struct {
	a         *app
	engine    *rules.Engine
	statePath string
	stamp     string // of the silences file last loaded
	lastSave  time.Time
	// lastReconcile is when alerts and open tickets were last compared.
	lastReconcile time.Time

	// history brings the window history read at start (see backfill);
	// stopBackfill cancels the read, and backfills waits for it.
	history      chan []drivers.Sample
	stopBackfill context.CancelFunc
	backfills    sync.WaitGroup
}

// newAlerter builds the engine of cfg and restores the alert state: the
// previous generation's on reload, the state file at start. At start, the
// alerts that were firing are announced again (tickets add an occurrence,
// never a second ticket); on reload they are not.
func (a *app) newAlerter(ctx context.Context, cfg *config.Config) (*alerter, error) {
	engine, err := rules.NewEngine(cfg.RuleSet(), engineDevices(cfg), rules.Options{})
	if err != nil {
		return nil, err
	}
	al := &alerter{a: a, engine: engine, statePath: StatePath(cfg), history: make(chan []drivers.Sample, 1),
		stopBackfill: func() {}}
	al.loadSilences(true)
	snap, reannounce := a.saved, false
	if snap == nil {
		s, err := rules.ReadSnapshot(al.statePath)
		if err != nil {
			// Keep the unreadable file for a post-mortem; the next save
			// would overwrite it.
			aside := al.statePath + ".unreadable"
			a.log.Error("alert state not restored; starting with none", "err", err, "kept_as", aside)
			os.Rename(al.statePath, aside)
		}
		snap, reannounce = &s, true
	}
	engine.Inherit(a.prevEngine) // on reload: windows, values and no-data clocks of the devices kept
	a.prevEngine = nil
	ts, dropped := engine.Restore(*snap, a.now(), reannounce)
	if n := len(snap.Alerts); n > 0 {
		a.log.Info("alert state restored", "alerts", n-dropped, "dropped", dropped, "saved_at", snap.SavedAt)
	}
	al.handle(ctx, ts)
	// At start the windows fill from InfluxDB; on reload they carry over,
	// and history fills only what they do not hold (new rules' windows).
	al.backfill(ctx, cfg)
	return al, nil
}

// backfillTimeout bounds the read of window history at start.
const backfillTimeout = time.Minute

// backfill reads, on its own goroutine, the history the rules' window
// functions need (the longest window of each point read in avg, min, max,
// delta, rate or changes) from InfluxDB; the next tick puts it into the
// windows. Startup does not wait for it: with InfluxDB down it logs and the
// windows fill from live samples as before.
func (al *alerter) backfill(ctx context.Context, cfg *config.Config) {
	needs := al.engine.WindowNeeds()
	if len(needs) == 0 {
		return
	}
	now := al.a.now()
	ctx, cancel := context.WithTimeout(ctx, backfillTimeout)
	al.stopBackfill = cancel
	al.backfills.Go(func() {
		defer cancel()
		q, err := store.NewQuerier(cfg.InfluxDB)
		if err != nil {
			al.a.log.Warn("window history not read; windows fill from live samples", "err", err)
			return
		}
		defer q.Close()
		samples, err := rules.FetchHistory(ctx, storeHistory{q}, needs, now)
		if err != nil {
			al.a.log.Warn("window history not read in full; windows fill from live samples", "err", err, "read", len(samples))
		}
		if len(samples) > 0 {
			al.history <- samples // buffered for this one send
		}
	})
}

// observe evaluates the samples of one poll.
func (al *alerter) observe(ctx context.Context, samples []drivers.Sample) {
	start := time.Now()
	ts := al.engine.Observe(samples)
	al.a.ruleMetrics.observe("samples", start)
	al.handle(ctx, ts)
}

// tick evaluates timers, reloads changed silences and saves the state now
// and then.
func (al *alerter) tick(ctx context.Context) {
	select {
	case samples := <-al.history:
		n := al.engine.Backfill(samples)
		al.a.log.Info("window history read from InfluxDB", "samples", n, "read", len(samples))
	default:
	}
	al.loadSilences(false)
	now := al.a.now()
	start := time.Now()
	ts := al.engine.Eval(now)
	al.a.ruleMetrics.observe("clock", start)
	al.handle(ctx, ts)
	if now.Sub(al.lastReconcile) >= reconcileEvery {
		al.reconcile(ctx, now)
	}
	al.publish()
	if now.Sub(al.lastSave) >= saveEvery && len(al.a.alertsView()) > 0 {
		al.save()
	}
}

// stop saves the state for the next generation and the next start.
func (al *alerter) stop() {
	al.stopBackfill()
	al.backfills.Wait()
	snap := al.engine.Snapshot()
	al.a.saved = &snap
	al.a.prevEngine = al.engine
	al.save()
}

func (al *alerter) save() {
	al.lastSave = al.a.now()
	if err := rules.WriteSnapshot(al.statePath, al.engine.Snapshot()); err != nil {
		al.a.log.Error("alert state not saved", "err", err)
	}
}

// loadSilences gives the engine the silences file when it changed.
func (al *alerter) loadSilences(force bool) {
	stamp := al.a.silences.Stamp()
	if !force && stamp == al.stamp {
		return
	}
	list, err := al.a.silences.List()
	if err != nil {
		al.a.log.Error("silences not loaded; keeping the previous ones", "err", err)
		return
	}
	al.stamp = stamp
	al.engine.SetSilences(list)
}

// handle records transitions in InfluxDB, turns those receivers must hear
// of into ticket changes, and saves the state when anything changed.
func (al *alerter) handle(ctx context.Context, ts []rules.Transition) {
	if len(ts) == 0 {
		return
	}
	a := al.a
	var samples []drivers.Sample
	var changes []tickets.Change
	for _, t := range ts {
		al := t.Alert
		a.log.Info("alert", "rule", al.Rule, "subject", al.Subject(), "from", t.From.String(), "to", t.To.String(),
			"severity", al.Severity, "notify", t.Notify, "silenced_by", al.SilencedBy, "inhibited_by", al.InhibitedBy)
		if t.From != t.To {
			samples = append(samples,
				drivers.Sample{Time: t.At, Device: al.Subject(), Measurement: AlertsMeasurement, Point: al.Rule, Value: drivers.String(t.To.String())},
				drivers.Sample{Time: t.At, Device: al.Subject(), Measurement: AlertsMeasurement, Point: al.Rule + "_severity", Value: drivers.String(string(al.Severity))})
		}
		if !t.Notify || (al.Ticket == nil && !t.Removed) {
			continue
		}
		switch {
		case t.To == rules.Firing:
			changes = append(changes, tickets.Change{Alert: ticketFor(al, t.At)})
		case t.Resolved():
			changes = append(changes, tickets.Change{Alert: tickets.Alert{Key: al.Fingerprint, At: t.At}, Resolved: true})
		}
	}
	a.queueTickets(ctx, changes) // in one batch: see tickets.go
	a.publishTransitions(ts)     // to MQTT, when configured: see mqtt.go
	if len(samples) > 0 {
		a.writer.Put(ctx, samples)
	}
	al.publish()
	al.save()
}

// publish updates the alerts the API shows.
func (al *alerter) publish() {
	alerts := al.engine.Alerts()
	al.a.mu.Lock()
	al.a.alerts = alerts
	al.a.mu.Unlock()
}

func (a *app) alertsView() []rules.Alert {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.alerts
}

func ticketFor(al rules.Alert, at time.Time) tickets.Alert {
	title := al.Annotations["summary"]
	if title == "" {
		title = al.Rule
	}
	desc := al.Annotations["description"]
	if desc == "" {
		desc = fmt.Sprintf("Rule %s fired on %s (%s) at %s.", al.Rule, al.Subject(), al.Severity, at.Format(time.RFC3339))
	}
	return tickets.Alert{
		Key:         al.Fingerprint,
		Title:       fmt.Sprintf("%s: %s", al.Subject(), title),
		Description: desc,
		Device:      al.Device,
		Location:    al.Location,
		Category:    al.Ticket.Category,
		Priority:    al.Ticket.Priority,
		Source:      ticketSource(al), // energy.go
		At:          at,
	}
}

// storeHistory adapts store.Querier to the history the rules read.
type storeHistory struct{ q *store.Querier }

// PointHistory implements rules.History.
func (h storeHistory) PointHistory(ctx context.Context, measurement, point string, start, stop time.Time) ([]rules.HistorySample, error) {
	series, err := h.q.Series(ctx, store.Selector{Measurement: measurement, Field: point}, start, stop)
	var out []rules.HistorySample
	for _, s := range series {
		for _, p := range s.Points {
			out = append(out, rules.HistorySample{Device: s.Device, Time: p.Time, Value: p.Value})
		}
	}
	return out, err
}
