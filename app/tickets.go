package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/notify"
)

// maxTicketBatch bounds one tickets transaction, so that people's changes
// through the API wait at most that long for the write lock in a storm.
const maxTicketBatch = 5000

// startTickets starts, for the whole run, the goroutines of the ticket
// side: the queue that turns alert transitions into ticket changes in
// batches, the SLA checks, and the outbox dispatcher. wg waits for them.
func (a *app) startTickets(ctx context.Context, wg *sync.WaitGroup) error {
	cfg := a.current().Tickets
	notifiers, err := notify.Build(cfg.Receivers)
	if err != nil {
		return err
	}
	log := a.log.With("component", "tickets")
	a.ticketQ = make(chan []tickets.Change, 256)
	wg.Go(func() { a.runTicketQueue(ctx) })
	wg.Go(func() { a.runSLA(ctx, cfg.CheckInterval()) })
	wg.Go(func() { a.tickets.Dispatcher(notifiers, log).Run(ctx) })
	if len(notifiers) > 0 {
		log.Info("notifying receivers", "receivers", len(notifiers))
	}
	return nil
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
func (a *app) runTicketQueue(ctx context.Context) {
	for {
		select {
		case cs := <-a.ticketQ:
			a.applyTickets(ctx, a.drainTickets(cs))
		case <-ctx.Done():
			// The generations have stopped: record what they queued.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for {
				select {
				case cs := <-a.ticketQ:
					a.applyTickets(dctx, a.drainTickets(cs))
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
	for i, r := range rs {
		switch {
		case r.Created:
			opened++
			a.log.Info("ticket opened", "id", r.Ticket.ID, "title", r.Ticket.Title, "priority", r.Ticket.Priority)
		case r.Reopened:
			a.log.Info("ticket reopened", "id", r.Ticket.ID, "title", r.Ticket.Title)
		case r.Ticket.ID != 0 && !cs[i].Resolved:
			a.log.Debug("ticket occurrence", "id", r.Ticket.ID, "occurrences", r.Ticket.Occurrences)
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
