// Package app wires facilityd together: drivers feed samples to storage, live
// state and rules; rule transitions open tickets; the web server shows it all.
// daemon/main.go and tests start it the same way, through Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/handoff"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what the caller of Run provides besides the config.
type Options struct {
	Logger *slog.Logger
	// Reload, when it receives, reloads the config file (SIGHUP).
	Reload <-chan struct{}
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// InspectEvery is how often the inspection plans are evaluated
	// (default a minute); tests make it short.
	InspectEvery time.Duration
}

// TicketQueueFile is the journal of alert transitions on their way to
// tickets, in the state dir.
const TicketQueueFile = "ticket-queue.jsonl"

// TicketsPath returns the tickets database of a config.
func TicketsPath(cfg *config.Config) string {
	if cfg.Tickets.Database != "" {
		return cfg.Tickets.Database
	}
	return filepath.Join(cfg.StateDir, "tickets.db")
}

// app is one running facilityd.
type app struct {
	log           *slog.Logger
	now           func() time.Time
	writer        *store.Writer
	tickets       *tickets.Store
	journal       *handoff.Journal // alert transitions on their way to tickets (tickets.go)
	queueMetrics  ticketQueueMetrics
	reloadMetrics reloadMetrics
	rollup        rollupStats // energy_rollup.go
	live          *live
	reg           *prometheus.Registry // self metrics, served at /metrics

	mu      sync.RWMutex // guards cfg, engine view, poller
	cfg     *config.Config
	devTags map[string]map[string]string // InfluxDB tags by device id, of cfg
	alerts  []rules.Alert
	poller  *modbus.Poller
	mqtt    *mqttLink // nil without an mqtt section (mqtt.go)

	drivers       driverSet // kept across reloads that leave them unchanged (drivers.go)
	ingestMu      sync.Mutex
	rules         *ruleFeed // puts on their way to the running generation's rules (batch.go)
	ruleDrops     int
	ingestMetrics ingestMetrics
	ruleMetrics   ruleMetrics
	modbusMetrics modbusMetrics // poll durations (driver_metrics.go)

	// silences is the silences file, shared with the CLI; saved is the
	// alert state a stopped generation hands to the next (nil at start:
	// the first generation reads the state file).
	silences   *rules.SilenceStore
	saved      *rules.Snapshot
	prevEngine *rules.Engine // of the stopped generation, for the next to inherit

	ticketRun    *ticketRun // dispatcher and SLA checks, restarted on reload (tickets.go)
	inspector    *inspector // the running generation's inspection plans (inspections.go); guarded by mu
	inspectEvery time.Duration
	energyMu     sync.RWMutex
	energy       *energyRunner // the running generation's energy monitoring (energy.go)
	reports      *reportRunner // the scheduled reports and their archive (reports.go)
	startupFreed sync.Once     // releaseStartupMemory, after the first generation started (memory.go)
	settled      atomic.Int32  // page-outs done once the run settled (memory.go)
	settledBytes atomic.Int64  // the bytes of the executable those page-outs advised
}

// Run runs facilityd until ctx is done. Storage, tickets and the web server
// live for the whole run; devices and rules are rebuilt on each reload, and a
// config that fails to load keeps the old one running.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	err := run(ctx, cfg, opts)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // stopped while starting: a clean stop, not a failure
	}
	return err
}

func run(ctx context.Context, cfg *config.Config, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InspectEvery <= 0 {
		opts.InspectEvery = inspectEvery
	}
	a := &app{log: opts.Logger, now: opts.Now, inspectEvery: opts.InspectEvery, live: newLive(), silences: rules.NewSilenceStore(SilencesPath(cfg))}
	a.setConfig(cfg)
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	release, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return err
	}
	defer release()
	a.releaseLoadMemory()
	// A PostgreSQL server that cannot be reached does not stop the daemon:
	// the store opens in the background while transitions wait in the
	// ticket queue (TicketStoreHealth says how it goes).
	a.tickets, err = tickets.OpenWaiting(ctx, TicketsPath(cfg), cfg.Tickets, opts.Now, a.log.With("component", "tickets"))
	if err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	defer a.tickets.Close()
	a.reg = newRegistry(a)
	var skipped int
	if a.journal, skipped, err = handoff.Open(filepath.Join(cfg.StateDir, TicketQueueFile)); err != nil {
		return err
	}
	defer a.journal.Close()
	if skipped > 0 {
		a.log.Error("ticket queue: unreadable lines skipped", "lines", skipped)
	}
	if n := a.journal.Len(); n > 0 {
		a.log.Info("ticket queue: alert transitions from the last run to record", "changes", n)
	}
	stopQueue := make(chan struct{})
	queueDone := make(chan struct{})
	go func() {
		defer close(queueDone)
		a.runTicketQueue(stopQueue)
	}()
	// After every generation has stopped: the queue drains, bounded, before
	// the ticket database closes.
	defer func() {
		close(stopQueue)
		<-queueDone
	}()
	a.writer, err = store.NewWriter(cfg.InfluxDB, store.WriterOptions{Tags: a.tags, Logger: a.log.With("component", "influxdb"),
		SpoolDir: filepath.Join(cfg.StateDir, "spool"), Registerer: a.reg})
	if err != nil {
		return fmt.Errorf("influxdb: %w", err)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		if err := a.writer.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("influxdb writer stopped", "err", err)
		}
	})
	if err := a.startTickets(ctx, &wg); err != nil {
		return err
	}
	if err := a.startMQTTBroker(ctx, &wg); err != nil {
		return err
	}
	a.rules = newRuleFeed(ruleFeedMax)
	a.drivers.ctx = ctx
	defer a.stopDrivers() // after the last generation, before the run's goroutines are waited for
	if err := a.startReports(ctx, &wg); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if err := a.startHTTP(ctx, &wg); err != nil {
		return err
	}
	if err := a.startPprof(ctx, &wg); err != nil {
		return fmt.Errorf("pprof: %w", err)
	}

	for {
		genCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.runGeneration(genCtx) }()
		next, err := a.waitReload(ctx, opts.Reload, done)
		stop()
		if next == nil {
			<-done
			if err == nil {
				a.log.Info("stopped")
			}
			return err
		}
		<-done
		a.setConfig(next)
		a.log.Info("config reloaded", "devices", len(next.Devices), "rules", len(next.Rules))
	}
}

// waitReload waits while a generation runs. It returns the next config when
// a reload request brings a valid one; a config that fails to load is logged
// and the running generation goes on untouched. It returns nil when ctx is
// done, or with the error that stopped the generation.
func (a *app) waitReload(ctx context.Context, reload <-chan struct{}, done <-chan error) (*config.Config, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case err := <-done:
			return nil, err
		case <-reload:
			next, err := a.loadForReload()
			a.reloadMetrics.record(err == nil, a.now())
			if err != nil {
				a.log.Error("reload failed; keeping the running config", "err", err)
				continue
			}
			return next, nil
		}
	}
}

// loadForReload loads and checks the config file for a reload. A panic
// anywhere in it is an error like any other: the running config stays.
func (a *app) loadForReload() (next *config.Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			next, err = nil, fmt.Errorf("config %s: internal error while loading (please report it): %v", a.current().Path, p)
		}
	}()
	next, err = config.Load(a.current().Path)
	if err == nil {
		err = a.reloadTickets(next) // checks everything first; on error nothing changed
	}
	return next, err
}

func (a *app) current() *config.Config {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.cfg
}

// setConfig makes cfg the running config, with its index of device tags.
func (a *app) setConfig(cfg *config.Config) {
	cfg.DropPositions() // checked already; nothing places errors in it any more
	tags := cfg.DeviceTags()
	a.mu.Lock()
	a.cfg, a.devTags = cfg, tags
	a.mu.Unlock()
}

// tags returns the InfluxDB tags of a device: site, then its own tags. The
// writer copies them; they must not be changed.
func (a *app) tags(device string) map[string]string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if t, ok := a.devTags[device]; ok {
		return t
	}
	return map[string]string{"site": a.cfg.Site}
}

// runGeneration evaluates the rules of one config generation, after
// starting the drivers it needs (or keeping them, when unchanged).
func (a *app) runGeneration(ctx context.Context) error {
	cfg := a.current()
	alerts, err := a.newAlerter(ctx, cfg)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	defer alerts.stop()
	if err := a.startDrivers(cfg); err != nil {
		return fmt.Errorf("drivers: %w", err)
	}
	var insp sync.WaitGroup
	defer insp.Wait()
	inspCtx, stopInsp := context.WithCancel(ctx)
	defer stopInsp()
	if err := a.startInspections(inspCtx, cfg, &insp); err != nil {
		return fmt.Errorf("inspections: %w", err)
	}
	if err := a.startEnergy(inspCtx, cfg, &insp); err != nil {
		return fmt.Errorf("energy: %w", err)
	}
	a.startupFreed.Do(a.releaseStartupMemory)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.rules.ready:
			if b := a.rules.take(); len(b) > 0 {
				alerts.observe(ctx, b)
			}
		case <-tick.C:
			alerts.tick(ctx)
		}
	}
}
