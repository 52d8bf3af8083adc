package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/tickets"
)

// TicketService is what the ticket routes need; *tickets.Store provides it.
type TicketService interface {
	List(ctx context.Context, f tickets.Filter) ([]tickets.Ticket, error)
	Get(ctx context.Context, id int64) (tickets.Ticket, []tickets.Event, error)
}

func (s *Server) ticketRoutes() {
	s.mux.HandleFunc("GET /api/v1/tickets", s.ticketList)
	s.mux.HandleFunc("GET /api/v1/tickets/{id}", s.ticket)
}

func (s *Server) ticketList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := tickets.Filter{Device: q.Get("device"), OpenOnly: q.Get("open") == "true"}
	if st := q.Get("status"); st != "" {
		f.Status = strings.Split(st, ",")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit: want an integer 0..10000, got "+strconv.Quote(l))
			return
		}
		f.Limit = n
	}
	ts, err := s.Tickets.List(r.Context(), f)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if ts == nil {
		ts = []tickets.Ticket{}
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) ticket(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ticket id must be an integer")
		return
	}
	t, ev, err := s.Tickets.Get(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket": t, "events": ev})
}
