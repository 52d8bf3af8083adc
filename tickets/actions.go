package tickets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// Assign gives ticket id to assignee (empty: nobody) on behalf of actor.
// Closed and cancelled tickets keep their assignee.
func (s *Store) Assign(ctx context.Context, id int64, assignee, actor, comment string) (Ticket, error) {
	assignee = strings.TrimSpace(assignee)
	if err := checkText("assignee", assignee, 200); err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	if err := checkText("comment", comment, maxText); err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	return s.update(ctx, id, actor, func(x *txn, t *Ticket) error {
		if t.Status == StatusClosed || t.Status == StatusCancelled {
			return fmt.Errorf("%w: the ticket is %s", ErrTransition, t.Status)
		}
		detail := "assigned to " + assignee
		if assignee == "" {
			detail = "unassigned from " + t.Assignee
		}
		if comment != "" {
			detail += ": " + comment
		}
		t.Assignee = assignee
		if err := x.save(t); err != nil {
			return err
		}
		return x.event(t, actor, EventAssigned, detail)
	})
}

// Comment adds text to the history of ticket id, in any status.
func (s *Store) Comment(ctx context.Context, id int64, actor, text string) (Ticket, error) {
	if strings.TrimSpace(text) == "" {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w: empty comment", id, ErrInvalid)
	}
	if err := checkText("comment", text, maxText); err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	return s.update(ctx, id, actor, func(x *txn, t *Ticket) error {
		if err := x.save(t); err != nil {
			return err
		}
		return x.event(t, actor, EventComment, text)
	})
}

// FollowUp records the follow-up check of resolved ticket id: FollowUpOK
// (the repair held; the ticket may be closed) or FollowUpFailed (it did
// not; the ticket goes back to in_progress).
func (s *Store) FollowUp(ctx context.Context, id int64, actor, result, note string) (Ticket, error) {
	if result != FollowUpOK && result != FollowUpFailed {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w: follow-up result %q, want ok or failed", id, ErrInvalid, result)
	}
	if err := checkText("note", note, maxText); err != nil {
		return Ticket{}, fmt.Errorf("tickets: ticket %d: %w", id, err)
	}
	return s.update(ctx, id, actor, func(x *txn, t *Ticket) error {
		if t.Status != StatusResolved {
			return fmt.Errorf("%w: a follow-up check is for resolved tickets, and this one is %s", ErrTransition, t.Status)
		}
		t.FollowUpAt, t.FollowUpResult = x.now, result
		if err := x.save(t); err != nil {
			return err
		}
		detail := "follow-up check: " + result
		if note != "" {
			detail += ": " + note
		}
		if err := x.event(t, actor, EventFollowUp, detail); err != nil {
			return err
		}
		if result == FollowUpFailed {
			return x.move(t, StatusInProgress, actor, "the follow-up check failed")
		}
		return nil
	})
}

// Manual is a ticket people report, such as a repair called in at the
// front desk. It has the same lifecycle as an alert's ticket.
type Manual struct {
	// Key makes creation idempotent: a retry with the same key returns the
	// open ticket instead of opening another. Empty means a fresh key.
	Key         string `json:"key,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Device      string `json:"device,omitempty"`
	Location    string `json:"location,omitempty"`
	Category    string `json:"category,omitempty"`
	Priority    string `json:"priority"`
}

// Create opens a manual ticket on behalf of actor; created is false when an
// open ticket already has m.Key.
func (s *Store) Create(ctx context.Context, actor string, m Manual) (t Ticket, created bool, err error) {
	if err := checkActor(actor); err != nil {
		return Ticket{}, false, fmt.Errorf("tickets: create: %w", err)
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"key", m.Key, 200}, {"title", m.Title, 500}, {"description", m.Description, maxText},
		{"device", m.Device, 200}, {"location", m.Location, 500}, {"category", m.Category, 200}} {
		if err := checkText(f.name, f.v, f.limit); err != nil {
			return Ticket{}, false, fmt.Errorf("tickets: create: %w", err)
		}
	}
	if strings.TrimSpace(m.Title) == "" {
		return Ticket{}, false, fmt.Errorf("tickets: create: %w: empty title", ErrInvalid)
	}
	if !validPriority(m.Priority) {
		return Ticket{}, false, fmt.Errorf("tickets: create: %w: priority %q, want P1, P2, P3 or P4", ErrInvalid, m.Priority)
	}
	key := m.Key
	if key == "" {
		b := make([]byte, 8)
		rand.Read(b)
		key = hex.EncodeToString(b)
	}
	a := Alert{Key: "manual:" + key, Title: m.Title, Description: m.Description, Device: m.Device,
		Location: m.Location, Category: m.Category, Priority: m.Priority, Source: SourceManual}
	var r Result
	err = s.inTx(ctx, func(x *txn) error {
		var err error
		r, err = x.raise(a, 1, x.now, x.now, false, actor)
		return err
	})
	if err != nil {
		return Ticket{}, false, fmt.Errorf("tickets: create: %w", err)
	}
	return r.Ticket, r.Created, nil
}

func checkText(name, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, name, limit)
	}
	return nil
}
