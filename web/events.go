package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Hub fans events out to the dashboards that follow GET /api/v1/events
// (server-sent events). One producer (Watch) publishes; each event is
// encoded once and handed to every client's bounded queue. A client whose
// queue is full is disconnected rather than slowed down or silently given a
// gap: its EventSource reconnects and reloads the whole state. Hub is safe
// for concurrent use; the zero value is not: use NewHub.
type Hub struct {
	mu      sync.Mutex
	clients map[chan []byte]struct{}
	closed  bool

	published atomic.Int64
	// lagged counts clients disconnected because they did not keep up.
	lagged atomic.Int64
}

// hubQueue is how many events a client may have waiting.
const hubQueue = 256

// NewHub returns a hub with no clients.
func NewHub() *Hub { return &Hub{clients: map[chan []byte]struct{}{}} }

// Publish sends an event of the given kind (the SSE event name) with v as
// its JSON data to every client, without blocking.
func (h *Hub) Publish(kind string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("event %s: %w", kind, err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", kind, data) // JSON has no raw newline
	msg := buf.Bytes()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.published.Add(1)
	for ch := range h.clients {
		select {
		case ch <- msg:
		default:
			delete(h.clients, ch)
			close(ch)
			h.lagged.Add(1)
		}
	}
	return nil
}

// subscribe adds a client; cancel removes it. The channel is closed when
// the client lags or the hub closes.
func (h *Hub) subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, hubQueue)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.clients[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.clients[ch]; ok {
			delete(h.clients, ch)
			close(ch)
		}
	}
}

// Close disconnects every client and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.clients {
		delete(h.clients, ch)
		close(ch)
	}
}

// HubStats are the hub's figures, for /healthz and tests.
type HubStats struct {
	Clients   int   `json:"clients"`
	Published int64 `json:"published"`
	Lagged    int64 `json:"lagged"`
}

// Stats returns the hub's figures.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HubStats{Clients: len(h.clients), Published: h.published.Load(), Lagged: h.lagged.Load()}
}

// Timings of the stream.
const (
	// heartbeat keeps proxies and the browser from timing out a quiet stream.
	heartbeat = 15 * time.Second
	// eventWriteTimeout bounds each write, so a client that stopped reading
	// frees its handler.
	eventWriteTimeout = 10 * time.Second
	// retryMillis is how long EventSource waits before it reconnects.
	retryMillis = 3000
)

// events streams the hub as text/event-stream. The first event, "hello",
// tells the page to (re)load the full state; later events carry changes.
// The token may come as ?token= (see bearer): EventSource sends no headers.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	ch, cancel := s.Events.subscribe()
	defer cancel()
	write := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(fmt.Appendf(nil, "retry: %d\nevent: hello\ndata: {}\n\n", retryMillis)) {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.streamsDone:
			return
		case msg, ok := <-ch:
			if !ok || !write(msg) {
				return
			}
		case <-tick.C:
			if !write([]byte(": ping\n\n")) {
				return
			}
		}
	}
}
