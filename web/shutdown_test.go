package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// Serve returns only after the requests in flight finished.
func TestServeWaitsForRequestsInFlight(t *testing.T) {
	s := &Server{mux: http.NewServeMux(), log: slog.New(slog.DiscardHandler)}
	started, release := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	s.mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
		close(finished)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go http.Get("http://" + ln.Addr().String() + "/slow")
	<-started
	cancel()
	select {
	case <-served:
		t.Fatal("Serve returned while a request was in flight")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Serve returned before the request finished")
	}
}
