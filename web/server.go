package web

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/internal/httpjson"
)

//go:embed assets
var assets embed.FS

// Device is a device as the API shows it.
type Device struct {
	ID       string            `json:"id"`
	Profile  string            `json:"profile"`
	Type     string            `json:"type"`
	Location string            `json:"location,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	State    string            `json:"state"`
	Points   map[string]any    `json:"points"`
	Health   map[string]any    `json:"health,omitempty"`
}

// Alert is an active alert as the API shows it.
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Rule        string            `json:"rule"`
	Device      string            `json:"device"`
	Severity    string            `json:"severity"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"active_at"`
	FiredAt     *time.Time        `json:"fired_at,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Labels are what silences and inhibit rules match on.
	Labels map[string]string `json:"labels,omitempty"`
	// SilencedBy and InhibitedBy say what mutes the alert: it is still
	// recorded, but opens no ticket.
	SilencedBy  []string `json:"silenced_by,omitempty"`
	InhibitedBy string   `json:"inhibited_by,omitempty"`
	// Value is the rule's value when the alert last changed state; nil
	// when it has none (NaN).
	Value *float64 `json:"value"`
}

// Status is what the server shows of the running daemon; the app implements it.
type Status interface {
	Devices() []Device
	Alerts() []Alert
	// Health reports "status": "ok" when facilityd works, "degraded" when
	// it works with a part impaired (InfluxDB away: readings wait in the
	// spool), "failing" when it does not, and its parts' figures.
	Health() map[string]any
}

// Deps are the server's data sources. Each area of the API keeps its own
// small interface in its own file; a nil source leaves its routes out.
type Deps struct {
	Status   Status
	Tickets  TicketService
	Silences SilenceService
	// Inspections serves /api/v1/inspections and its calendar feed.
	Inspections InspectionService
	// History serves the charts' and alerts' history from InfluxDB.
	History HistoryService
	// Energy serves /api/v1/energy/: consumption, baselines, anomalies.
	Energy EnergyService
	// Reports serves /api/v1/reports: the archive and on-demand reports.
	Reports ReportService
	// Events serves the live stream GET /api/v1/events; Watch feeds it.
	Events *Hub
	// Now is the clock of the overview and history; time.Now when nil.
	Now  func() time.Time
	Auth *Auth
	// Metrics serves /metrics (Prometheus text format); nil leaves it out.
	Metrics http.Handler
	// Read says whether GETs of /api/... and /metrics need a token (see
	// Config.EffectiveRead). Unset, Serve picks the default for the address
	// it listens on: open on loopback, token elsewhere. An unknown mode
	// reads as token.
	Read ReadMode
}

// Server is the HTTP API and dashboard.
type Server struct {
	Deps
	src  Status
	auth *Auth
	log  *slog.Logger
	mux  *http.ServeMux
	read atomic.Value // ReadMode; unset until known
	// streamsDone ends the event streams when the server shuts down: they
	// never finish on their own, and Shutdown waits for handlers.
	streamsDone chan struct{}
	streamsStop sync.Once
}

// New builds the server; it does no I/O.
func New(deps Deps, logger *slog.Logger) *Server {
	s := &Server{Deps: deps, src: deps.Status, auth: deps.Auth, log: logger, mux: http.NewServeMux(), streamsDone: make(chan struct{})}
	switch deps.Read {
	case ReadDefault:
	case ReadOpen, ReadToken:
		s.read.Store(deps.Read)
	default:
		logger.Error("http: unknown read mode, reading needs a token", "read", string(deps.Read))
		s.read.Store(ReadToken)
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/v1/whoami", s.whoami)
	if deps.Metrics != nil {
		s.mux.Handle("GET /metrics", deps.Metrics)
	}
	s.mux.HandleFunc("GET /api/v1/devices", s.devices)
	s.mux.HandleFunc("GET /api/v1/devices/{id}", s.device)
	s.mux.HandleFunc("GET /api/v1/alerts", s.alerts)
	s.mux.HandleFunc("GET /api/v1/overview", s.overview)
	if deps.Events != nil {
		s.mux.HandleFunc("GET /api/v1/events", s.events)
	}
	if deps.History != nil {
		s.historyRoutes()
	}
	if deps.Tickets != nil {
		s.ticketRoutes()
	}
	if deps.Silences != nil {
		s.silenceRoutes()
	}
	if deps.Inspections != nil {
		s.inspectionRoutes()
	}
	if deps.Energy != nil {
		s.energyRoutes()
	}
	if deps.Reports != nil {
		s.reportRoutes()
	}
	s.mux.Handle("GET /", dashboardHeaders(http.FileServerFS(subFS(assets, "assets"))))
	return s
}

// dashboardCSP lets the dashboard load only its own script, style and API:
// no inline script, nothing from elsewhere (it is served offline), no
// framing.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// dashboardHeaders sets the dashboard's security headers.
func dashboardHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", dashboardCSP)
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if readProtected(r) && s.readMode() != ReadOpen {
		if _, ok := s.auth.authenticate(r); !ok {
			unauthorized(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// ListenAndServe serves on addr until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done. Callers that must know at start
// whether the address is free listen first, then Serve.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Read == ReadDefault {
		m := defaultRead(ln.Addr().String())
		s.read.Store(m)
		if m == ReadToken && (s.auth == nil || len(s.auth.tokens) == 0) {
			s.log.Warn("http: reading needs a token on this address, but no tokens are configured: the API answers 401 (set http.read: open, or add tokens)", "addr", ln.Addr().String())
		}
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	hs.RegisterOnShutdown(s.stopStreams)
	shut := make(chan struct{})
	go func() {
		defer close(shut)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	s.log.Info("http listening", "addr", ln.Addr().String())
	err := hs.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Serve returns as soon as Shutdown starts: wait for the requests in
	// flight (at most 5 s), so that none outlives the ticket database.
	<-shut
	return nil
}

// writeJSON writes an answer as every API of facilityd does.
var writeJSON = httpjson.Write

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// healthz answers 200 while facilityd works, "degraded" included: readings
// then wait safely in the spool, and a liveness probe must not restart the
// daemon for an InfluxDB outage. Only "failing" (or a status it does not
// know) is 503. The body says which, and why.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.src.Health()
	switch h["status"] {
	case "ok", "degraded":
		writeJSON(w, http.StatusOK, h)
	default:
		writeJSON(w, http.StatusServiceUnavailable, h)
	}
}

// stopStreams ends the event streams; a Server built without New has none.
func (s *Server) stopStreams() {
	s.streamsStop.Do(func() {
		if s.streamsDone != nil {
			close(s.streamsDone)
		}
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.src.Devices())
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, d := range s.src.Devices() {
		if d.ID == id {
			writeJSON(w, http.StatusOK, d)
			return
		}
	}
	writeError(w, http.StatusNotFound, "no device "+strconv.Quote(id))
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.src.Alerts())
}
