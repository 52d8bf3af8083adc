package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/lean"
)

// startPprof serves Go's profiler on the configured loopback address, when
// there is one (http.pprof), so users can profile their own sites:
// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30.
func (a *app) startPprof(ctx context.Context, wg *sync.WaitGroup) error {
	addr := a.current().HTTP.Pprof
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	lean.Profiling()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.log.Info("pprof listening (loopback only)", "addr", ln.Addr().String())
	wg.Go(func() {
		<-ctx.Done()
		srv.Close()
	})
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("pprof stopped", "err", err)
		}
	})
	return nil
}
