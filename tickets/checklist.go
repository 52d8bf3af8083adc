package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// checkItem validates a checklist item as a plan gives it.
func checkItem(it ChecklistItem) error {
	name := fmt.Sprintf("checklist item %d", it.Index)
	switch {
	case strings.TrimSpace(it.Text) == "":
		return fmt.Errorf("%w: %s: empty text", ErrInvalid, name)
	case len(it.Text) > 1000 || len(it.Unit) > 50:
		return fmt.Errorf("%w: %s: text longer than 1000 bytes or unit longer than 50", ErrInvalid, name)
	case it.Evidence != EvidenceReading && it.Evidence != EvidenceYesNo && it.Evidence != EvidenceText:
		return fmt.Errorf("%w: %s %q: evidence %q, want reading, yes_no or text", ErrInvalid, name, it.Text, it.Evidence)
	case it.Evidence != EvidenceReading && (it.Min != nil || it.Max != nil || it.Unit != ""):
		return fmt.Errorf("%w: %s %q: unit and limits are for readings", ErrInvalid, name, it.Text)
	case it.Min != nil && it.Max != nil && *it.Min > *it.Max:
		return fmt.Errorf("%w: %s %q: min %v above max %v", ErrInvalid, name, it.Text, *it.Min, *it.Max)
	case it.Priority != "" && !validPriority(it.Priority):
		return fmt.Errorf("%w: %s %q: priority %q, want P1, P2, P3 or P4", ErrInvalid, name, it.Text, it.Priority)
	}
	for _, l := range []*float64{it.Min, it.Max} {
		if l != nil && (math.IsNaN(*l) || math.IsInf(*l, 0)) {
			return fmt.Errorf("%w: %s %q: limits must be finite", ErrInvalid, name, it.Text)
		}
	}
	return nil
}

// setAnswer records an answer on it, checked against its evidence: a
// reading needs a number (in value, or as the answer's text), a yes_no item
// "yes" or "no", a text item some text. A reading outside its limits and a
// "no" fail the item.
func (it *ChecklistItem) setAnswer(answer string, value *float64, note string) error {
	answer = strings.TrimSpace(answer)
	name := fmt.Sprintf("checklist item %d %q", it.Index, it.Text)
	switch it.Evidence {
	case EvidenceReading:
		if value == nil && answer != "" {
			if v, err := strconv.ParseFloat(answer, 64); err == nil {
				value = &v
			}
		}
		if value == nil || math.IsNaN(*value) || math.IsInf(*value, 0) {
			unit := ""
			if it.Unit != "" {
				unit = " in " + it.Unit
			}
			return fmt.Errorf("%w: %s is a reading: give a number%s", ErrInvalid, name, unit)
		}
		v := *value
		it.Answer, it.Value = "", &v
		it.Failed = it.Min != nil && v < *it.Min || it.Max != nil && v > *it.Max
	case EvidenceYesNo:
		a := strings.ToLower(answer)
		if (a != "yes" && a != "no") || value != nil {
			return fmt.Errorf("%w: %s: answer yes or no", ErrInvalid, name)
		}
		it.Answer, it.Value, it.Failed = a, nil, a == "no"
	default:
		if answer == "" || value != nil {
			return fmt.Errorf("%w: %s: give the text asked for", ErrInvalid, name)
		}
		it.Answer, it.Value, it.Failed = answer, nil, false
	}
	it.Note = strings.TrimSpace(note)
	return nil
}

// describe is the item's answer in words, for the ticket's history and the
// corrective ticket.
func (it ChecklistItem) describe() string {
	s := fmt.Sprintf("item %d %q: ", it.Index, it.Text)
	switch {
	case it.Value != nil:
		s += strconv.FormatFloat(*it.Value, 'f', -1, 64)
		if it.Unit != "" {
			s += " " + it.Unit
		}
		if it.Min != nil && *it.Value < *it.Min {
			s += fmt.Sprintf(", below the minimum %v", *it.Min)
		}
		if it.Max != nil && *it.Value > *it.Max {
			s += fmt.Sprintf(", above the maximum %v", *it.Max)
		}
	default:
		s += strconv.Quote(it.Answer)
	}
	if it.Failed {
		s += ": failed"
	}
	if it.Note != "" {
		s += "; note: " + it.Note
	}
	return s
}

func (x *txn) addItem(ticketID int64, it ChecklistItem) error {
	_, err := x.exec(`INSERT INTO checklist_items (ticket_id, idx, text, required, evidence, unit, min, max, priority)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ticketID, it.Index, it.Text, boolInt(it.Required), it.Evidence, it.Unit,
		nullFloat(it.Min), nullFloat(it.Max), it.Priority)
	return err
}

func nullFloat(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}

func floatPtr(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

const itemColumns = `idx, text, required, evidence, unit, min, max, priority, answer, value, failed, note,
	answered_by, answered_at, COALESCE(corrective, 0)`

func scanItem(r scanner) (ChecklistItem, error) {
	var it ChecklistItem
	var lo, hi, value sql.NullFloat64
	var at sql.NullString
	if err := r.Scan(&it.Index, &it.Text, &it.Required, &it.Evidence, &it.Unit, &lo, &hi, &it.Priority, &it.Answer,
		&value, &it.Failed, &it.Note, &it.AnsweredBy, &at, &it.Corrective); err != nil {
		return it, err
	}
	it.Min, it.Max, it.Value = floatPtr(lo), floatPtr(hi), floatPtr(value)
	var errs []error
	it.AnsweredAt = nullTime(at, &errs)
	return it, errors.Join(errs...)
}

func scanItems(rows *sql.Rows, err error) ([]ChecklistItem, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ChecklistItem{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

const selectItems = `SELECT ` + itemColumns + ` FROM checklist_items WHERE ticket_id = ? ORDER BY idx`

func (x *txn) checklist(ticketID int64) ([]ChecklistItem, error) {
	return scanItems(x.query(selectItems, ticketID))
}

// Checklist returns the checklist of ticket id with its answers, by index;
// empty for a ticket without one.
func (s *Store) Checklist(ctx context.Context, ticketID int64) ([]ChecklistItem, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, fmt.Errorf("tickets: checklist of %d: %w", ticketID, err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	var one int
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(`SELECT 1 FROM tickets WHERE id = ?`), ticketID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tickets: checklist of %d: %w", ticketID, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("tickets: checklist of %d: %w", ticketID, err)
	}
	items, err := scanItems(tx.QueryContext(ctx, s.dialect.rebind(selectItems), ticketID))
	if err != nil {
		return nil, fmt.Errorf("tickets: checklist of %d: %w", ticketID, err)
	}
	return items, nil
}

// AnswerItem records actor's answer to item index of ticket id's checklist,
// replacing an earlier one, while the ticket is open; see setAnswer for
// what each evidence takes. A failed item needs a note before the
// inspection can be completed. The answer is a checklist event in the
// ticket's history, notified like any other.
func (s *Store) AnswerItem(ctx context.Context, ticketID int64, index int, answer string, value *float64, note, actor string) (ChecklistItem, error) {
	if err := checkText("answer", answer, maxText); err != nil {
		return ChecklistItem{}, fmt.Errorf("tickets: ticket %d: %w", ticketID, err)
	}
	if err := checkText("note", note, maxText); err != nil {
		return ChecklistItem{}, fmt.Errorf("tickets: ticket %d: %w", ticketID, err)
	}
	var it ChecklistItem
	_, err := s.update(ctx, ticketID, actor, func(x *txn, t *Ticket) error {
		if !t.Status.IsOpen() {
			return fmt.Errorf("%w: the ticket is %s: its checklist is part of the record now", ErrTransition, t.Status)
		}
		var err error
		it, err = scanItem(x.queryRow(`SELECT `+itemColumns+` FROM checklist_items WHERE ticket_id = ? AND idx = ?`,
			ticketID, index))
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			_ = x.queryRow(`SELECT COUNT(*) FROM checklist_items WHERE ticket_id = ?`, ticketID).Scan(&n)
			return fmt.Errorf("%w: no checklist item %d (the ticket has %d)", ErrInvalid, index, n)
		}
		if err != nil {
			return err
		}
		if err := it.setAnswer(answer, value, note); err != nil {
			return err
		}
		it.AnsweredBy, it.AnsweredAt = actor, x.now
		if _, err := x.exec(`UPDATE checklist_items SET answer = ?, value = ?, failed = ?, note = ?, answered_by = ?,
			answered_at = ? WHERE ticket_id = ? AND idx = ?`, it.Answer, nullFloat(it.Value), boolInt(it.Failed), it.Note,
			it.AnsweredBy, stamp(it.AnsweredAt), ticketID, index); err != nil {
			return err
		}
		if err := x.save(t); err != nil {
			return err
		}
		return x.event(t, actor, EventChecklist, it.describe())
	})
	if err != nil {
		return ChecklistItem{}, err
	}
	return it, nil
}

// unanswered says what keeps items from completing an inspection: required
// items without an answer, failed items without a note. Empty when none.
func unanswered(items []ChecklistItem) string {
	var missing, unexplained []string
	for _, it := range items {
		switch {
		case it.Required && it.AnsweredAt.IsZero():
			missing = append(missing, fmt.Sprintf("%d %q", it.Index, it.Text))
		case it.Failed && it.Note == "":
			unexplained = append(unexplained, fmt.Sprintf("%d %q", it.Index, it.Text))
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "answer the required checklist items "+strings.Join(missing, ", "))
	}
	if len(unexplained) > 0 {
		parts = append(parts, "explain the failed items "+strings.Join(unexplained, ", ")+" with a note")
	}
	return strings.Join(parts, "; ")
}
