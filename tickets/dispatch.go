package tickets

import (
	"context"
	"errors"
	"github.com/facilityd/facilityd/internal/retry"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/redact"
)

// Notifier delivers one notification to one receiver. It returns nil only
// once the receiver has accepted the notification; an error wrapping
// ErrRejected drops it, any other error retries it. A Notifier that is also
// an io.Closer is closed when its dispatcher stops.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Dispatcher delivers the outbox: one goroutine per receiver, each sending
// its notifications one at a time in the order they were queued, so a
// receiver that is down holds up only itself. A failed delivery is retried
// with exponential back-off until it succeeds, is rejected, or is older
// than give_up_after; it is marked delivered only after the receiver
// accepted it. A crash between the two sends it again, with the same
// Notification.ID for the receiver to recognise.
type Dispatcher struct {
	s         *Store
	notifiers map[string]Notifier
	log       *slog.Logger
	quit      chan struct{} // closed by Stop
	stopOnce  sync.Once
}

// Dispatcher returns a dispatcher of the outbox to notifiers, by receiver
// name. On SQLite only one process should dispatch a database at a time:
// the daemon. On PostgreSQL the daemons of every site may: each entry is
// claimed by one of them while it is sent (see claimEntry).
func (s *Store) Dispatcher(notifiers map[string]Notifier, logger *slog.Logger) *Dispatcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{s: s, notifiers: notifiers, log: logger, quit: make(chan struct{})}
}

// Stop asks Run to return without cutting a delivery short: each receiver
// finishes and records the notification it is sending, so a dispatcher
// started next (on reload, with new receivers) neither repeats nor misses
// one. Cancelling Run's context instead interrupts deliveries in flight;
// those go out again, with the same ID, at the next start.
func (d *Dispatcher) Stop() { d.stopOnce.Do(func() { close(d.quit) }) }

// stopped reports whether Stop was called.
func (d *Dispatcher) stopped() bool {
	select {
	case <-d.quit:
		return true
	default:
		return false
	}
}

// pause waits for dur, ctx or Stop, and reports whether to go on.
func (d *Dispatcher) pause(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-d.quit:
		return false
	case <-t.C:
		return true
	}
}

// Run delivers until ctx is done; its goroutines have stopped when it
// returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	if states, err := d.s.Outbox(ctx); err == nil {
		for _, o := range states {
			if _, ok := d.notifiers[o.Receiver]; !ok && o.Pending > 0 {
				d.log.Warn("outbox: notifications wait for a receiver that is no longer configured",
					"receiver", o.Receiver, "pending", o.Pending)
			}
		}
	}
	var wg sync.WaitGroup
	for name, n := range d.notifiers {
		wg.Go(func() {
			d.deliver(ctx, name, n)
			if c, ok := n.(io.Closer); ok {
				c.Close()
			}
		})
	}
	wg.Go(func() { d.prune(ctx) })
	wg.Wait()
	return nil
}

func (d *Dispatcher) prune(ctx context.Context) {
	for {
		if err := d.s.pruneOutbox(ctx, d.s.now().Add(-d.s.config().Outbox.KeepDelivered)); err != nil && ctx.Err() == nil {
			d.log.Warn("outbox: pruning delivered notifications failed", "err", err)
		}
		if !d.pause(ctx, time.Hour) {
			return
		}
	}
}

// deliver sends the outbox of one receiver until ctx is done.
func (d *Dispatcher) deliver(ctx context.Context, name string, n Notifier) {
	cfg := d.s.config().Outbox
	log := d.log.With("receiver", name)
	failures := 0     // in a row
	var retried int64 // the entry this loop last scheduled a retry of
	for ctx.Err() == nil && !d.stopped() {
		wake := d.s.woken() // before looking, so a commit after the look still wakes us
		e, ok, err := d.s.nextEntry(ctx, name)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("outbox: read failed", "err", err)
			}
			d.pause(ctx, cfg.PollInterval)
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
			case <-d.quit:
			case <-wake:
			case <-time.After(cfg.PollInterval):
			}
			continue
		}
		now := d.s.now()
		if age := now.Sub(e.created); age > cfg.GiveUpAfter {
			log.Error("outbox: notification dropped: undelivered for too long",
				append(e.logAttrs(), "queued", e.created, "attempts", e.attempts)...)
			d.mark(ctx, log, d.s.markDropped(ctx, e, now, "gave up after "+cfg.GiveUpAfter.String()))
			continue
		}
		// A retry scheduled before a restart (or a reload) waits its turn
		// (one scheduled here was waited for already): look again at most
		// every poll interval, so that give_up_after and a stop are seen.
		if wait := e.nextAttempt.Sub(now); wait > 0 && e.id != retried {
			d.s.release(e)
			d.pause(ctx, min(wait, cfg.PollInterval))
			continue
		}
		err = n.Notify(ctx, e.n)
		switch {
		case err == nil:
			if failures > 0 {
				log.Info("outbox: receiver accepts notifications again", "after_failures", failures)
			}
			failures = 0
			d.mark(ctx, log, d.s.markDelivered(ctx, e, d.s.now()))
		case errors.Is(err, ErrRejected):
			log.Error("outbox: notification dropped: the receiver rejected it", append(e.logAttrs(), "err", err)...)
			d.mark(ctx, log, d.s.markDropped(ctx, e, d.s.now(), redact.Text(err.Error())))
		case ctx.Err() != nil:
			d.s.release(e)
			return
		default:
			// go on from the attempts already made, before a restart too
			failures = max(failures, e.attempts) + 1
			delay := retry.Backoff(failures, cfg.RetryMin, cfg.RetryMax)
			if failures&(failures-1) == 0 { // 1, 2, 4, 8…: a dead receiver does not flood the log
				log.Warn("outbox: delivery failed; retrying",
					append(e.logAttrs(), "failures", failures, "retry_in", delay, "err", err)...)
			}
			d.mark(ctx, log, d.s.markRetry(ctx, e, d.s.now().Add(delay), redact.Text(err.Error())))
			retried = e.id
			d.pause(ctx, delay)
		}
	}
}

// logAttrs name e in a log line: its id and kind, and its ticket, or for
// a report's delivery the report's key (it has no ticket).
func (e entry) logAttrs() []any {
	if e.n.Report != nil {
		return []any{"id", e.n.ID, "kind", "report", "report", e.reportKey}
	}
	return []any{"id", e.n.ID, "kind", e.n.Event.Kind, "ticket", e.n.Ticket.ID}
}

func (d *Dispatcher) mark(ctx context.Context, log *slog.Logger, err error) {
	if err != nil && ctx.Err() == nil {
		log.Error("outbox: recording a delivery failed", "err", err)
	}
}
