package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// TicketService is what the ticket routes need; *tickets.Store provides it.
type TicketService interface {
	TicketReader
	TicketWriter
}

// TicketReader reads tickets.
type TicketReader interface {
	List(ctx context.Context, f tickets.Filter) ([]tickets.Ticket, error)
	// Query is the queue's page: filters, search and paging done by the
	// database, with the count of all that match.
	Query(ctx context.Context, q tickets.Query) (tickets.Page, error)
	Get(ctx context.Context, id int64) (tickets.Ticket, []tickets.Event, error)
	Stats(ctx context.Context, from, to time.Time) ([]tickets.CategoryStats, error)
	Outbox(ctx context.Context) ([]tickets.OutboxState, error)
}

// TicketWriter changes tickets on behalf of an actor.
type TicketWriter interface {
	Create(ctx context.Context, actor string, m tickets.Manual) (tickets.Ticket, bool, error)
	// Move changes the status; see tickets.Store.Move (force resolves or
	// closes a ticket whose alert still fires).
	Move(ctx context.Context, id int64, m tickets.Move) (tickets.Ticket, error)
	Assign(ctx context.Context, id int64, assignee, actor, comment string) (tickets.Ticket, error)
	Comment(ctx context.Context, id int64, actor, text string) (tickets.Ticket, error)
	FollowUp(ctx context.Context, id int64, actor, result, note string) (tickets.Ticket, error)
}

// actionStatus maps the transition actions of the API to statuses.
var actionStatus = map[string]tickets.Status{
	"ack": tickets.StatusAcknowledged, "start": tickets.StatusInProgress, "hold": tickets.StatusOnHold,
	"resolve": tickets.StatusResolved, "close": tickets.StatusClosed, "cancel": tickets.StatusCancelled,
}

func (s *Server) ticketRoutes() {
	s.mux.HandleFunc("GET /api/v1/tickets", s.ticketList)
	s.mux.HandleFunc("GET /api/v1/tickets/stats", s.ticketStats)
	s.mux.HandleFunc("GET /api/v1/tickets/outbox", s.ticketOutbox)
	s.mux.HandleFunc("GET /api/v1/tickets/{id}", s.ticket)
	s.mux.HandleFunc("POST /api/v1/tickets", s.require(RoleOperator, s.ticketCreate))
	s.mux.HandleFunc("POST /api/v1/tickets/{id}/{action}", s.require(RoleOperator, s.ticketAction))
}

// ticketList answers the tickets that match, newest first: filters status
// (comma-separated), open, priority, assignee, category, device, source and
// site (the daemon's own by default, all for every site);
// q searches the texts (and a number finds its ticket); limit and offset
// page. The count of all that match is the X-Total-Count header, so that
// the body stays the list it always was.
func (s *Server) ticketList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tq := tickets.Query{Filter: tickets.Filter{Device: q.Get("device"), Category: q.Get("category"), Priority: q.Get("priority"),
		Assignee: q.Get("assignee"), Source: q.Get("source"), OpenOnly: q.Get("open") == "true"}, Search: q.Get("q")}
	if st := q.Get("status"); st != "" {
		tq.Status = strings.Split(st, ",")
	}
	tq.Site = ticketSite(q.Get("site"))
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &tq.Limit, maxTicketPage}, {"offset", &tq.Offset, math.MaxInt32}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > p.max {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: want an integer 0..%d, got %s", p.name, p.max, strconv.Quote(v)))
				return
			}
			*p.dst = n
		}
	}
	if len(tq.Search) > tickets.MaxSearch {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("q: at most %d bytes", tickets.MaxSearch))
		return
	}
	page, err := s.Tickets.Query(r.Context(), tq)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	if page.Tickets == nil {
		page.Tickets = []tickets.Ticket{}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(page.Total))
	writeJSON(w, http.StatusOK, page.Tickets)
}

// AllSites is the site= of GET /api/v1/tickets that lists every site's
// tickets.
const AllSites = "all"

// ticketSite is the Filter.Site of the site= parameter v: that site, every
// site for AllSites, and by default the daemon's own (the store's), so
// that the consoles of sites that share a database each show their own.
func ticketSite(v string) string {
	if v == AllSites {
		return tickets.AllSites
	}
	return v
}

// maxTicketPage is the largest limit of GET /api/v1/tickets.
const maxTicketPage = 10000

func (s *Server) ticket(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	t, ev, err := s.Tickets.Get(r.Context(), id)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket": t, "events": ev})
}

// ticketStats returns MTTA and MTTR per category of the tickets opened in
// [from, to): RFC 3339 times, by default the 30 days up to now.
func (s *Server) ticketStats(w http.ResponseWriter, r *http.Request) {
	to, from := time.Now(), time.Time{}
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+": want an RFC 3339 time such as 2026-03-01T00:00:00Z")
				return
			}
			*dst = t
		}
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	st, err := s.Tickets.Stats(r.Context(), from, to)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "categories": st})
}

func (s *Server) ticketOutbox(w http.ResponseWriter, r *http.Request) {
	st, err := s.Tickets.Outbox(r.Context())
	if err != nil {
		s.ticketError(w, err)
		return
	}
	if st == nil {
		st = []tickets.OutboxState{}
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) ticketCreate(w http.ResponseWriter, r *http.Request, actor string) {
	var m tickets.Manual
	if !decodeBody(w, r, &m, false) {
		return
	}
	t, created, err := s.Tickets.Create(r.Context(), actor, m)
	if err != nil {
		s.ticketError(w, err)
		return
	}
	code := http.StatusOK // an open ticket had the key: the request was a retry
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", fmt.Sprintf("/api/v1/tickets/%d", t.ID))
	}
	writeJSON(w, code, t)
}

// actionRequest is the body of POST /api/v1/tickets/{id}/{action}; each
// action reads its own fields and refuses the others.
type actionRequest struct {
	Comment  string  `json:"comment"`
	Force    bool    `json:"force"`
	Assignee *string `json:"assignee"`
	Text     string  `json:"text"`
	Result   string  `json:"result"`
	Note     string  `json:"note"`
}

// actionFields are the body fields each action takes.
var actionFields = map[string][]string{
	"assign": {"assignee", "comment"}, "comment": {"text"}, "follow-up": {"result", "note"},
}

func (s *Server) ticketAction(w http.ResponseWriter, r *http.Request, actor string) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	action := r.PathValue("action")
	to, isMove := actionStatus[action]
	fields, known := actionFields[action]
	if !isMove && !known {
		writeError(w, http.StatusNotFound, "unknown action "+strconv.Quote(action)+
			": use ack, start, hold, resolve, close, cancel, assign, comment or follow-up")
		return
	}
	if isMove {
		fields = []string{"comment", "force"}
	}
	var raw map[string]json.RawMessage
	if !decodeBody(w, r, &raw, true) {
		return
	}
	for k := range raw {
		if !slices.Contains(fields, k) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: unknown field %q (fields: %s)", action, k, strings.Join(fields, ", ")))
			return
		}
	}
	var req actionRequest
	if raw != nil {
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &req); err != nil {
			writeError(w, http.StatusBadRequest, action+": "+err.Error())
			return
		}
	}
	if !s.ownSiteTicket(w, r, id) {
		return
	}
	var t tickets.Ticket
	var err error
	switch {
	case isMove:
		t, err = s.Tickets.Move(r.Context(), id, tickets.Move{To: to, Actor: actor, Comment: req.Comment, Force: req.Force})
	case action == "assign":
		if req.Assignee == nil {
			writeError(w, http.StatusBadRequest, `assign: "assignee" is required ("" unassigns)`)
			return
		}
		t, err = s.Tickets.Assign(r.Context(), id, *req.Assignee, actor, req.Comment)
	case action == "comment":
		t, err = s.Tickets.Comment(r.Context(), id, actor, req.Text)
	default:
		t, err = s.Tickets.FollowUp(r.Context(), id, actor, req.Result, req.Note)
	}
	if err != nil {
		s.ticketError(w, err)
		return
	}
	s.log.Info("ticket changed", "id", id, "action", action, "by", actor, "status", t.Status)
	writeJSON(w, http.StatusOK, t)
}

// ownSiteTicket answers 403 and false when ticket id belongs to another site
// than the store's own: on a database that sites share, a site's API reads
// every site's tickets (site=all) but changes only its own, so that a token
// handed out at one building acts on that building's work. A store that
// does not say its site (a test double) is not checked.
func (s *Server) ownSiteTicket(w http.ResponseWriter, r *http.Request, id int64) bool {
	sited, ok := s.Tickets.(interface{ Site() string })
	if !ok {
		return true
	}
	t, _, err := s.Tickets.Get(r.Context(), id)
	if err != nil {
		s.ticketError(w, err)
		return false
	}
	if own := sited.Site(); t.Site != "" && t.Site != own {
		writeError(w, http.StatusForbidden, fmt.Sprintf("ticket %d belongs to site %q, this daemon's is %q: act on it from that site's console", id, t.Site, own))
		return false
	}
	return true
}

// decodeBody decodes one JSON object of at most 64 KiB into v, strictly; an
// empty body is allowed when optional.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && optional {
		return true
	}
	if err == nil {
		if _, e := dec.Token(); !errors.Is(e, io.EOF) {
			err = errors.New("one JSON object only")
		}
	}
	if err != nil {
		code := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, code, "body: "+err.Error())
		return false
	}
	return true
}

func ticketID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "ticket id must be a positive integer")
		return 0, false
	}
	return id, true
}

// ticketError answers err with the status its kind calls for.
func (s *Server) ticketError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, tickets.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, tickets.ErrTransition), errors.Is(err, tickets.ErrAlertFiring):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, tickets.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case tickets.NotOpen(err): // the store logs its first failure and its recovery
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.log.Error("tickets", "err", err)
		writeError(w, http.StatusInternalServerError, "tickets: internal error")
	}
}
