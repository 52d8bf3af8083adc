package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/duration"
	"github.com/facilityd/facilityd/tickets"
)

// InspectionService is what the inspection routes need; the app provides it
// over the plans and the ticket database.
type InspectionService interface {
	// Inspections lists plan × device pairs, soonest due first.
	Inspections(ctx context.Context, q InspectionQuery) ([]Inspection, error)
	// Inspection returns one pair and its history, newest last;
	// tickets.ErrNotFound when no plan of that name matches the device.
	Inspection(ctx context.Context, plan, device string) (Inspection, []tickets.InspectionRecord, error)
	// CompleteInspection records work done (or, with Skip, skipped) and
	// advances the plan; see tickets.Store.CompleteInspection.
	CompleteInspection(ctx context.Context, c tickets.Completion) ([]tickets.InspectionRecord, error)
	// Checklist returns an inspection ticket's checklist with its answers.
	Checklist(ctx context.Context, ticketID int64) ([]tickets.ChecklistItem, error)
	// AnswerItem records an answer to one item; see tickets.Store.AnswerItem.
	AnswerItem(ctx context.Context, ticketID int64, index int, answer string, value *float64, note, actor string) (tickets.ChecklistItem, error)
}

// InspectionQuery selects inspections; zero fields select everything.
type InspectionQuery struct {
	Device string
	Plan   string
	// DueWithin keeps pairs due (or estimated due) before now + DueWithin.
	DueWithin time.Duration
	// Overdue keeps overdue pairs only.
	Overdue bool
}

// Inspection is one plan × device as the API shows it: the stored state and
// what the plan says.
type Inspection struct {
	// ID is PLAN:DEVICE, the {id} of /api/v1/inspections/{id}.
	ID string `json:"id"`
	tickets.InspectionState
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category,omitempty"`
	Location    string `json:"location,omitempty"`
	// Interval says when the plan falls due, e.g. "every 15d or 5000 trips".
	Interval string `json:"interval,omitempty"`
	// Zone is the plan's time zone: due dates are calendar days there.
	Zone *time.Location `json:"-"`
}

// InspectionID is the API's id of a plan × device pair.
func InspectionID(plan, device string) string { return plan + ":" + device }

// splitInspectionID splits PLAN:DEVICE. Plan names have no colon.
func splitInspectionID(id string) (plan, device string, ok bool) {
	plan, device, ok = strings.Cut(id, ":")
	return plan, device, ok && plan != "" && device != ""
}

func (s *Server) inspectionRoutes() {
	s.mux.HandleFunc("GET /api/v1/inspections", s.inspectionList)
	s.mux.HandleFunc("GET /api/v1/inspections.ics", s.inspectionCalendar)
	s.mux.HandleFunc("GET /api/v1/inspections/{id}", s.inspection)
	s.mux.HandleFunc("POST /api/v1/inspections/{id}/{action}", s.require(RoleOperator, s.inspectionAction))
	s.mux.HandleFunc("GET /api/v1/tickets/{id}/checklist", s.checklist)
	s.mux.HandleFunc("POST /api/v1/tickets/{id}/checklist", s.require(RoleOperator, s.checklistAnswer))
}

func (s *Server) checklist(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	items, err := s.Inspections.Checklist(r.Context(), id)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	if items == nil {
		items = []tickets.ChecklistItem{}
	}
	writeJSON(w, http.StatusOK, items)
}

// answerRequest is the body of POST /api/v1/tickets/{id}/checklist: one
// item's answer. A reading sends value (or answer as a number), yes_no
// answer "yes" or "no", text answer; a failed item needs a note.
type answerRequest struct {
	Index  int      `json:"index"`
	Answer string   `json:"answer"`
	Value  *float64 `json:"value"`
	Note   string   `json:"note"`
}

func (s *Server) checklistAnswer(w http.ResponseWriter, r *http.Request, actor string) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	var req answerRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	item, err := s.Inspections.AnswerItem(r.Context(), id, req.Index, req.Answer, req.Value, req.Note, actor)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

func (s *Server) inspectionQuery(w http.ResponseWriter, r *http.Request) (InspectionQuery, bool) {
	v := r.URL.Query()
	q := InspectionQuery{Device: v.Get("device"), Plan: v.Get("plan"), Overdue: v.Get("overdue") == "true"}
	if d := v.Get("due_within"); d != "" {
		dur, err := duration.Parse(d)
		if err == nil && dur < 0 {
			err = errors.New("want a span ahead, such as 30d, 2w or 36h, got " + d)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "due_within: "+err.Error())
			return q, false
		}
		q.DueWithin = dur
	}
	return q, true
}

func (s *Server) inspectionList(w http.ResponseWriter, r *http.Request) {
	q, ok := s.inspectionQuery(w, r)
	if !ok {
		return
	}
	list, err := s.Inspections.Inspections(r.Context(), q)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	if list == nil {
		list = []Inspection{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) inspection(w http.ResponseWriter, r *http.Request) {
	plan, device, ok := splitInspectionID(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusBadRequest, "inspection id: want PLAN:DEVICE, got "+r.PathValue("id"))
		return
	}
	in, hist, err := s.Inspections.Inspection(r.Context(), plan, device)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	if hist == nil {
		hist = []tickets.InspectionRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"inspection": in, "history": hist})
}

// completionRequest is the body of POST /api/v1/inspections/{id}/done|skip.
type completionRequest struct {
	// At is when the work was done (RFC 3339); default now.
	At   time.Time `json:"at"`
	Note string    `json:"note"`
	// Readings are counter readings at completion, by point; without them
	// the live values are taken.
	Readings map[string]float64 `json:"readings"`
	// Version, if set, is the state version the caller saw: a cycle
	// completed meanwhile by someone else answers 409.
	Version int64 `json:"version"`
}

func (s *Server) inspectionAction(w http.ResponseWriter, r *http.Request, actor string) {
	plan, device, ok := splitInspectionID(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusBadRequest, "inspection id: want PLAN:DEVICE, got "+r.PathValue("id"))
		return
	}
	action := r.PathValue("action")
	if !slices.Contains([]string{"done", "skip"}, action) {
		writeError(w, http.StatusNotFound, "unknown action "+action+": want done or skip")
		return
	}
	var req completionRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if action == "skip" && strings.TrimSpace(req.Note) == "" {
		writeError(w, http.StatusBadRequest, "skip: note: say why (device out of service, …)")
		return
	}
	c := tickets.Completion{Plan: plan, Device: device, At: req.At, Actor: actor, Note: req.Note,
		Counters: req.Readings, Skip: action == "skip", Version: req.Version}
	recs, err := s.Inspections.CompleteInspection(r.Context(), c)
	if err != nil {
		s.inspectionError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": recs})
}

func (s *Server) inspectionError(w http.ResponseWriter, err error) {
	if errors.Is(err, tickets.ErrStale) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	s.ticketError(w, err)
}
