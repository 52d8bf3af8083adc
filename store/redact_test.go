package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoServer stands in for a hostile InfluxDB (or a proxy before it): it
// answers every request with code and a body that echoes the request's
// headers, as JSON (InfluxDB 2.x's error shape) or as plain text.
func echoServer(t *testing.T, code int, asJSON bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var echo strings.Builder
		fmt.Fprintf(&echo, "you sent %s\n", strings.TrimPrefix(r.Header.Get("Authorization"), "Token "))
		for k, v := range r.Header {
			fmt.Fprintf(&echo, "%s: %s\n", k, strings.Join(v, ", "))
		}
		if asJSON {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(map[string]string{"code": "internal error", "message": "request was:\n" + echo.String()})
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		fmt.Fprint(w, "request was:\n"+echo.String())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// syncBuffer is a log sink written by the writer's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInfluxAnswerEchoingTokenIsRedacted: the token InfluxDB (or whatever
// answers in its place) echoes back reaches neither the status's last
// error (/healthz), nor the logs, nor the querier's errors.
func TestInfluxAnswerEchoingTokenIsRedacted(t *testing.T) {
	for _, c := range []struct {
		name   string
		token  string
		code   int
		asJSON bool
	}{
		{"2.x 500 json", "tok-2x-Zm9vYmFyYmF6cXV4", 500, true},
		{"2.x 500 text", "tok-2x-Zm9vYmFyYmF6cXV4", 500, false},
		{"1.8 401", "admin:pa55-w0rd-18", 401, false},
		{"400 refused", "tok-400-a1b2c3d4e5", 400, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := echoServer(t, c.code, c.asJSON)
			var logs syncBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg := Config{URL: srv.URL, Token: c.token, Org: "o", Bucket: "b", FlushInterval: 20 * time.Millisecond}
			w, err := NewWriter(cfg, WriterOptions{Logger: logger, SpoolDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			w.minBackoff, w.maxBackoff = 10*time.Millisecond, 20*time.Millisecond
			stop := start(t, w)
			w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 1))
			var st WriterStatus
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if st = w.Status(); st.LastError != "" {
					break
				}
			}
			stop()
			if st.LastError == "" {
				t.Fatalf("no error recorded: %+v", st)
			}
			leaks := []string{c.token}
			if _, pass, ok := strings.Cut(c.token, ":"); ok {
				leaks = append(leaks, pass)
			}
			q, err := NewQuerier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			_, qerr := q.Last(t.Context(), "pump", "p")
			if qerr == nil {
				t.Fatal("query: no error")
			}
			for what, text := range map[string]string{"last error": st.LastError, "logs": logs.String(), "query error": qerr.Error()} {
				for _, s := range leaks {
					if strings.Contains(text, s) {
						t.Errorf("%s shows %q: %s", what, s, text)
					}
				}
			}
			if !strings.Contains(st.LastError, "[REDACTED]") || strings.Contains(st.LastError, "\n") || len(st.LastError) > 512 {
				t.Errorf("last error %q", st.LastError)
			}
			t.Logf("last error: %s", st.LastError)
		})
	}
}
