package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/retry"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/notify"
)

// maxTicketBatch bounds one tickets transaction, so that people's changes
// through the API wait at most that long for the write lock in a storm.
const maxTicketBatch = 5000

// startTickets starts, for the whole run, the goroutines of the ticket
// side: the queue that turns alert transitions into ticket changes in
// batches, the SLA checks, and the outbox dispatcher. wg waits for them.
// A reload (reloadTickets) restarts the SLA checks and the dispatcher.
func (a *app) startTickets(ctx context.Context, wg *sync.WaitGroup) error {
	cfg := a.current().Tickets
	notifiers, err := notify.Build(cfg.Receivers)
	if err != nil {
		return err
	}
	if a.reg != nil {
		a.reg.MustRegister(outboxCollector{a.tickets})
	}
	a.queueMetrics = newTicketQueueMetrics(a)
	a.ticketRun = &ticketRun{ctx: ctx, log: a.log.With("component", "tickets")}
	a.ticketRun.start(a, notifiers, cfg.CheckInterval())
	wg.Go(func() {
		<-ctx.Done()
		a.ticketRun.stop()
	})
	return nil
}

// ticketRun is the part of the ticket side that follows the config: the
// outbox dispatcher of the configured receivers and the SLA checks.
type ticketRun struct {
	ctx context.Context // the run's
	log *slog.Logger

	mu       sync.Mutex
	disp     *tickets.Dispatcher
	dispDone chan struct{}      // closed when disp.Run returned
	cancel   context.CancelFunc // of the SLA checks and, on shutdown, deliveries
	quit     chan struct{}      // closed by stop
	wg       sync.WaitGroup
}

func (r *ticketRun) start(a *app, notifiers map[string]tickets.Notifier, interval time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(r.ctx)
	r.disp, r.cancel = a.tickets.Dispatcher(notifiers, r.log), cancel
	disp, done := r.disp, make(chan struct{})
	r.dispDone = done
	quit := make(chan struct{})
	r.quit = quit
	r.wg.Go(func() {
		if waitOpen(a.tickets, ctx.Done(), quit) {
			a.runSLA(ctx, interval)
		}
	})
	r.wg.Go(func() {
		defer close(done)
		if waitOpen(a.tickets, ctx.Done(), quit) {
			disp.Run(ctx)
		}
	})
	if len(notifiers) > 0 {
		r.log.Info("notifying receivers", "receivers", len(notifiers))
	}
}

// stop stops the dispatcher between deliveries (see Dispatcher.Stop) and
// the SLA checks, and waits for them.
func (r *ticketRun) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.disp == nil {
		return
	}
	close(r.quit) // a run still waiting for the database to open gives up
	r.disp.Stop()
	<-r.dispDone // the dispatcher returns once its deliveries in flight are recorded
	r.cancel()
	r.wg.Wait()
	r.disp, r.cancel = nil, nil
}

// reloadTickets applies the tickets section of a reloaded config: SLA
// limits, policies, escalation and receivers. Everything is checked first
// (the section, and every receiver built with its secrets); on error
// nothing changes and the old section keeps running. Then the store swaps
// its config, and the dispatcher is restarted for the new receivers: the
// outbox is in the database, so a notification queued before the reload is
// delivered once, by the old dispatcher or the new one. The database file
// itself changes only on restart.
func (a *app) reloadTickets(next *config.Config) error {
	if got, want := TicketsPath(next), a.tickets.Path(); got != want {
		// A postgres:// URL may hold a password: never in an error.
		return fmt.Errorf("tickets: database %s: changing it (from %s) needs a restart", redact.URL(got), redact.URL(want))
	}
	if err := next.Tickets.Validate(); err != nil {
		return err
	}
	notifiers, err := notify.Build(next.Tickets.Receivers)
	if err != nil {
		closeNotifiers(notifiers)
		return err
	}
	if err := a.tickets.Reconfigure(next.Tickets); err != nil {
		closeNotifiers(notifiers)
		return err
	}
	if a.ticketRun == nil { // tests that build an app by hand
		closeNotifiers(notifiers)
		return nil
	}
	a.ticketRun.stop()
	a.ticketRun.start(a, notifiers, next.Tickets.CheckInterval())
	a.log.Info("tickets config reloaded", "receivers", len(notifiers), "sla", len(next.Tickets.SLA))
	return nil
}

func closeNotifiers(ns map[string]tickets.Notifier) {
	for _, n := range ns {
		if c, ok := n.(io.Closer); ok {
			c.Close()
		}
	}
}

// queueTickets hands alert transitions to the ticket queue: it appends
// them to the journal (state_dir/ticket-queue.jsonl) before the engine goes
// on, so neither a ticket database that refuses writes nor a crash nor a
// stop loses one. A journal that cannot be written (disk full) keeps the
// changes in memory, counted and logged: they still reach tickets unless
// the process dies first, and an alert still firing at the next start
// raises its ticket again.
func (a *app) queueTickets(_ context.Context, cs []tickets.Change) {
	if len(cs) == 0 {
		return
	}
	if a.journal == nil { // tests that build an app by hand
		a.applyTickets(context.Background(), cs)
		return
	}
	if err := a.journal.Append(cs); err != nil {
		a.queueMetrics.journalErrors.Inc()
		a.log.Error("ticket queue: journal not written; changes kept in memory", "changes", len(cs), "err", err)
	}
}

// Back-off of the ticket queue while the database refuses changes.
const (
	ticketRetryMin = 250 * time.Millisecond
	ticketRetryMax = 30 * time.Second
	// ticketApplyTimeout bounds one attempt, beyond SQLite's busy timeout.
	ticketApplyTimeout = time.Minute
	// ticketDrainFor bounds how long a stopping daemon keeps applying
	// queued changes after the last rule generation stopped; what is left
	// stays in the journal for the next start.
	ticketDrainFor = 10 * time.Second
)

// ticketQueueMetrics count the ticket queue's trouble.
type ticketQueueMetrics struct {
	failing       *atomic.Bool // the last batch failed to apply
	applyFailures prometheus.Counter
	journalErrors prometheus.Counter
}

func newTicketQueueMetrics(a *app) ticketQueueMetrics {
	m := ticketQueueMetrics{
		failing: new(atomic.Bool),
		applyFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "facilityd_ticket_apply_failures_total",
			Help: "Attempts to record queued alert transitions on tickets that failed (each is retried)."}),
		journalErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "facilityd_ticket_queue_journal_errors_total",
			Help: "Alert transitions that could not be written to the ticket queue's journal (kept in memory)."}),
	}
	if a.reg != nil {
		a.reg.MustRegister(m.applyFailures, m.journalErrors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facilityd_ticket_queue_pending", Help: "Alert transitions waiting to be recorded on tickets.",
		}, func() float64 { return float64(a.journal.Len()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facilityd_tickets_store_open",
			Help: "1 once the ticket store reached its database; 0 while a PostgreSQL server is still being tried.",
		}, func() float64 {
			if a.tickets.State().Open {
				return 1
			}
			return 0
		}))
	}
	return m
}

// runTicketQueue applies the journal's changes, everything waiting at once
// (up to maxTicketBatch) in one transaction: an alert storm costs a few
// commits, not one per alert. A batch is marked done only after it
// committed; a failure is retried with back-off, the batch staying first in
// line. It runs until stop is closed (after the last rule generation
// stopped), then drains for at most ticketDrainFor.
func (a *app) runTicketQueue(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failures := 0
	var again <-chan time.Time
	// Until the store reaches its database (OpenWaiting) nothing is tried:
	// the transitions wait in the journal, and the opener does the logging.
	if !waitOpen(a.tickets, stop, nil) {
		if a.journal.Len() > 0 {
			a.log.Warn("stopping before the ticket database was reached: alert transitions left in the ticket queue for the next start",
				"changes", a.journal.Len())
		}
		return
	}
	for {
		cs := a.journal.Peek(maxTicketBatch)
		if len(cs) == 0 || again != nil {
			if len(cs) == 0 && stop == nil {
				return // stopping, and nothing left
			}
			select {
			case <-a.journal.Wake():
			case <-again:
				again = nil
			case <-stop:
				stop = nil
				defer time.AfterFunc(ticketDrainFor, cancel).Stop()
			case <-ctx.Done():
				a.log.Warn("stopping: alert transitions left in the ticket queue for the next start", "changes", a.journal.Len())
				return
			}
			continue
		}
		if ctx.Err() != nil {
			a.log.Warn("stopping: alert transitions left in the ticket queue for the next start", "changes", len(cs))
			return
		}
		if err := a.journal.Sync(); err != nil {
			a.log.Warn("ticket queue: journal not synced", "err", err)
		}
		if !a.applyTickets(ctx, cs) {
			failures++
			a.queueMetrics.failing.Store(true)
			a.queueMetrics.applyFailures.Inc()
			again = time.After(retry.Backoff(failures, ticketRetryMin, ticketRetryMax))
			continue
		}
		if failures > 0 {
			a.log.Info("ticket queue: tickets accept changes again", "after_failures", failures)
		}
		failures = 0
		a.queueMetrics.failing.Store(false)
		if err := a.journal.Done(len(cs)); err != nil {
			a.log.Warn("ticket queue: done not recorded; the changes will be skipped by id when replayed", "err", err)
		}
	}
}

// applyTickets records cs on tickets and reports whether they are done
// with: applied, or malformed (logged; retrying would not help).
func (a *app) applyTickets(ctx context.Context, cs []tickets.Change) bool {
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, ticketApplyTimeout)
	rs, err := a.tickets.Apply(actx, cs)
	cancel()
	if rs == nil {
		if ctx.Err() == nil {
			a.log.Error("alert transitions not recorded on tickets yet; retrying", "changes", len(cs), "err", err)
		}
		return false
	}
	if err != nil {
		a.log.Error("malformed alert transitions not recorded on tickets", "changes", len(cs), "err", err)
	}
	opened := 0
	now := a.now()
	for i, r := range rs {
		switch {
		case r.Duplicate:
			a.log.Debug("ticket change applied before; skipped", "id", cs[i].ID)
		case r.Created:
			opened++
			a.log.Info("ticket opened", "id", r.Ticket.ID, "title", r.Ticket.Title, "priority", r.Ticket.Priority)
			a.publishTicket(r.Ticket, "opened", now)
		case r.Reopened:
			a.log.Info("ticket reopened", "id", r.Ticket.ID, "title", r.Ticket.Title)
			a.publishTicket(r.Ticket, "reopened", now)
		case r.Ticket.ID != 0 && cs[i].Resolved:
			a.publishTicket(r.Ticket, "alert_resolved", now)
		case r.Ticket.ID != 0:
			a.log.Debug("ticket occurrence", "id", r.Ticket.ID, "occurrences", r.Ticket.Occurrences)
			a.publishTicket(r.Ticket, "occurrence", now)
		}
	}
	if len(cs) > 100 {
		a.log.Info("alert storm recorded on tickets", "changes", len(cs), "opened", opened, "took", time.Since(start))
	}
	return true
}

// runSLA looks for missed deadlines now and every interval.
func (a *app) runSLA(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		bs, err := a.tickets.CheckSLA(ctx, a.now())
		if err != nil && ctx.Err() == nil {
			a.log.Error("SLA check failed", "err", err)
		}
		for _, b := range bs {
			a.log.Warn("ticket missed its SLA", "id", b.TicketID, "deadline", fmt.Sprintf("%s-by", b.Kind),
				"was_due", b.Deadline, "priority", b.Priority)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// outboxCollector exports the outbox per receiver: what waits, and since
// when, is what tells that a receiver is down.
type outboxCollector struct{ st *tickets.Store }

var (
	outboxPending = prometheus.NewDesc("facilityd_tickets_outbox_pending",
		"Ticket notifications waiting for delivery.", []string{"receiver"}, nil)
	outboxOldest = prometheus.NewDesc("facilityd_tickets_outbox_oldest_pending_seconds",
		"Age of the oldest notification waiting for delivery (0: none).", []string{"receiver"}, nil)
	outboxDropped = prometheus.NewDesc("facilityd_tickets_outbox_dropped",
		"Notifications given up: rejected by the receiver or undelivered for too long.", []string{"receiver"}, nil)
)

// Describe implements prometheus.Collector.
func (outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPending
	ch <- outboxOldest
	ch <- outboxDropped
}

// Collect implements prometheus.Collector: one query per scrape.
func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !c.st.State().Open {
		return // not reached yet: facilityd_tickets_store_open says so
	}
	states, err := c.st.Outbox(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxPending, err)
		return
	}
	for _, o := range states {
		age := 0.0
		if !o.Oldest.IsZero() {
			age = time.Since(o.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(outboxPending, prometheus.GaugeValue, float64(o.Pending), o.Receiver)
		ch <- prometheus.MustNewConstMetric(outboxOldest, prometheus.GaugeValue, age, o.Receiver)
		ch <- prometheus.MustNewConstMetric(outboxDropped, prometheus.GaugeValue, float64(o.Dropped), o.Receiver)
	}
}

// waitOpen waits until st is open, and reports whether it is; false when
// stop or done (either may be nil) closes first. A store opened by Open is
// open at once.
func waitOpen(st *tickets.Store, stop, done <-chan struct{}) bool {
	select {
	case <-st.Ready():
		return true
	case <-stop:
		return false
	case <-done:
		return false
	}
}

// ticketStoreHealth is the ticket side's part of /healthz: whether the
// store reached its database, whether the queue's last batch failed, and
// how many transitions wait. ok is false in either trouble.
func (a *app) ticketStoreHealth() (h map[string]any, ok bool) {
	st := a.tickets.State()
	h = map[string]any{"database": a.tickets.Name(), "open": st.Open}
	state := "ok"
	switch {
	case !st.Open:
		state = "connecting"
		h["attempts"], h["error"], h["since"] = st.Attempts, st.Error, st.Since
	case a.queueMetrics.failing != nil && a.queueMetrics.failing.Load():
		state = "retrying"
	}
	h["state"] = state
	if a.journal != nil {
		h["queue_pending"] = a.journal.Len()
	}
	return h, state == "ok"
}
