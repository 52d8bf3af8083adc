package portfolio

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/httpjson"
	"github.com/facilityd/facilityd/web"
)

//go:embed assets
var assets embed.FS

// Server serves the portfolio: GET /api/v1/portfolio (the View as JSON),
// /healthz and the page at /. Reads follow the daemon's rule (open on a
// loopback address unless http.read says token; a token of any role
// otherwise); nothing here changes state, so there is nothing else to
// guard.
type Server struct {
	cfg     *Config
	energy  Energy
	tickets Tickets
	now     func() time.Time
	log     *slog.Logger
	handler http.Handler

	// One view is computed at a time and kept for CacheFor, so that many
	// browsers do not each query every site.
	mu     sync.Mutex
	cached *View
	at     time.Time
}

// CacheFor is how long a computed view is served again.
const CacheFor = 30 * time.Second

// Options are what NewServer needs besides the config.
type Options struct {
	Energy  Energy
	Tickets Tickets
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Auth checks tokens; from cfg.HTTP.Tokens when nil.
	Auth *web.Auth
}

// NewServer builds the server; it reads the tokens' secrets and does no
// other I/O.
func NewServer(cfg *Config, o Options, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, energy: o.Energy, tickets: o.Tickets, now: o.Now, log: logger}
	if s.now == nil {
		s.now = time.Now
	}
	auth := o.Auth
	if auth == nil {
		var err error
		if auth, err = web.NewAuth(cfg.HTTP.Tokens); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /api/v1/portfolio", s.portfolio)
	mux.Handle("GET /", web.PageHeaders(http.FileServerFS(sub(assets, "assets"))))
	s.handler = web.GuardReads(cfg.HTTP.EffectiveRead(), auth, mux)
	return s, nil
}

// ServeHTTP serves the API and the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// View returns the portfolio now, or the one computed less than CacheFor
// ago.
func (s *Server) View(ctx context.Context) *View {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cached != nil && now.Sub(s.at) < CacheFor && now.Sub(s.at) >= 0 {
		return s.cached
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v := Build(ctx, s.cfg, s.energy, s.tickets, now)
	for _, e := range v.Errors {
		s.log.Warn("portfolio: a part could not be read", "site", e.Site, "part", e.Part, "err", e.Error)
	}
	if ctx.Err() == nil {
		s.cached, s.at = v, now
	}
	return v
}

func (s *Server) portfolio(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.View(r.Context()))
}

// healthz answers 200 while the server runs; it reads no source, so that a
// probe never waits on a site's database.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "sites": len(s.cfg.Sites)})
}

// Serve serves on ln until ctx is done, then shuts down (requests in
// flight get up to 5 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 90 * time.Second}
	shut := make(chan struct{})
	go func() {
		defer close(shut)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	s.log.Info("portfolio listening", "addr", ln.Addr().String(), "sites", len(s.cfg.Sites))
	err := hs.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-shut
	return nil
}

// writeJSON writes an answer as every API of facilityd does.
var writeJSON = httpjson.Write

func sub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return s
}
