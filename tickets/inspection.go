package tickets

import (
	"errors"
	"time"
)

// Inspection statuses of a plan × device pair.
const (
	InspectionOK      = "ok"
	InspectionDueSoon = "due_soon" // within the plan's lead: its ticket is open
	InspectionDue     = "due"
	InspectionOverdue = "overdue" // past due + grace
	InspectionSkipped = "skipped" // skipped for this cycle, with a reason
)

// InspectionState is where one preventive-maintenance plan stands for one
// device. The inspections package computes it; the store keeps it in the
// ticket database so that it survives restarts and is shared by every
// process on the database.
type InspectionState struct {
	Plan   string `json:"plan"`
	Device string `json:"device"`
	Status string `json:"status"`
	// LastDone is the last completion (zero: never done here).
	LastDone time.Time `json:"last_done,omitzero"`
	// LastCounters are the counter readings at the last completion or
	// rebase, by point name.
	LastCounters map[string]float64 `json:"last_counters,omitempty"`
	// Anchor is the start of a fixed schedule's cycles.
	Anchor time.Time `json:"anchor,omitzero"`
	// NextDue is the calendar due date (zero when the plan has none).
	NextDue time.Time `json:"next_due,omitzero"`
	// NextCounters is the counter value at which each counter point falls due.
	NextCounters map[string]float64 `json:"next_counters,omitempty"`
	// Estimated is when the plan falls due, whichever comes first: the
	// calendar date or a counter's estimate from its average daily use.
	Estimated time.Time `json:"estimated,omitzero"`
	// DueBy names what makes it due first: "calendar" or a counter point.
	DueBy string `json:"due_by,omitempty"`
	// TicketID is the open inspection ticket of this cycle (0: none).
	TicketID int64 `json:"ticket_id,omitempty"`
	// Version counts the writes of the row; a write that names an old
	// version is refused (two processes completing one cycle at once).
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Due is when the pair falls due: the estimate (whichever comes first of
// the calendar and the counters) when there is one, else the calendar date;
// zero when neither is known.
func (s InspectionState) Due() time.Time {
	if !s.Estimated.IsZero() {
		return s.Estimated
	}
	return s.NextDue
}

// Evidence kinds a checklist item asks for.
const (
	EvidenceReading = "reading" // a number with a unit, within limits
	EvidenceYesNo   = "yes_no"
	EvidenceText    = "text"
)

// ChecklistItem is one line of an inspection ticket's checklist, with its
// answer once given.
type ChecklistItem struct {
	Index    int      `json:"index"`
	Text     string   `json:"text"`
	Required bool     `json:"required,omitempty"`
	Evidence string   `json:"evidence"`
	Unit     string   `json:"unit,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	// The answer: Value for a reading, Answer "yes"/"no" or text.
	Answer string   `json:"answer,omitempty"`
	Value  *float64 `json:"value,omitempty"`
	// Failed is set when a reading is outside its limits or a yes/no
	// item is answered "no"; Note explains it.
	Failed     bool      `json:"failed,omitempty"`
	Note       string    `json:"note,omitempty"`
	AnsweredBy string    `json:"answered_by,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	// Corrective is the ticket opened for a failed item.
	Corrective int64 `json:"corrective,omitempty"`
	// Priority is the corrective ticket's priority when the item fails;
	// empty means the inspection ticket's.
	Priority string `json:"priority,omitempty"`
}

// Kinds of inspection history records.
const (
	RecordDone    = "done"
	RecordSkipped = "skipped"
	RecordRebased = "rebased" // a counter went backwards (meter swap, reset)
	RecordOpened  = "opened"  // the cycle's ticket opened
)

// InspectionRecord is one entry of the inspection history, which is never
// deleted: the regulator's record.
type InspectionRecord struct {
	ID     int64     `json:"id"`
	Plan   string    `json:"plan"`
	Device string    `json:"device"`
	Kind   string    `json:"kind"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
	// DueAt is the due date of the cycle the record closes.
	DueAt    time.Time          `json:"due_at,omitzero"`
	OnTime   bool               `json:"on_time"`
	Counters map[string]float64 `json:"counters,omitempty"`
	TicketID int64              `json:"ticket_id,omitempty"`
	// Via names the deeper plan whose completion completed this one.
	Via       string          `json:"via,omitempty"`
	Checklist []ChecklistItem `json:"checklist,omitempty"`
}

// Completion is an inspection done (or, with Skip, skipped) on a device:
// through its ticket's lifecycle, the API or `facilityd inspections done`.
type Completion struct {
	Plan   string
	Device string
	At     time.Time
	Actor  string
	Note   string
	// Counters are the readings at completion: live data, or --reading.
	Counters map[string]float64
	Skip     bool
	// Version, when non-zero, is the state version the completer saw: a
	// completion of a cycle another process completed meanwhile is refused
	// (ErrStale), so two people closing one inspection make one record.
	Version  int64
	TicketID int64
}

// InspectionAdvancer is the plans' part of a completion, called inside the
// store's transaction: given the device's current states by plan, it
// returns the states to write — the completed plan's and those of the plans
// it includes — and a record for each (Via set on the included ones).
type InspectionAdvancer func(states map[string]InspectionState, c Completion) ([]InspectionState, []InspectionRecord, error)

// ErrStale means a write named a version of an inspection state that is no
// longer the stored one: another process completed or advanced the cycle
// meanwhile.
var ErrStale = errors.New("inspection changed meanwhile")

// InspectionFilter selects inspection records for InspectionHistory. Zero
// fields select everything.
type InspectionFilter struct {
	Plan   string
	Device string
	Kind   string // done, skipped, rebased or opened
	// From and To bound the records' time: From <= at < To.
	From, To time.Time
	TicketID int64
	// Limit caps the number of records, the oldest kept; zero means no cap.
	Limit int
}
