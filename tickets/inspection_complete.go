package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CompleteInspection records c — an inspection done, or with c.Skip
// skipped — and advances the plans, in one transaction:
//
//   - c.Version, when set, must be the stored state's version: a cycle
//     completed meanwhile is ErrStale, naming who completed it; so is a
//     c.TicketID that is no longer open;
//   - the cycle's open ticket (c.TicketID, else the state's) must have its
//     required checklist items answered and its failed items explained
//     (ErrInvalid naming them), unless skipped;
//   - the advancer (SetInspectionAdvancer; ErrInvalid without one) turns
//     the device's states into the states and records to write;
//   - the ticket is resolved and closed (a skip cancels it), and so is the
//     open ticket of each included plan the advancer completed, with a note
//     "completed with #N"; each failed item gets a corrective ticket
//     (key corrective:TICKET:IDX, Related the inspection ticket).
//
// A skip needs a reason in c.Note and leaves the plan skipped. It returns
// the records written. Resolving or closing an inspection ticket through
// Move takes the same path.
func (s *Store) CompleteInspection(ctx context.Context, c Completion) ([]InspectionRecord, error) {
	if err := checkCompletion(c); err != nil {
		return nil, fmt.Errorf("tickets: inspection %s on %s: %w", c.Plan, c.Device, err)
	}
	var out []InspectionRecord
	err := s.inTx(ctx, func(x *txn) error {
		var err error
		out, err = x.complete(c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: inspection %s on %s: %w", c.Plan, c.Device, err)
	}
	return out, nil
}

func checkCompletion(c Completion) error {
	switch {
	case strings.TrimSpace(c.Plan) == "" || strings.TrimSpace(c.Device) == "":
		return fmt.Errorf("%w: plan and device are required", ErrInvalid)
	case c.Skip && strings.TrimSpace(c.Note) == "":
		return fmt.Errorf("%w: a skip needs a reason (say why, such as: out of service until the 12th)", ErrInvalid)
	}
	if err := checkActor(c.Actor); err != nil {
		return err
	}
	if err := checkText("note", c.Note, maxText); err != nil {
		return err
	}
	return checkCounters("completion", c.Counters)
}

// complete is CompleteInspection inside x.
func (x *txn) complete(c Completion) ([]InspectionRecord, error) {
	advance := x.s.advancer()
	if advance == nil {
		return nil, fmt.Errorf("%w: no inspection plans are loaded here, so completing plan %q cannot advance it: "+
			"complete it where the plans are (the daemon, or facilityd inspections done with the config)", ErrInvalid, c.Plan)
	}
	if c.At.IsZero() {
		c.At = x.now
	}
	c.At = c.At.UTC()
	states, err := x.deviceStates(c.Device)
	if err != nil {
		return nil, err
	}
	cur := states[c.Plan]
	if c.Version != 0 && c.Version != cur.Version {
		return nil, x.completedMeanwhile(c, fmt.Sprintf("version %d, you saw %d", cur.Version, c.Version))
	}
	t, err := x.cycleTicket(c, cur)
	if err != nil {
		return nil, err
	}
	var items []ChecklistItem
	if t != nil {
		c.TicketID = t.ID
		if items, err = x.checklist(t.ID); err != nil {
			return nil, err
		}
		if why := unanswered(items); why != "" && !c.Skip {
			return nil, fmt.Errorf("%w: ticket %d: %s", ErrInvalid, t.ID, why)
		}
	}
	newStates, recs, err := advance(maps.Clone(states), c)
	if err != nil {
		return nil, fmt.Errorf("advance: %w", err)
	}
	if err := checkAdvance(c, newStates, recs); err != nil {
		return nil, err
	}
	// Included plans whose cycle this completion completes close too.
	cleared := map[string]bool{}
	if t != nil {
		cleared[c.Plan] = true
	}
	var included []Ticket
	for i := range recs {
		r := &recs[i]
		if r.Plan == c.Plan || (r.Kind != RecordDone && r.Kind != RecordSkipped) {
			continue
		}
		ot, err := scanTicket(x.queryRow(selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, x.site, InspectionKey(r.Plan, c.Device)))
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if r.TicketID == 0 {
			r.TicketID = ot.ID
		}
		cleared[r.Plan] = true
		included = append(included, ot)
	}
	var correctives []string
	if t != nil && !c.Skip {
		for i := range items {
			if !items[i].Failed || items[i].Corrective != 0 {
				continue
			}
			if err := x.corrective(t, &items[i], c); err != nil {
				return nil, fmt.Errorf("corrective ticket of item %d: %w", items[i].Index, err)
			}
			correctives = append(correctives, "#"+strconv.FormatInt(items[i].Corrective, 10))
		}
	}
	none := int64(0)
	for i := range newStates {
		st := &newStates[i]
		if st.Plan == c.Plan && c.Skip {
			st.Status = InspectionSkipped
		}
		var ticket *int64
		if cleared[st.Plan] {
			ticket = &none
		}
		if err := x.putState(st, ticket); err != nil {
			return nil, err
		}
	}
	for i := range recs {
		r := &recs[i]
		if r.At.IsZero() {
			r.At = c.At
		}
		if r.Actor == "" {
			r.Actor = c.Actor
		}
		if r.Plan == c.Plan && t != nil {
			if r.TicketID == 0 {
				r.TicketID = t.ID
			}
			if r.Checklist == nil {
				r.Checklist = items
			}
		}
		if err := x.addRecord(r); err != nil {
			return nil, err
		}
	}
	if t != nil {
		detail := summary(c, recs)
		if len(correctives) > 0 {
			detail += "; corrective tickets " + strings.Join(correctives, ", ")
		}
		if err := x.event(t, c.Actor, EventInspection, detail); err != nil {
			return nil, err
		}
		if c.Skip {
			err = x.move(t, StatusCancelled, c.Actor, "skipped: "+c.Note)
		} else {
			err = x.finish(t, c.Actor, c.Note)
		}
		if err != nil {
			return nil, err
		}
	}
	with := "plan " + c.Plan
	if t != nil {
		with = fmt.Sprintf("#%d (plan %s)", t.ID, c.Plan)
	}
	for i := range included {
		ot := &included[i]
		if c.Skip {
			err = x.move(ot, StatusCancelled, c.Actor, "skipped with "+with+": "+c.Note)
		} else {
			err = x.finish(ot, c.Actor, "completed with "+with)
		}
		if err != nil {
			return nil, fmt.Errorf("ticket %d: %w", ot.ID, err)
		}
	}
	return recs, nil
}

// cycleTicket finds the open ticket of c's cycle: c.TicketID, else the
// state's, else the open ticket of the plan's key; nil when none.
func (x *txn) cycleTicket(c Completion, cur InspectionState) (*Ticket, error) {
	key := InspectionKey(c.Plan, c.Device)
	if c.TicketID != 0 {
		t, err := x.load(c.TicketID)
		if err != nil {
			return nil, fmt.Errorf("ticket %d: %w", c.TicketID, err)
		}
		if t.Key != key {
			return nil, fmt.Errorf("%w: ticket %d is not the inspection of plan %q on %q", ErrInvalid, t.ID, c.Plan, c.Device)
		}
		if !t.Status.IsOpen() {
			return nil, x.completedMeanwhile(c, fmt.Sprintf("ticket %d is %s", t.ID, t.Status))
		}
		return &t, nil
	}
	q, args := selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, []any{x.site, key}
	if cur.TicketID != 0 {
		q, args = selectTicket+" WHERE id = ? AND "+openStatuses, []any{cur.TicketID}
	}
	t, err := scanTicket(x.queryRow(q, args...))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// completedMeanwhile is the ErrStale of a completion that lost a race,
// naming who won it.
func (x *txn) completedMeanwhile(c Completion, why string) error {
	var kind, actor, at string
	err := x.queryRow(`SELECT kind, actor, at FROM inspection_records WHERE site = ? AND plan = ? AND device = ?
		AND kind IN ('done', 'skipped') ORDER BY id DESC LIMIT 1`, x.site, c.Plan, c.Device).Scan(&kind, &actor, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: plan %q on %q changed meanwhile (%s): reload", ErrStale, c.Plan, c.Device, why)
	}
	if err != nil {
		return err
	}
	verb := map[string]string{RecordDone: "completed", RecordSkipped: "skipped"}[kind]
	return fmt.Errorf("%w: plan %q on %q was %s meanwhile by %s at %s (%s)", ErrStale, c.Plan, c.Device, verb, actor, at, why)
}

// checkAdvance holds the advancer to its contract: states and records of
// c's device only, and a done or skipped record of c's plan.
func checkAdvance(c Completion, states []InspectionState, recs []InspectionRecord) error {
	var errs []error
	for _, st := range states {
		if st.Device != c.Device {
			errs = append(errs, fmt.Errorf("state of device %q", st.Device))
		} else if err := checkState(st); err != nil {
			errs = append(errs, err)
		}
	}
	want := RecordDone
	if c.Skip {
		want = RecordSkipped
	}
	own := false
	for _, r := range recs {
		if r.Device != c.Device {
			errs = append(errs, fmt.Errorf("record of device %q", r.Device))
		} else if err := checkRecord(r); err != nil {
			errs = append(errs, err)
		}
		own = own || r.Plan == c.Plan && r.Kind == want
	}
	if !own {
		errs = append(errs, fmt.Errorf("no %s record of plan %q", want, c.Plan))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("advance returned what it may not: %w", err)
	}
	return nil
}

// summary is the completion in words for the ticket's history.
func summary(c Completion, recs []InspectionRecord) string {
	verb := "done"
	if c.Skip {
		verb = "skipped"
	}
	s := fmt.Sprintf("inspection %s by %s at %s", verb, c.Actor, c.At.Format(time.RFC3339))
	for _, r := range recs {
		if r.Plan != c.Plan || r.Kind == RecordOpened || r.Kind == RecordRebased {
			continue
		}
		if !c.Skip && !r.DueAt.IsZero() {
			s += map[bool]string{true: ", on time", false: ", late"}[r.OnTime] + " (due " + r.DueAt.Format(time.RFC3339) + ")"
		}
	}
	if len(c.Counters) > 0 {
		names := slices.Sorted(maps.Keys(c.Counters))
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + "=" + strconv.FormatFloat(c.Counters[n], 'f', -1, 64)
		}
		s += "; counters " + strings.Join(parts, " ")
	}
	var also []string
	for _, r := range recs {
		if r.Plan != c.Plan && (r.Kind == RecordDone || r.Kind == RecordSkipped) {
			also = append(also, r.Plan)
		}
	}
	if len(also) > 0 {
		sort.Strings(also)
		s += "; also completes " + strings.Join(also, ", ")
	}
	if c.Note != "" {
		s += ": " + c.Note
	}
	return s
}

// finish resolves and closes an inspection ticket: the inspection is its
// own follow-up check.
func (x *txn) finish(t *Ticket, actor, comment string) error {
	if t.Status == StatusOnHold {
		if err := x.move(t, StatusInProgress, actor, ""); err != nil {
			return err
		}
	}
	if t.Status.IsOpen() {
		if err := x.move(t, StatusResolved, actor, comment); err != nil {
			return err
		}
	}
	t.FollowUpAt, t.FollowUpResult = x.now, FollowUpOK
	return x.move(t, StatusClosed, actor, "inspection recorded")
}

// corrective opens the ticket of a failed checklist item of inspection
// ticket t and records its id on the item.
func (x *txn) corrective(t *Ticket, it *ChecklistItem, c Completion) error {
	key := fmt.Sprintf("corrective:%d:%d", t.ID, it.Index)
	if ct, err := scanTicket(x.queryRow(selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, t.Site, key)); err == nil {
		it.Corrective = ct.ID
	} else if !errors.Is(err, ErrNotFound) {
		return err
	} else {
		prio := it.Priority
		if prio == "" {
			prio = t.Priority
		}
		title := "Corrective: " + it.Text + " (" + t.Title + ")"
		if len(title) > 500 {
			title = title[:497] + "..."
		}
		a := Alert{Key: key, Title: title, Device: t.Device, Location: t.Location, Category: t.Category,
			Priority: prio, Source: SourceInspection,
			Description: fmt.Sprintf("The inspection of plan %s on %s (ticket #%d) by %s failed %s.",
				c.Plan, c.Device, t.ID, c.Actor, it.describe())}
		ct := x.newTicket(a, 1, x.now, x.now)
		ct.Related = t.ID
		if err := x.create(&ct, c.Actor, fmt.Sprintf("opened %s from inspection ticket %d: item %d failed",
			ct.Priority, t.ID, it.Index)); err != nil {
			return err
		}
		it.Corrective = ct.ID
	}
	_, err := x.exec(`UPDATE checklist_items SET corrective = ? WHERE ticket_id = ? AND idx = ?`, it.Corrective, t.ID, it.Index)
	return err
}

// completeTicket is the lifecycle's way into completion: resolving or
// closing open inspection ticket t completes its cycle on behalf of actor,
// with comment as the note, and leaves t as the completion did.
func (x *txn) completeTicket(t *Ticket, actor, comment string) error {
	// The ticket's site, not the store's: a change by id may come from
	// another site's console.
	defer func(site string) { x.site = site }(x.site)
	x.site = t.Site
	var plan, device string
	err := x.queryRow(`SELECT plan, device FROM inspection_state WHERE ticket_id = ?`, t.ID).Scan(&plan, &device)
	if errors.Is(err, sql.ErrNoRows) {
		rest, _ := strings.CutPrefix(t.Key, inspectionPrefix)
		var ok bool
		if plan, ok = strings.CutSuffix(rest, ":"+t.Device); !ok || t.Device == "" || plan == "" {
			return fmt.Errorf("%w: cannot tell the plan of inspection ticket %d from its key %q", ErrInvalid, t.ID, t.Key)
		}
		device = t.Device
	} else if err != nil {
		return err
	}
	if _, err := x.complete(Completion{Plan: plan, Device: device, At: x.now, Actor: actor, Note: comment,
		TicketID: t.ID}); err != nil {
		return fmt.Errorf("complete the inspection: %w", err)
	}
	*t, err = x.load(t.ID)
	return err
}

// RecordInspectionOverdue records that open inspection ticket id missed its
// cycle's due date (with its grace) due, once per ticket and date, and
// escalates it like a missed SLA deadline: a sla_breach event (kind
// overdue in sla_breaches) that goes to the escalation's receivers besides
// the usual ones, and with escalation priority raise one step up. It
// reports whether it recorded anything: false when recorded before or when
// the ticket is no longer open. The inspections engine calls it when a
// state turns overdue.
func (s *Store) RecordInspectionOverdue(ctx context.Context, ticketID int64, due time.Time) (bool, error) {
	recorded := false
	_, err := s.update(ctx, ticketID, systemActor, func(x *txn, t *Ticket) error {
		recorded = false
		if !isInspectionKey(t.Key) {
			return fmt.Errorf("%w: not an inspection ticket (key %q)", ErrInvalid, t.Key)
		}
		if !t.Status.IsOpen() {
			return nil
		}
		res, err := x.exec(`INSERT INTO sla_breaches (ticket_id, kind, deadline, at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, t.ID, BreachOverdue, stamp(due), stamp(x.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		recorded = true
		_, err = x.escalate(t, fmt.Sprintf("inspection due %s is overdue by %s", due.UTC().Format(time.RFC3339),
			x.now.Sub(due).Round(time.Second)))
		return err
	})
	return recorded, err
}
