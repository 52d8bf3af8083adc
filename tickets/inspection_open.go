package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// OpenInspection opens the inspection ticket of st's cycle, in one
// transaction with the state that says so: a ticket of key
// InspectionKey(st.Plan, st.Device) and source inspection, from a's title,
// description, location, category and priority (a's key, source and device
// are set here), with checklist (indexes 1, 2, … in that order); st is
// written with its TicketID and an opened record is appended. The ticket's
// respond-by and resolve-by are the cycle's due date (st.Estimated, else
// st.NextDue) when it has one: an inspection is late by its plan, not by
// the SLA of its priority, and CheckSLA leaves it to the inspections
// engine (see RecordInspectionOverdue).
//
// When an open ticket already has the key, it is returned with created
// false and nothing else is written, but the state is pointed at it: the
// unique index on open keys makes this hold for any number of processes.
// Otherwise st.Version must be the stored one (ErrStale).
//
// replaces names plans whose open ticket on the device this one replaces
// (a deeper plan due in the same visit): each is cancelled with a comment
// naming the new ticket.
func (s *Store) OpenInspection(ctx context.Context, st InspectionState, a Alert, checklist []ChecklistItem, replaces []string) (Ticket, bool, error) {
	fail := func(err error) (Ticket, bool, error) {
		return Ticket{}, false, fmt.Errorf("tickets: open inspection %s on %s: %w", st.Plan, st.Device, err)
	}
	if err := checkState(st); err != nil {
		return fail(err)
	}
	if a.Device != "" && a.Device != st.Device {
		return fail(fmt.Errorf("%w: alert device %q is not the state's", ErrInvalid, a.Device))
	}
	a.Key, a.Source, a.Device = InspectionKey(st.Plan, st.Device), SourceInspection, st.Device
	if err := checkChange(Change{Alert: a}); err != nil {
		return fail(err)
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"title", a.Title, 500}, {"description", a.Description, maxText}, {"location", a.Location, 500},
		{"category", a.Category, 200}} {
		if err := checkText(f.name, f.v, f.limit); err != nil {
			return fail(err)
		}
	}
	items := slices.Clone(checklist)
	for i := range items {
		items[i].Index = i + 1
		if err := checkItem(items[i]); err != nil {
			return fail(err)
		}
	}
	var t Ticket
	created := false
	err := s.inTx(ctx, func(x *txn) error {
		var err error
		t, err = scanTicket(x.queryRow(selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, x.site, a.Key))
		if err == nil {
			created = false
			return x.setStateTicket(st.Plan, st.Device, t.ID)
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		created = true
		t, err = x.openInspection(&st, a, items)
		if err != nil {
			return err
		}
		return x.replace(&t, st.Plan, replaces)
	})
	if err != nil {
		return fail(err)
	}
	return t, created, nil
}

// dueOf is the date a cycle falls due, whichever comes first.
func (x *txn) openInspection(st *InspectionState, a Alert, items []ChecklistItem) (Ticket, error) {
	t := x.newTicket(a, 1, x.now, x.now)
	due := st.Due().UTC()
	detail := fmt.Sprintf("opened %s from inspection: plan %s", t.Priority, st.Plan)
	if !due.IsZero() {
		t.RespondBy, t.ResolveBy = due, due
		detail += ", due " + due.Format(time.RFC3339)
		if st.DueBy != "" {
			detail += " by " + st.DueBy
		}
	}
	detail += fmt.Sprintf("; %d checklist items", len(items))
	if a.Assignee != "" {
		detail += "; assigned to " + a.Assignee
	}
	if err := x.create(&t, systemActor, detail); err != nil {
		if isUnique(err) { // another writer's ticket, in spite of the check
			return Ticket{}, fmt.Errorf("%w: ticket for key %q opened meanwhile", ErrStale, a.Key)
		}
		return Ticket{}, err
	}
	for _, it := range items {
		if err := x.addItem(t.ID, it); err != nil {
			return Ticket{}, fmt.Errorf("checklist item %d: %w", it.Index, err)
		}
	}
	id := t.ID
	if err := x.putState(st, &id); err != nil {
		return Ticket{}, err
	}
	return t, x.addRecord(&InspectionRecord{Plan: st.Plan, Device: st.Device, Kind: RecordOpened, At: x.now,
		Actor: systemActor, DueAt: due, TicketID: t.ID})
}

// replace cancels the open tickets of the plans in replaces on t's device:
// one visit does both, so there is one ticket.
func (x *txn) replace(t *Ticket, plan string, replaces []string) error {
	for _, p := range replaces {
		if p == plan {
			continue
		}
		old, err := scanTicket(x.queryRow(selectTicket+" WHERE site = ? AND key = ? AND "+openStatuses, x.site, InspectionKey(p, t.Device)))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := x.move(&old, StatusCancelled, systemActor,
			fmt.Sprintf("replaced by ticket %d (plan %s), which covers this visit", t.ID, plan)); err != nil {
			return fmt.Errorf("replace ticket %d: %w", old.ID, err)
		}
		if err := x.event(t, systemActor, EventInspection,
			fmt.Sprintf("replaces ticket %d (plan %s)", old.ID, p)); err != nil {
			return err
		}
	}
	return nil
}

// leftOpen keeps inspection_state.ticket_id naming an open ticket: a move
// of an inspection ticket out of the open statuses clears it.
func (x *txn) leftOpen(t *Ticket, from Status) error {
	if !isInspectionKey(t.Key) || !from.IsOpen() || t.Status.IsOpen() {
		return nil
	}
	_, err := x.exec(`UPDATE inspection_state SET ticket_id = NULL, version = version + 1, updated_at = ?
		WHERE ticket_id = ?`, stamp(x.now), t.ID)
	return err
}
