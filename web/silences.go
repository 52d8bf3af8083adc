package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/facilityd/facilityd/rules"
)

// SilenceService is what the silence routes need; the app provides it over
// the silences file it shares with the CLI.
type SilenceService interface {
	ListSilences(ctx context.Context) ([]rules.Silence, error)
	// AddSilence stores a silence; a zero StartsAt means now.
	AddSilence(ctx context.Context, s rules.Silence) (rules.Silence, error)
	// ExpireSilence ends a silence now; rules.ErrNoSilence for an unknown id.
	ExpireSilence(ctx context.Context, id string) error
}

// WindowLister is implemented by a SilenceService that also knows the
// recurring maintenance windows of the rule files (the app does); the
// silence list then shows them too.
type WindowLister interface {
	// MaintenanceWindows returns the windows as they stand at now.
	MaintenanceWindows(ctx context.Context, now time.Time) []rules.WindowStatus
}

func (s *Server) silenceRoutes() {
	s.mux.HandleFunc("GET /api/v1/silences", s.silenceList)
	s.mux.HandleFunc("POST /api/v1/silences", s.require(RoleOperator, s.silenceAdd))
	s.mux.HandleFunc("DELETE /api/v1/silences/{id}", s.require(RoleOperator, s.silenceExpire))
}

// silenceList lists silences and maintenance windows, the recurring ones of
// the rule files last (with "recurring": true, their current or next
// occurrence as starts_at and ends_at, and their schedule); ?active=true
// keeps those in force now, ?active=false those that are not.
func (s *Server) silenceList(w http.ResponseWriter, r *http.Request) {
	list, err := s.Silences.ListSilences(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	now := time.Now()
	keep := func(active bool) bool {
		switch r.URL.Query().Get("active") {
		case "true":
			return active
		case "false":
			return !active
		}
		return true
	}
	out := []any{}
	for _, sil := range list {
		if keep(sil.Active(now)) {
			out = append(out, sil)
		}
	}
	if wl, ok := s.Silences.(WindowLister); ok {
		for _, ws := range wl.MaintenanceWindows(r.Context(), now) {
			if keep(ws.Active) {
				out = append(out, ws)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// silenceRequest is the body of POST /api/v1/silences: matchers plus a time
// range, given as ends_at or as a duration from the start.
type silenceRequest struct {
	Kind     rules.SilenceKind `json:"kind"`
	Matchers rules.Matchers    `json:"matchers"`
	StartsAt time.Time         `json:"starts_at"`
	EndsAt   time.Time         `json:"ends_at"`
	Duration string            `json:"duration"`
	Comment  string            `json:"comment"`
}

func (s *Server) silenceAdd(w http.ResponseWriter, r *http.Request, actor string) {
	var req silenceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "silence: "+err.Error())
		return
	}
	if req.Kind == "" {
		req.Kind = rules.KindSilence
	}
	sil := rules.Silence{Kind: req.Kind, Matchers: req.Matchers, StartsAt: req.StartsAt, EndsAt: req.EndsAt,
		CreatedBy: actor, Comment: req.Comment}
	if req.Duration != "" {
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 || !req.EndsAt.IsZero() {
			writeError(w, http.StatusBadRequest, "silence: give ends_at or a positive duration such as \"2h\", not both")
			return
		}
		if sil.StartsAt.IsZero() {
			sil.StartsAt = time.Now()
		}
		sil.EndsAt = sil.StartsAt.Add(d)
	}
	out, err := s.Silences.AddSilence(r.Context(), sil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "silence: "+err.Error())
		return
	}
	s.log.Info("silence added", "id", out.ID, "kind", out.Kind, "by", actor, "matchers", out.Matchers.Strings(),
		"starts_at", out.StartsAt, "ends_at", out.EndsAt)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) silenceExpire(w http.ResponseWriter, r *http.Request, actor string) {
	id := r.PathValue("id")
	if strings.HasPrefix(id, rules.WindowIDPrefix) {
		writeError(w, http.StatusBadRequest, "silence "+id+": a recurring maintenance window is written in a rule file: "+
			"change it there and reload, or add a silence for the alerts it should not mute")
		return
	}
	if err := s.Silences.ExpireSilence(r.Context(), id); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, rules.ErrNoSilence) {
			code = http.StatusNotFound
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("silence expired", "id", id, "by", actor)
	writeJSON(w, http.StatusOK, map[string]string{"expired": id})
}
