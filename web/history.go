package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HistoryService reads history back from InfluxDB; the app provides it over
// store.Querier.
type HistoryService interface {
	// PointHistory returns the points of a device over [from, to),
	// downsampled in InfluxDB to at most MaxHistoryPoints per series, with
	// the thresholds the rules compare them with. ErrNoDevice or ErrBadPoint
	// (wrapped) say what was asked wrong.
	PointHistory(ctx context.Context, device string, points []string, from, to time.Time) (History, error)
	// AlertHistory returns alert state changes in [from, to), newest first,
	// of one device or (device "") all.
	AlertHistory(ctx context.Context, device string, from, to time.Time, limit int) ([]AlertEvent, error)
}

// Errors of a HistoryService that are the caller's.
var (
	ErrNoDevice = errors.New("no such device")
	ErrBadPoint = errors.New("point cannot be charted")
)

// MaxHistoryPoints is the most points per series a history answer has.
const MaxHistoryPoints = 2000

// History is the answer of GET /api/v1/devices/{id}/history.
type History struct {
	Device string    `json:"device"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Step is the aggregation window, in seconds: each value is the mean
	// over the Step seconds from its time.
	Step       float64         `json:"step"`
	Series     []HistorySeries `json:"series"`
	Thresholds []Threshold     `json:"thresholds"`
}

// HistorySeries is one point's values, in columns as charts take them: T in
// Unix seconds, V the mean over the window (booleans: the share of time
// true).
type HistorySeries struct {
	Point string    `json:"point"`
	Unit  string    `json:"unit,omitempty"`
	T     []int64   `json:"t"`
	V     []float64 `json:"v"`
}

// AlertEvent is one alert state change, from the alerts measurement.
type AlertEvent struct {
	Time     time.Time `json:"time"`
	Device   string    `json:"device"`
	Rule     string    `json:"rule"`
	State    string    `json:"state"`
	Severity string    `json:"severity,omitempty"`
}

// Limits of the history routes.
const (
	maxHistoryPointsAsked = 8
	maxHistorySpan        = 400 * 24 * time.Hour
	defaultAlertHistory   = 500
	maxAlertHistory       = 5000
)

func (s *Server) historyRoutes() {
	s.mux.HandleFunc("GET /api/v1/devices/{id}/history", s.pointHistory)
	s.mux.HandleFunc("GET /api/v1/alerts/history", s.alertHistory)
}

// timeRange reads from and to (RFC 3339; default the 24 hours up to now).
func (s *Server) timeRange(w http.ResponseWriter, r *http.Request, def time.Duration) (from, to time.Time, ok bool) {
	q := r.URL.Query()
	to = s.now()
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+": want an RFC 3339 time such as 2026-03-01T00:00:00Z, got "+strconv.Quote(v))
				return from, to, false
			}
			*dst = t
		}
	}
	if from.IsZero() {
		from = to.Add(-def)
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, "from must be before to")
		return from, to, false
	}
	if to.Sub(from) > maxHistorySpan {
		writeError(w, http.StatusBadRequest, "from … to: at most 400 days")
		return from, to, false
	}
	return from, to, true
}

func (s *Server) pointHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var points []string
	for p := range strings.SplitSeq(r.URL.Query().Get("points"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			points = append(points, p)
		}
	}
	if len(points) == 0 || len(points) > maxHistoryPointsAsked {
		writeError(w, http.StatusBadRequest, "points: want 1 to 8 point names, comma-separated, such as points=discharge_pressure,motor_current")
		return
	}
	from, to, ok := s.timeRange(w, r, 24*time.Hour)
	if !ok {
		return
	}
	h, err := s.History.PointHistory(r.Context(), id, points, from, to)
	if err != nil {
		s.historyError(w, r, err)
		return
	}
	if h.Thresholds == nil {
		h.Thresholds = []Threshold{}
	}
	writeJSON(w, http.StatusOK, h)
}

// alertHistory answers the alert state changes in from … to (default the
// last 7 days), newest first, filtered by device, rule, severity and state.
func (s *Server) alertHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := s.timeRange(w, r, 7*24*time.Hour)
	if !ok {
		return
	}
	limit := defaultAlertHistory
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxAlertHistory {
			writeError(w, http.StatusBadRequest, "limit: want an integer 1..5000, got "+strconv.Quote(l))
			return
		}
		limit = n
	}
	rule, sev, state := q.Get("rule"), q.Get("severity"), q.Get("state")
	// The filters apply after the read, so read enough to fill the page.
	read := limit
	if rule != "" || sev != "" || state != "" {
		read = maxAlertHistory
	}
	all, err := s.History.AlertHistory(r.Context(), q.Get("device"), from, to, read)
	if err != nil {
		s.historyError(w, r, err)
		return
	}
	out := []AlertEvent{}
	for _, e := range all {
		if (rule == "" || e.Rule == rule) && (sev == "" || e.Severity == sev) && (state == "" || e.State == state) {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// historyError answers err. A request whose client went away (a browser
// that left the page while its chart loaded) is no failure of the server's:
// it is logged at debug level only.
func (s *Server) historyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil:
		s.log.Debug("history: the client went away", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "history: request cancelled")
	case errors.Is(err, ErrNoDevice):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrBadPoint):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		s.log.Error("history", "err", err)
		writeError(w, http.StatusBadGateway, "history: InfluxDB did not answer: "+err.Error())
	}
}
