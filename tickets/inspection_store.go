package tickets

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The store's side of preventive-maintenance inspections: the state of
// each plan × device, the history, and the inspection tickets. The
// inspections package computes the states; everything that must hold
// across processes (one open ticket per plan × device, one completion per
// cycle) is decided here, in one transaction.

// inspectionPrefix starts the key of every inspection ticket.
const inspectionPrefix = "inspection:"

// InspectionKey is the ticket key of plan's inspection of device: one open
// ticket per key.
func InspectionKey(plan, device string) string { return inspectionPrefix + plan + ":" + device }

func isInspectionKey(key string) bool { return strings.HasPrefix(key, inspectionPrefix) }

// SetInspectionAdvancer installs the plans' part of a completion, called by
// CompleteInspection and by the lifecycle when an inspection ticket is
// resolved or closed. Call it again after a reload of the plans; nil turns
// completion off (it is then ErrInvalid).
func (s *Store) SetInspectionAdvancer(f InspectionAdvancer) {
	s.advMu.Lock()
	defer s.advMu.Unlock()
	s.advance = f
}

func (s *Store) advancer() InspectionAdvancer {
	s.advMu.RLock()
	defer s.advMu.RUnlock()
	return s.advance
}

const stateColumns = `plan, device, status, last_done, last_counters, anchor, next_due, next_counters,
	estimated, due_by, COALESCE(ticket_id, 0), version, updated_at`

func scanState(r scanner) (InspectionState, error) {
	var st InspectionState
	var lastDone, anchor, nextDue, estimated sql.NullString
	var lastC, nextC, updated string
	if err := r.Scan(&st.Plan, &st.Device, &st.Status, &lastDone, &lastC, &anchor, &nextDue, &nextC,
		&estimated, &st.DueBy, &st.TicketID, &st.Version, &updated); err != nil {
		return st, err
	}
	var errs []error
	st.LastDone = nullTime(lastDone, &errs)
	st.Anchor = nullTime(anchor, &errs)
	st.NextDue = nullTime(nextDue, &errs)
	st.Estimated = nullTime(estimated, &errs)
	st.UpdatedAt = nullTime(sql.NullString{String: updated, Valid: true}, &errs)
	st.LastCounters = decodeCounters(lastC, &errs)
	st.NextCounters = decodeCounters(nextC, &errs)
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("inspection state %s on %s: %w", st.Plan, st.Device, err)
	}
	return st, nil
}

func nullTime(s sql.NullString, errs *[]error) time.Time {
	if !s.Valid || s.String == "" {
		return time.Time{}
	}
	t, err := parseStamp(s.String)
	if err != nil {
		*errs = append(*errs, err)
	}
	return t
}

func encodeCounters(m map[string]float64) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // checkCounters kept NaN and ±Inf out
	return string(b)
}

func decodeCounters(s string, errs *[]error) map[string]float64 {
	var m map[string]float64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		*errs = append(*errs, fmt.Errorf("stored counters %q: %w", s, err))
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func checkCounters(what string, m map[string]float64) error {
	for k, v := range m {
		if k == "" || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s: counter %q = %v, want a point name and a finite number", ErrInvalid, what, k, v)
		}
	}
	return nil
}

func validInspectionStatus(s string) bool {
	switch s {
	case InspectionOK, InspectionDueSoon, InspectionDue, InspectionOverdue, InspectionSkipped:
		return true
	}
	return false
}

func checkState(st InspectionState) error {
	name := fmt.Sprintf("inspection state %q on %q", st.Plan, st.Device)
	switch {
	case strings.TrimSpace(st.Plan) == "" || strings.TrimSpace(st.Device) == "":
		return fmt.Errorf("%w: %s: plan and device are required", ErrInvalid, name)
	case len(st.Plan) > 200 || len(st.Device) > 200:
		return fmt.Errorf("%w: %s: plan or device longer than 200 bytes", ErrInvalid, name)
	case !validInspectionStatus(st.Status):
		return fmt.Errorf("%w: %s: status %q, want ok, due_soon, due, overdue or skipped", ErrInvalid, name, st.Status)
	case st.Version < 0:
		return fmt.Errorf("%w: %s: negative version", ErrInvalid, name)
	}
	if err := checkCounters(name+": last_counters", st.LastCounters); err != nil {
		return err
	}
	return checkCounters(name+": next_counters", st.NextCounters)
}

func validRecordKind(k string) bool {
	switch k {
	case RecordDone, RecordSkipped, RecordRebased, RecordOpened:
		return true
	}
	return false
}

func checkRecord(r InspectionRecord) error {
	name := fmt.Sprintf("inspection record of %q on %q", r.Plan, r.Device)
	switch {
	case strings.TrimSpace(r.Plan) == "" || strings.TrimSpace(r.Device) == "":
		return fmt.Errorf("%w: %s: plan and device are required", ErrInvalid, name)
	case !validRecordKind(r.Kind):
		return fmt.Errorf("%w: %s: kind %q, want done, skipped, rebased or opened", ErrInvalid, name, r.Kind)
	case len(r.Note) > maxText:
		return fmt.Errorf("%w: %s: note longer than %d bytes", ErrInvalid, name, maxText)
	}
	return checkCounters(name, r.Counters)
}

// InspectionStates returns the state of every plan on device ("": every
// device) of the store's site, ordered by device and plan.
func (s *Store) InspectionStates(ctx context.Context, device string) ([]InspectionState, error) {
	q, args := `SELECT `+stateColumns+` FROM inspection_state WHERE site = ?`, []any{s.site}
	if device != "" {
		q += ` AND device = ?`
		args = append(args, device)
	}
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(q+` ORDER BY device, plan`), args...)
	if err != nil {
		return nil, fmt.Errorf("tickets: inspection states: %w", err)
	}
	defer rows.Close()
	out := []InspectionState{}
	for rows.Next() {
		st, err := scanState(rows)
		if err != nil {
			return nil, fmt.Errorf("tickets: inspection states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: inspection states: %w", err)
	}
	return out, nil
}

// PutInspectionStates writes states (insert or update) and appends records
// in one transaction. Each state's Version must be the stored row's (0 for
// a pair not stored yet): if any is not, nothing is written and the error
// wraps ErrStale for each. On success each element of states has its new
// Version, UpdatedAt and TicketID, and each record its ID.
//
// TicketID is the store's: it names the open inspection ticket of the
// cycle or is 0, kept so by OpenInspection, CompleteInspection and the
// lifecycle, and this method leaves it as stored. Those writes count as
// versions too, so reload (InspectionStates) after calling them.
func (s *Store) PutInspectionStates(ctx context.Context, states []InspectionState, records []InspectionRecord) error {
	var invalid []error
	for _, st := range states {
		if err := checkState(st); err != nil {
			invalid = append(invalid, err)
		}
	}
	for _, r := range records {
		if err := checkRecord(r); err != nil {
			invalid = append(invalid, err)
		}
	}
	if err := errors.Join(invalid...); err != nil {
		return fmt.Errorf("tickets: put inspection states: %w", err)
	}
	sts, recs := slices.Clone(states), slices.Clone(records)
	err := s.inTx(ctx, func(x *txn) error {
		var stale []error
		for i := range sts {
			if err := x.putState(&sts[i], nil); errors.Is(err, ErrStale) {
				stale = append(stale, err)
			} else if err != nil {
				return err
			}
		}
		if len(stale) > 0 {
			return errors.Join(stale...)
		}
		for i := range recs {
			if err := x.addRecord(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tickets: put inspection states: %w", err)
	}
	copy(states, sts)
	copy(records, recs)
	return nil
}

// putState writes st if its Version is the stored one, and gives it the
// next. ticket, when not nil, replaces the stored ticket id (0: none).
func (x *txn) putState(st *InspectionState, ticket *int64) error {
	var stored int64
	var storedTicket sql.NullInt64
	err := x.queryRow(`SELECT version, ticket_id FROM inspection_state WHERE site = ? AND plan = ? AND device = ?`,
		x.site, st.Plan, st.Device).Scan(&stored, &storedTicket)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if st.Version != stored {
		return fmt.Errorf("%w: plan %q on device %q: version %d was replaced by %d: reload and try again",
			ErrStale, st.Plan, st.Device, st.Version, stored)
	}
	tid := storedTicket.Int64
	if ticket != nil {
		tid = *ticket
	}
	st.Version, st.UpdatedAt, st.TicketID = stored+1, x.now, tid
	_, err = x.exec(`INSERT INTO inspection_state (site, plan, device, status, last_done, last_counters, anchor, next_due,
		next_counters, estimated, due_by, ticket_id, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, plan, device) DO UPDATE SET status = excluded.status, last_done = excluded.last_done,
		last_counters = excluded.last_counters, anchor = excluded.anchor, next_due = excluded.next_due,
		next_counters = excluded.next_counters, estimated = excluded.estimated, due_by = excluded.due_by,
		ticket_id = excluded.ticket_id, version = excluded.version, updated_at = excluded.updated_at`,
		x.site, st.Plan, st.Device, st.Status, nullStamp(st.LastDone), encodeCounters(st.LastCounters), nullStamp(st.Anchor),
		nullStamp(st.NextDue), encodeCounters(st.NextCounters), nullStamp(st.Estimated), st.DueBy,
		sql.NullInt64{Int64: tid, Valid: tid != 0}, st.Version, stamp(st.UpdatedAt))
	return err
}

// setStateTicket points the state of plan × device at ticket (0: none), as
// one more version, when the row exists and names another ticket.
func (x *txn) setStateTicket(plan, device string, ticket int64) error {
	_, err := x.exec(`UPDATE inspection_state SET ticket_id = ?, version = version + 1, updated_at = ?
		WHERE site = ? AND plan = ? AND device = ? AND COALESCE(ticket_id, 0) != ?`,
		sql.NullInt64{Int64: ticket, Valid: ticket != 0}, stamp(x.now), x.site, plan, device, ticket)
	return err
}

// deviceStates returns the stored states of device by plan.
func (x *txn) deviceStates(device string) (map[string]InspectionState, error) {
	rows, err := x.query(`SELECT `+stateColumns+` FROM inspection_state WHERE site = ? AND device = ?`, x.site, device)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]InspectionState{}
	for rows.Next() {
		st, err := scanState(rows)
		if err != nil {
			return nil, err
		}
		out[st.Plan] = st
	}
	return out, rows.Err()
}

// addRecord appends r to the history and sets its ID; a zero At is now,
// an empty Actor facilityd.
func (x *txn) addRecord(r *InspectionRecord) error {
	if r.At.IsZero() {
		r.At = x.now
	}
	r.At = r.At.UTC()
	if r.Actor == "" {
		r.Actor = systemActor
	}
	checklist := "[]"
	if len(r.Checklist) > 0 {
		b, err := json.Marshal(r.Checklist)
		if err != nil {
			return err
		}
		checklist = string(b)
	}
	return x.queryRow(`INSERT INTO inspection_records (site, plan, device, kind, at, actor, note, due_at, on_time, counters,
		ticket_id, via, checklist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		x.site, r.Plan, r.Device, r.Kind, stamp(r.At), r.Actor, r.Note, nullStamp(r.DueAt), boolInt(r.OnTime), encodeCounters(r.Counters),
		sql.NullInt64{Int64: r.TicketID, Valid: r.TicketID != 0}, r.Via, checklist).Scan(&r.ID)
}

const recordColumns = `id, plan, device, kind, at, actor, note, due_at, on_time, counters, COALESCE(ticket_id, 0), via, checklist`

func scanRecord(r scanner) (InspectionRecord, error) {
	var rec InspectionRecord
	var at, counters, checklist string
	var due sql.NullString
	if err := r.Scan(&rec.ID, &rec.Plan, &rec.Device, &rec.Kind, &at, &rec.Actor, &rec.Note, &due, &rec.OnTime,
		&counters, &rec.TicketID, &rec.Via, &checklist); err != nil {
		return rec, err
	}
	var errs []error
	rec.At = nullTime(sql.NullString{String: at, Valid: true}, &errs)
	rec.DueAt = nullTime(due, &errs)
	rec.Counters = decodeCounters(counters, &errs)
	if err := json.Unmarshal([]byte(checklist), &rec.Checklist); err != nil {
		errs = append(errs, fmt.Errorf("stored checklist: %w", err))
	}
	if len(rec.Checklist) == 0 {
		rec.Checklist = nil
	}
	if err := errors.Join(errs...); err != nil {
		return rec, fmt.Errorf("inspection record %d: %w", rec.ID, err)
	}
	return rec, nil
}

// InspectionHistory returns the records of the store's site that f
// selects, oldest first. Records
// are never changed or deleted: the database refuses it.
func (s *Store) InspectionHistory(ctx context.Context, f InspectionFilter) ([]InspectionRecord, error) {
	if f.Kind != "" && !validRecordKind(f.Kind) {
		return nil, fmt.Errorf("tickets: inspection history: %w: kind %q, want done, skipped, rebased or opened",
			ErrInvalid, f.Kind)
	}
	where, args := []string{"site = ?"}, []any{s.site}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Plan != "" {
		add("plan = ?", f.Plan)
	}
	if f.Device != "" {
		add("device = ?", f.Device)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if !f.From.IsZero() {
		add("at >= ?", stamp(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", stamp(f.To))
	}
	if f.TicketID != 0 {
		add("ticket_id = ?", f.TicketID)
	}
	q := `SELECT ` + recordColumns + ` FROM inspection_records WHERE ` + strings.Join(where, " AND ")
	q += " ORDER BY at, id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("tickets: inspection history: %w", err)
	}
	defer rows.Close()
	out := []InspectionRecord{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("tickets: inspection history: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tickets: inspection history: %w", err)
	}
	return out, nil
}
