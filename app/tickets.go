package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/config"
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
	a.ticketQ = make(chan []tickets.Change, 256)
	wg.Go(func() { a.runTicketQueue(ctx) })
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
	wg       sync.WaitGroup
}

func (r *ticketRun) start(a *app, notifiers map[string]tickets.Notifier, interval time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(r.ctx)
	r.disp, r.cancel = a.tickets.Dispatcher(notifiers, r.log), cancel
	disp, done := r.disp, make(chan struct{})
	r.dispDone = done
	r.wg.Go(func() { a.runSLA(ctx, interval) })
	r.wg.Go(func() {
		defer close(done)
		disp.Run(ctx)
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
		return fmt.Errorf("tickets: database %s: changing it (from %s) needs a restart", got, want)
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

// queueTickets hands alert transitions to the ticket queue. It waits while
// the queue is full (the rules fall behind, storage does not), and drops
// them only when the run stops: the alert state is saved, and an alert
// still firing at the next start raises its ticket again.
func (a *app) queueTickets(ctx context.Context, cs []tickets.Change) {
	if len(cs) == 0 {
		return
	}
	if a.ticketQ == nil { // tests that build an app by hand
		a.applyTickets(ctx, cs)
		return
	}
	select {
	case a.ticketQ <- cs:
	case <-ctx.Done():
		a.log.Warn("stopping: alert transitions not recorded on tickets", "changes", len(cs))
	}
}

// runTicketQueue applies queued transitions, everything waiting at once in
// one transaction: an alert storm costs a few commits, not one per alert.
// A batch taken from the queue is applied whole even when ctx ends meanwhile.
func (a *app) runTicketQueue(ctx context.Context) {
	apply := context.WithoutCancel(ctx)
	for {
		select {
		case cs := <-a.ticketQ:
			a.applyTickets(apply, a.drainTickets(cs))
		case <-ctx.Done():
			// The generations have stopped: record what they queued.
			for {
				select {
				case cs := <-a.ticketQ:
					a.applyTickets(apply, a.drainTickets(cs))
				default:
					return
				}
			}
		}
	}
}

// drainTickets adds whatever else is queued to cs, up to maxTicketBatch.
func (a *app) drainTickets(cs []tickets.Change) []tickets.Change {
	for len(cs) < maxTicketBatch {
		select {
		case more := <-a.ticketQ:
			cs = append(cs, more...)
		default:
			return cs
		}
	}
	return cs
}

func (a *app) applyTickets(ctx context.Context, cs []tickets.Change) {
	start := time.Now()
	rs, err := a.tickets.Apply(ctx, cs)
	if err != nil && !errors.Is(err, context.Canceled) {
		a.log.Error("alert transitions not recorded on tickets", "changes", len(cs), "err", err)
	}
	opened := 0
	now := a.now()
	for i, r := range rs {
		switch {
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
