package store

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"
)

var errDown = http2.NewError(errors.New("connection refused"))

// down is a fakeInflux that is unreachable.
func down() *fakeInflux {
	return &fakeInflux{refuse: func([]string) error { return errDown }}
}

// spoolThenStop runs a writer against an unreachable InfluxDB, puts batches
// (one per flush), and stops it: everything stays in the spool.
func spoolThenStop(t *testing.T, dir string, batches ...int) {
	t.Helper()
	w := newFakeWriter(t, Config{FlushInterval: 20 * time.Millisecond}, down(), nil, dir)
	w.minBackoff = time.Millisecond
	stop := start(t, w)
	next := 0
	for _, n := range batches {
		w.Put(t.Context(), samples("p", time.Unix(1e9+int64(next), 0), n))
		next += n
		want := w.Stats().Accepted
		waitFor(t, 5*time.Second, "batch spooled", func() bool {
			st := w.spool.stats()
			return st.Spooled == want
		})
	}
	stop()
	if st := w.Stats(); st.Pending != int64(next) || st.Written != 0 {
		t.Fatalf("after the outage Stats() = %+v", st)
	}
}

// TestReplayAfterRestart: what one writer could not deliver, the next one
// on the same spool delivers, in order and once.
func TestReplayAfterRestart(t *testing.T) {
	dir := t.TempDir()
	spoolThenStop(t, dir, 5, 7, 3)

	api := &fakeInflux{}
	w := newFakeWriter(t, Config{FlushInterval: 20 * time.Millisecond}, api, nil, dir)
	if st := w.Stats(); st.Recovered != 15 || st.Pending != 15 {
		t.Fatalf("at start Stats() = %+v", st)
	}
	stop := start(t, w)
	w.Put(t.Context(), samples("q", time.Unix(2e9, 0), 4)) // new data queues behind the replay
	waitFor(t, 5*time.Second, "replay", func() bool { return w.Stats().Written == 19 })
	stop()
	_, lines := api.snapshot()
	for i, l := range lines[:15] {
		if want := fmt.Sprintf(" %d000000000", 1e9+i); !strings.HasSuffix(l, want) {
			t.Errorf("line %d = %q, want time %s", i, l, want)
		}
	}
	if len(lines) != 19 || !strings.Contains(lines[15], "device=q") {
		t.Errorf("written %q", lines)
	}
	if segs := segFiles(t, dir); len(segs) != 0 {
		t.Errorf("segments left after a full replay: %v", segs)
	}
}

// TestCorruptSegmentReported damages one batch in the spool while the
// daemon is down: the next start reports it in the log, /healthz status and
// metrics, and delivers every other batch.
func TestCorruptSegmentReported(t *testing.T) {
	dir := t.TempDir()
	spoolThenStop(t, dir, 5, 7, 3)
	segs := segFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	frame5 := int64(recordHeaderSize + len(newEncoder().encode(samples("p", time.Unix(1e9, 0), 5), nil).payload))
	corruptAt(t, segs[0], int64(len(segmentMagic))+frame5+recordHeaderSize+3) // the 7-sample batch

	var logs bytes.Buffer
	api := &fakeInflux{}
	w := newFakeWriter(t, Config{FlushInterval: 20 * time.Millisecond}, api, slog.New(slog.NewTextHandler(&logs, nil)), dir)
	reg := prometheus.NewRegistry()
	if err := w.register(reg); err != nil {
		t.Fatal(err)
	}
	stop := start(t, w)
	waitFor(t, 5*time.Second, "replay", func() bool { return w.Stats().Pending == 0 })
	stop()
	st := w.Status()
	if st.Samples.Written != 8 || st.DroppedBy["corrupt"] != 7 || st.Spool.CorruptRecords != 1 ||
		!strings.Contains(st.Spool.LastProblem, "checksum") {
		t.Errorf("Status() = %+v, spool %+v", st, st.Spool)
	}
	if !strings.Contains(logs.String(), "damaged record skipped; continuing with the rest") {
		t.Errorf("log:\n%s", logs.String())
	}
	if got := gather(t, reg)[`facilityd_store_samples_dropped_total{reason="corrupt"}`]; got != 7 {
		t.Errorf("metric dropped{corrupt} = %v", got)
	}
}

// gather returns every metric of reg as name{labels} -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if len(m.GetLabel()) > 0 {
				var ls []string
				for _, l := range m.GetLabel() {
					ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				name += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// request is what the fake InfluxDB server saw.
type request struct {
	path, auth, encoding string
	query                map[string]string
	body                 string
}

// fakeServer answers writes with the statuses of answers in order, then 204.
func fakeServer(t *testing.T, answers ...func(http.ResponseWriter)) (*httptest.Server, func() []request) {
	var mu sync.Mutex
	var seen []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Errorf("body is not gzip: %v", err)
			return
		}
		body, _ := io.ReadAll(zr)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		mu.Lock()
		seen = append(seen, request{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Encoding"), q, string(body)})
		n := len(seen)
		mu.Unlock()
		if n <= len(answers) {
			answers[n-1](w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }
}

// TestHTTPWrite checks the request on the wire for InfluxDB 2.x (token, org,
// bucket) and 1.8 (db/rp, no token or user:password), and that real error
// answers are read: Retry-After, a JSON partial-write error, 413.
func TestHTTPWrite(t *testing.T) {
	cases := []struct {
		name, token, org, bucket, auth string
	}{
		{"2.x", "my-token", "my-org", "facility", "Token my-token"},
		{"1.8", "", "", "facility/autogen", ""},
		{"1.8 with user", "user:pass", "", "facility/autogen", "Token user:pass"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, seen := fakeServer(t)
			w, err := NewWriter(Config{URL: srv.URL, Token: c.token, Org: c.org, Bucket: c.bucket, FlushInterval: 10 * time.Millisecond}, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			stop := start(t, w)
			w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 2))
			waitFor(t, 5*time.Second, "write", func() bool { return w.Stats().Written == 2 })
			stop()
			r := seen()[0]
			want := request{"/api/v2/write", c.auth, "gzip", map[string]string{"org": c.org, "bucket": c.bucket, "precision": "ns"},
				"pump,device=p seq=0i 1000000000000000000\npump,device=p seq=1i 1000000001000000000\n"}
			if fmt.Sprint(r) != fmt.Sprint(want) {
				t.Errorf("request\n%+v\nwant\n%+v", r, want)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		partial := func(w http.ResponseWriter) { // as InfluxDB 1.8 answers
			msg := `partial write: field type conflict: input field "seq" on measurement "pump" is type integer, already exists as type float dropped=1`
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Influxdb-Error", msg)
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":%q}`, msg)
		}
		srv, seen := fakeServer(t,
			func(w http.ResponseWriter) { w.Header().Set("Retry-After", "1"); w.WriteHeader(503) },
			func(w http.ResponseWriter) { w.WriteHeader(413) },
			partial, // lines 0-1: one of them is bad
			partial, // line 0: the bad one
		)
		w, err := NewWriter(Config{URL: srv.URL, Bucket: "b", FlushInterval: 10 * time.Millisecond}, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.minBackoff = time.Millisecond
		stop := start(t, w)
		began := time.Now()
		w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 4))
		waitFor(t, 5*time.Second, "write", func() bool { return w.Stats().Pending == 0 })
		stop()
		var sizes []int
		for _, r := range seen() {
			sizes = append(sizes, strings.Count(r.body, "\n"))
		}
		if want := []int{4, 4, 2, 1, 1, 2}; !slices.Equal(sizes, want) {
			t.Errorf("lines per request %v, want %v", sizes, want)
		}
		if d := time.Since(began); d < time.Second {
			t.Errorf("Retry-After: 1 not honoured: done in %v", d)
		}
		st := w.Status()
		if st.Samples.Written != 3 || st.DroppedBy["rejected"] != 1 || st.ErrorsBy["server"] != 1 || st.ErrorsBy["too_large"] != 1 ||
			st.ErrorsBy["rejected"] != 2 || !strings.Contains(st.LastError, "field type conflict") {
			t.Errorf("Status() = %+v", st)
		}
	})
}
