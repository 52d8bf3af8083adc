package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Raise records that alert a fired. If a ticket for a.Key is open it gains an
// occurrence (created is false); otherwise a resolved or closed ticket within
// the reopen cool-down is reopened, or a new ticket is opened (created is
// true). All of it happens in one transaction, so repeats, restarts and
// concurrent callers never open a second ticket for one key. Many alerts at
// once go faster through RaiseBatch or Apply.
func (s *Store) Raise(ctx context.Context, a Alert) (t Ticket, created bool, err error) {
	rs, err := s.Apply(ctx, []Change{{Alert: a}})
	if err != nil {
		return Ticket{}, false, err
	}
	return rs[0].Ticket, rs[0].Created, nil
}

// RaiseBatch is Raise for many alerts in one transaction; see Apply.
func (s *Store) RaiseBatch(ctx context.Context, alerts []Alert) ([]Result, error) {
	cs := make([]Change, len(alerts))
	for i, a := range alerts {
		cs[i] = Change{Alert: a}
	}
	return s.Apply(ctx, cs)
}

// AlertResolved records on the open ticket of key that its alert cleared at
// at, and resolves the ticket if the on_alert_resolved policy says so. No
// open ticket for key is not an error, since people may have closed it.
func (s *Store) AlertResolved(ctx context.Context, key string, at time.Time) error {
	_, err := s.Apply(ctx, []Change{{Alert: Alert{Key: key, At: at}, Resolved: true}})
	return err
}

// Apply records alert transitions in order, in one transaction: an alert
// storm costs one commit, and repeats of a key within the batch cost one
// update. Results match changes by index. A malformed change is skipped and
// reported in the error (wrapping ErrInvalid) while the others are applied;
// any other error applies nothing.
func (s *Store) Apply(ctx context.Context, changes []Change) ([]Result, error) {
	results := make([]Result, len(changes))
	bad := make([]bool, len(changes))
	var invalid []error
	for i, c := range changes {
		if err := checkChange(c); err != nil {
			bad[i] = true
			invalid = append(invalid, err)
		}
	}
	if len(invalid) == len(changes) {
		return results, errors.Join(invalid...)
	}
	err := s.inTx(ctx, func(x *txn) error {
		dup, err := x.recordApplied(changes, bad)
		if err != nil {
			return err
		}
		var order []*group
		pending := map[string]*group{}
		flush := func(g *group) error {
			delete(pending, g.alert.Key)
			r, err := x.raise(g.alert, g.n, g.first, g.last, g.stillFiring, systemActor)
			if err != nil {
				return fmt.Errorf("raise %q: %w", g.alert.Key, err)
			}
			for j, i := range g.idx {
				results[i] = r
				if j > 0 { // only the first change of a group opened or reopened it
					results[i].Created, results[i].Reopened = false, false
				}
			}
			return nil
		}
		for i, c := range changes {
			if bad[i] {
				continue
			}
			if dup[i] {
				results[i].Duplicate = true
				continue
			}
			at := c.Alert.At.UTC()
			if c.Alert.At.IsZero() {
				at = x.now
			}
			key := c.Alert.Key
			if c.Resolved {
				if g := pending[key]; g != nil {
					if err := flush(g); err != nil {
						return err
					}
				}
				t, err := x.alertResolved(key, at)
				if err != nil {
					return fmt.Errorf("alert resolved %q: %w", key, err)
				}
				results[i].Ticket = t
				continue
			}
			g := pending[key]
			if g == nil {
				g = &group{alert: c.Alert, first: at, last: at}
				pending[key] = g
				order = append(order, g)
			}
			g.idx = append(g.idx, i)
			g.stillFiring = g.stillFiring || c.StillFiring
			g.n++
			g.first, g.last = earlier(g.first, at), later(g.last, at)
		}
		for _, g := range order {
			if pending[g.alert.Key] == g {
				if err := flush(g); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: %w", err)
	}
	return results, errors.Join(invalid...)
}

// group is the repeats of one key within a batch.
type group struct {
	alert       Alert
	idx         []int
	n           int
	first, last time.Time
	stillFiring bool
}

// keepApplied is how long the ids of applied changes are remembered: far
// longer than any change waits in a queue.
const keepApplied = 30 * 24 * time.Hour

// recordApplied records the ids of the changes that have one and reports
// which were applied before (by index).
func (x *txn) recordApplied(changes []Change, bad []bool) ([]bool, error) {
	var dup []bool
	for i, c := range changes {
		if c.ID == "" || bad[i] {
			continue
		}
		if dup == nil {
			dup = make([]bool, len(changes))
			if _, err := x.exec(`DELETE FROM applied_changes WHERE applied_at < ?`, stamp(x.now.Add(-keepApplied))); err != nil {
				return nil, err
			}
		}
		res, err := x.exec(`INSERT INTO applied_changes (id, applied_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, c.ID, stamp(x.now))
		if err != nil {
			return nil, fmt.Errorf("record change %s: %w", c.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			dup[i] = true
		}
	}
	if dup == nil {
		dup = make([]bool, len(changes))
	}
	return dup, nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func checkChange(c Change) error {
	a := c.Alert
	switch {
	case a.Key == "":
		return fmt.Errorf("tickets: raise: %w: empty alert key", ErrInvalid)
	case c.Resolved:
		return nil
	case a.Title == "":
		return fmt.Errorf("tickets: raise %q: %w: empty title", a.Key, ErrInvalid)
	case !validPriority(a.Priority):
		return fmt.Errorf("tickets: raise %q: %w: priority %q, want P1, P2, P3 or P4", a.Key, ErrInvalid, a.Priority)
	case !validSource(a.Source):
		return fmt.Errorf("tickets: raise %q: %w: source %q, want rule, inspection, energy or manual",
			a.Key, ErrInvalid, a.Source)
	}
	return nil
}

// raise records n firings of a, from first to last, on behalf of actor.
// stillFiring (an alert that never stopped firing, whose ticket was closed
// by force) opens a new ticket that names the closed one instead of
// reopening it.
func (x *txn) raise(a Alert, n int, first, last time.Time, stillFiring bool, actor string) (Result, error) {
	t, err := scanTicket(x.queryRow(selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, x.site, a.Key))
	switch {
	case err == nil:
		return Result{Ticket: t}, x.addOccurrences(&t, n, last, actor)
	case !errors.Is(err, ErrNotFound):
		return Result{}, err
	}
	note := ""
	if stillFiring {
		var prev int64
		var status string
		if err := x.queryRow(`SELECT id, status FROM tickets WHERE site = ? AND key = ? ORDER BY id DESC LIMIT 1`, x.site, a.Key).Scan(&prev, &status); err == nil {
			note = fmt.Sprintf("; the alert still fires after ticket %d was %s", prev, status)
		}
	} else if ok, err := x.reopen(&t, a.Key, n, first, last); ok || err != nil {
		return Result{Ticket: t, Reopened: ok}, err
	}
	t, err = x.insert(a, n, first, last, actor, note)
	return Result{Ticket: t, Created: true}, err
}

func (x *txn) addOccurrences(t *Ticket, n int, last time.Time, actor string) error {
	t.Occurrences += n
	t.LastSeen = later(t.LastSeen, last)
	t.AlertResolvedAt = time.Time{} // firing again
	t.UpdatedAt = x.now
	// Not save: the hot path of a storm, and writing only these columns
	// leaves the indexes alone.
	if _, err := x.exec(`UPDATE tickets SET occurrences = ?, last_seen = ?, updated_at = ?, alert_resolved_at = NULL
		WHERE id = ?`, t.Occurrences, stamp(t.LastSeen), stamp(t.UpdatedAt), t.ID); err != nil {
		return err
	}
	detail := fmt.Sprintf("occurrence %d at %s", t.Occurrences, last.Format(time.RFC3339))
	if n > 1 {
		detail = fmt.Sprintf("occurrences %d to %d, the last at %s", t.Occurrences-n+1, t.Occurrences,
			last.Format(time.RFC3339))
	}
	return x.event(t, actor, EventOccurrence, detail)
}

// reopen moves the newest ticket of key back to in_progress if it was
// resolved or closed within the cool-down before the alert fired again.
func (x *txn) reopen(t *Ticket, key string, n int, first, last time.Time) (bool, error) {
	within := x.cfg.ReopenWithin
	if within <= 0 {
		return false, nil
	}
	prev, err := scanTicket(x.queryRow(selectTicket+` WHERE site = ? AND key = ? ORDER BY id DESC LIMIT 1`, x.site, key))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var since time.Time
	switch prev.Status {
	case StatusResolved:
		since = prev.ResolvedAt
	case StatusClosed:
		since = prev.ClosedAt
	default:
		return false, nil
	}
	if first.Sub(since) > within {
		return false, nil
	}
	was := prev.Status
	*t = prev
	t.reopened(x.now, x.cfg.SLAFor(t.Priority))
	t.Occurrences += n
	t.LastSeen = later(t.LastSeen, last)
	if err := x.save(t); err != nil {
		return false, err
	}
	return true, x.event(t, systemActor, EventReopened, fmt.Sprintf("%s → %s: alert fired again at %s, within %s of %s",
		was, t.Status, first.Format(time.RFC3339), within, map[Status]string{StatusResolved: "resolution", StatusClosed: "closing"}[was]))
}

// reopened puts t back to work: the fix did not hold, so the follow-up is
// moot and the resolution clock starts again.
func (t *Ticket) reopened(now time.Time, sla SLA) {
	t.Status = StatusInProgress
	t.ResolvedAt, t.FollowUpBy, t.FollowUpAt, t.FollowUpResult, t.ClosedAt = time.Time{}, time.Time{}, time.Time{}, "", time.Time{}
	t.AlertResolvedAt = time.Time{}
	t.ResolveBy = now.Add(sla.ResolveWithin)
}

func (x *txn) insert(a Alert, n int, first, last time.Time, actor, note string) (Ticket, error) {
	t := x.newTicket(a, n, first, last)
	detail := fmt.Sprintf("opened %s from %s", t.Priority, t.Source)
	if a.Source != SourceManual {
		detail += "; alert fired at " + first.Format(time.RFC3339)
	}
	if n > 1 {
		detail += fmt.Sprintf("; %d occurrences", n)
	}
	if a.Assignee != "" {
		detail += "; assigned to " + a.Assignee
	}
	return t, x.create(&t, actor, detail+note)
}

// newTicket is the open ticket of a, with the SLA deadlines of its
// priority, not yet written.
func (x *txn) newTicket(a Alert, n int, first, last time.Time) Ticket {
	now := x.now
	sla := x.cfg.SLAFor(a.Priority)
	return Ticket{
		Site: x.site, Key: a.Key, Title: a.Title, Description: a.Description, Device: a.Device,
		Location: a.Location, Category: a.Category, Priority: a.Priority, Source: a.Source, Assignee: a.Assignee,
		Status: StatusOpen, Occurrences: n, FirstSeen: first, LastSeen: last,
		CreatedAt: now, UpdatedAt: now,
		RespondBy: now.Add(sla.RespondWithin), ResolveBy: now.Add(sla.ResolveWithin),
	}
}

// create inserts t, sets its id and records its created event.
func (x *txn) create(t *Ticket, actor, detail string) error {
	err := x.queryRow(`INSERT INTO tickets (site, key, title, description, device, location, category,
		priority, status, source, occurrences, first_seen, last_seen, created_at, updated_at, respond_by, resolve_by,
		related_id, assignee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Site, t.Key, t.Title, t.Description, t.Device, t.Location, t.Category, t.Priority, t.Status, t.Source,
		t.Occurrences, stamp(t.FirstSeen), stamp(t.LastSeen), stamp(t.CreatedAt), stamp(t.UpdatedAt),
		stamp(t.RespondBy), stamp(t.ResolveBy), sql.NullInt64{Int64: t.Related, Valid: t.Related != 0}, t.Assignee).Scan(&t.ID)
	if err != nil {
		return err
	}
	return x.event(t, actor, EventCreated, detail)
}

// alertResolved notes on the open ticket of key that its alert cleared, and
// resolves it under the resolve policy when the lifecycle allows.
func (x *txn) alertResolved(key string, at time.Time) (Ticket, error) {
	t, err := scanTicket(x.queryRow(selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, x.site, key))
	if errors.Is(err, ErrNotFound) {
		return Ticket{}, nil
	}
	if err != nil {
		return Ticket{}, err
	}
	t.AlertResolvedAt = at
	if err := x.save(&t); err != nil {
		return Ticket{}, err
	}
	if err := x.event(&t, systemActor, EventAlertResolved, "alert cleared at "+at.Format(time.RFC3339)); err != nil {
		return Ticket{}, err
	}
	// An inspection is done, not cleared: its ticket closes through
	// CompleteInspection only.
	if x.cfg.OnAlertResolved == OnResolvedResolve && Allowed(t.Status, StatusResolved) && !isInspectionKey(t.Key) {
		err = x.move(&t, StatusResolved, systemActor, "the alert cleared (on_alert_resolved: resolve)")
	}
	return t, err
}
