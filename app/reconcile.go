package app

import (
	"context"
	"time"

	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/tickets"
)

// reconcileEvery is how often the alerts are compared with the open
// tickets (and once soon after each start or reload).
const reconcileEvery = 30 * time.Second

// reconcile compares the engine's alerts with the open tickets of rules and
// mends what the handoff of transitions cannot see: a firing alert whose
// ticket was closed by force while it fired gets a new ticket (never a
// firing fault without one), and an open ticket whose alert, known to this
// engine, no longer fires (a resolution lost to a power cut, or a restart
// that forgot the alert) records the resolution. Silenced and inhibited
// alerts open nothing, as ever. It runs only when the ticket queue is
// empty, so the tickets it reads already hold every transition queued, and
// on the generation's goroutine, so no transition is queued meanwhile.
func (al *alerter) reconcile(ctx context.Context, now time.Time) {
	a := al.a
	al.lastReconcile = now
	if a.journal == nil || a.journal.Len() > 0 {
		return
	}
	// Without rule instances (no rules) there is no alert to compare, and
	// the two queries would only bring the ticket store's code back into
	// memory every 30 s (some 5 MB of the binary).
	if _, instances := al.engine.Devices(); instances == 0 {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	open, err := a.tickets.OpenKeys(qctx, tickets.SourceRule)
	var energy map[string]bool
	if err == nil {
		energy, err = a.tickets.OpenKeys(qctx, tickets.SourceEnergy)
	}
	if err != nil {
		if ctx.Err() == nil && !tickets.NotOpen(err) {
			a.log.Warn("alerts not compared with tickets; trying again later", "err", err)
		}
		return
	}
	firing := map[string]bool{}
	var changes []tickets.Change
	for _, al := range al.engine.Alerts() {
		if al.State != rules.Firing {
			continue
		}
		firing[al.Fingerprint] = true
		_, has := open[al.Fingerprint]
		_, hasEnergy := energy[al.Fingerprint]
		if has || hasEnergy || al.Ticket == nil || al.Suppressed() {
			continue
		}
		a.log.Warn("firing alert without an open ticket: opening one", "rule", al.Rule, "subject", al.Subject())
		changes = append(changes, tickets.Change{Alert: ticketFor(al, now), StillFiring: true})
	}
	// Energy tickets are resolved by the energy check, which knows whether
	// the anomaly is over (energyRunner.reconcileTickets): right after a
	// start their alerts do not fire yet.
	for key, alertFiring := range open {
		if alertFiring && !firing[key] && al.engine.Has(key) {
			a.log.Warn("ticket of an alert that no longer fires: recording the resolution", "key", key)
			changes = append(changes, tickets.Change{Alert: tickets.Alert{Key: key, At: now}, Resolved: true})
		}
	}
	a.queueTickets(ctx, changes)
}
