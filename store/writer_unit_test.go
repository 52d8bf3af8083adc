package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"gopkg.in/yaml.v3"
)

// fakeInflux plays InfluxDB for the writer's post seam: it fails with errs
// in order, then asks refuse (when set) about each request, then accepts.
type fakeInflux struct {
	mu     sync.Mutex
	errs   []error
	refuse func(lines []string) error
	calls  []time.Time
	sizes  []int // lines per request
	lines  []string
}

func (f *fakeInflux) post(_ context.Context, body []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return err
	}
	lp, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(string(lp), "\n"), "\n")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	f.sizes = append(f.sizes, len(lines))
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return err
	}
	if f.refuse != nil {
		if err := f.refuse(lines); err != nil {
			return err
		}
	}
	f.lines = append(f.lines, lines...)
	return nil
}

func (f *fakeInflux) snapshot() (calls []time.Time, lines []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls), slices.Clone(f.lines)
}

// newFakeWriter makes a writer that posts to api; spoolDir may be empty.
func newFakeWriter(t testing.TB, cfg Config, api *fakeInflux, logger *slog.Logger, spoolDir string) *Writer {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = "http://127.0.0.1:1"
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "facility/autogen"
	}
	w, err := NewWriter(cfg, WriterOptions{Logger: logger, SpoolDir: spoolDir})
	if err != nil {
		t.Fatal(err)
	}
	w.post = api.post
	return w
}

// start runs w until the returned stop is called.
func start(t testing.TB, w *Writer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func samples(dev string, t0 time.Time, n int) []drivers.Sample {
	out := make([]drivers.Sample, n)
	for i := range out {
		out[i] = drivers.Sample{Time: t0.Add(time.Duration(i) * time.Second), Device: dev,
			Measurement: "pump", Point: "seq", Value: drivers.Int(int64(i))}
	}
	return out
}

func statusErr(code int) error { return &http2.Error{StatusCode: code, Message: "fake"} }

func TestNewWriterValidates(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"no url":          {Config{Bucket: "b"}, "url is empty"},
		"bad scheme":      {Config{URL: "ftp://h", Bucket: "b"}, "scheme must be http or https"},
		"no host":         {Config{URL: "http://", Bucket: "b"}, "no host"},
		"no bucket":       {Config{URL: "http://h"}, "bucket is empty"},
		"neg batch":       {Config{URL: "http://h", Bucket: "b", BatchSize: -1}, "batch_size -1"},
		"missing token":   {Config{URL: "http://h", Bucket: "b", TokenFile: filepath.Join(dir, "nope")}, "token_file"},
		"empty token":     {Config{URL: "http://h", Bucket: "b", TokenFile: empty}, "is empty"},
		"password in url": {Config{URL: "ftp://u:hunter2@h", Bucket: "b"}, "u:xxxxx@h"},
		"fsync":           {Config{URL: "http://h", Bucket: "b", Fsync: "sometimes"}, `fsync "sometimes"`},
		"spool bytes":     {Config{URL: "http://h", Bucket: "b", MaxSpoolBytes: -1}, "max_spool_bytes -1"},
		"small spool":     {Config{URL: "http://h", Bucket: "b", MaxSpoolBytes: 20000}, "max_spool_bytes 20000 is below the minimum 1048576"},
	}
	for name, c := range cases {
		_, err := NewWriter(c.cfg, WriterOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
	}
	var p FsyncPolicy
	if err := yaml.Unmarshal([]byte("sometimes"), &p); err == nil || !strings.Contains(err.Error(), "always, interval or never") {
		t.Errorf("yaml fsync: %v", err)
	}
	if err := yaml.Unmarshal([]byte("never"), &p); err != nil || p != FsyncNever {
		t.Errorf("yaml fsync never: %v, %q", err, p)
	}
	cfg := Config{FlushInterval: 3 * time.Second}.WithDefaults()
	if cfg.Fsync != FsyncInterval || cfg.FsyncInterval != 3*time.Second || cfg.MaxSpoolBytes != DefaultMaxSpoolBytes {
		t.Errorf("defaults: %v", cfg)
	}
}

// TestTokenNeverLogged runs a writer whose writes fail and checks the token
// appears nowhere in its log, while the token file really was read.
func TestTokenNeverLogged(t *testing.T) {
	const secret = "s3cr3t-token-value"
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(secret+"\n"), 0o600)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{errs: []error{statusErr(503), statusErr(401), statusErr(400)}}
		w := newFakeWriter(t, Config{Token: "inline-" + secret, TokenFile: file, FlushInterval: time.Second}, api, logger, t.TempDir())
		if w.token != secret {
			t.Errorf("token = %q, want the file's contents", w.token)
		}
		stop := start(t, w)
		w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 1))
		time.Sleep(5 * time.Second)
		stop()
		logger.Info("config", "cfg", w.cfg, "status", w.Status())
	})
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("token in logs:\n%s", logs.String())
	}
	for _, want := range []string{"retrying", "refused", "token=set", "check the token"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestPutDropsOldestAtCap(t *testing.T) {
	api := &fakeInflux{}
	w := newFakeWriter(t, Config{MaxBuffered: 5, BatchSize: 100}, api, nil, "")
	t0 := time.Unix(1e9, 0)
	w.Put(t.Context(), samples("p", t0, 3))
	w.Put(t.Context(), append(samples("p", t0.Add(3*time.Second), 5),
		drivers.Sample{Device: "p", Measurement: "pump", Point: "x", Value: drivers.Float(1), Quality: drivers.Bad}))
	want := WriterStats{Accepted: 8, Dropped: 3, Pending: 5, Skipped: 1}
	if got := w.Stats(); got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w.Run(ctx) // final flush only
	_, lines := api.snapshot()
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "pump,device=p seq=0i 1000000003") {
		t.Fatalf("written %q, want the 5 newest", lines)
	}
	want = WriterStats{Accepted: 8, Written: 5, Dropped: 3, Skipped: 1}
	if got := w.Stats(); got != want {
		t.Fatalf("after flush Stats() = %+v, want %+v", got, want)
	}
	if got := w.Status().DroppedBy["buffer_full"]; got != 3 {
		t.Errorf("dropped_by_reason[buffer_full] = %d", got)
	}
}

// TestRetryBackoff checks, on a fake clock, that retryable failures keep the
// batch and back off 250 ms, 500 ms, 1 s, ... up to the cap, that Retry-After
// is honoured, and that the batch then arrives once.
func TestRetryBackoff(t *testing.T) {
	for _, spool := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			netErr := http2.NewError(errors.New("connection refused"))
			dateErr := &http2.Error{StatusCode: 503, Header: http.Header{"Retry-After": {time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}}}
			api := &fakeInflux{errs: []error{netErr, statusErr(503), &http2.Error{StatusCode: 429, RetryAfter: 7},
				statusErr(500), netErr, netErr, netErr, dateErr}}
			dir := ""
			if spool {
				dir = t.TempDir()
			}
			w := newFakeWriter(t, Config{FlushInterval: time.Second, BatchSize: 10}, api, nil, dir)
			w.maxBackoff = 8 * time.Second
			stop := start(t, w)
			w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 4))
			time.Sleep(2 * time.Minute)
			synctest.Wait()

			calls, lines := api.snapshot()
			var gaps []time.Duration
			for i := 1; i < len(calls); i++ {
				gaps = append(gaps, calls[i].Sub(calls[i-1]))
			}
			s := time.Second
			want := []time.Duration{s / 4, s / 2, 7 * s, 2 * s, 4 * s, 8 * s, 8 * s, 8 * s}
			if !slices.Equal(gaps, want) {
				t.Errorf("spool %v: gaps between attempts %v, want %v", spool, gaps, want)
			}
			wantLines := []string{
				"pump,device=p seq=0i 1000000000000000000",
				"pump,device=p seq=1i 1000000001000000000",
				"pump,device=p seq=2i 1000000002000000000",
				"pump,device=p seq=3i 1000000003000000000",
			}
			if !slices.Equal(lines, wantLines) {
				t.Errorf("written %q, want %q", lines, wantLines)
			}
			if st := w.Stats(); st.Written != 4 || st.Errors != 8 || st.Pending != 0 || st.Dropped != 0 {
				t.Errorf("Stats() = %+v", st)
			}
			st := w.Status()
			if st.State != "ok" || st.ErrorsBy["network"] != 4 || st.ErrorsBy["server"] != 3 || st.ErrorsBy["rate_limited"] != 1 {
				t.Errorf("Status() = %+v", st)
			}
			stop()
		})
	}
}

// TestRetryAfterDate: a Retry-After given as an HTTP date longer than the
// back-off is waited for.
func TestRetryAfterDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := time.Now().Add(20 * time.Second).UTC()
		kind, wait := classify(&http2.Error{StatusCode: 503, Header: http.Header{"Retry-After": {at.Format(http.TimeFormat)}}})
		if kind != errServer || wait != 20*time.Second {
			t.Errorf("classify = %v, %v; want server, 20s", kind, wait)
		}
	})
}

// refuseLines answers like InfluxDB 1.8 to a batch holding any line that
// contains bad: 400, partial write, the number of bad lines dropped.
func refuseLines(bad string) func([]string) error {
	return func(lines []string) error {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, bad) {
				n++
			}
		}
		if n == 0 {
			return nil
		}
		return &http2.Error{StatusCode: 400, Code: "invalid",
			Message: fmt.Sprintf(`partial write: invalid field name: input field "%s" on measurement "pump" is invalid dropped=%d`, bad, n)}
	}
}

// TestRefusedPointsOnly: a 400 drops only the offending lines, counted by
// reason, and the rest of the batch and the queue behind it go through.
func TestRefusedPointsOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{refuse: refuseLines("time=")}
		w := newFakeWriter(t, Config{FlushInterval: time.Second, BatchSize: 100}, api, nil, t.TempDir())
		stop := start(t, w)
		batch := samples("p", time.Unix(1e9, 0), 20)
		batch[3].Point, batch[11].Point = "time", "time"
		w.Put(t.Context(), batch)
		time.Sleep(3 * time.Second)
		w.Put(t.Context(), samples("q", time.Unix(2e9, 0), 5))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		want := WriterStats{Accepted: 25, Written: 23, Dropped: 2, Errors: w.Stats().Errors}
		if got := w.Stats(); got != want || got.Errors == 0 {
			t.Errorf("Stats() = %+v, want %+v", got, want)
		}
		if got := w.Status().DroppedBy["rejected"]; got != 2 {
			t.Errorf("dropped rejected = %d, want 2", got)
		}
		_, lines := api.snapshot()
		if len(lines) != 23 || slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "time=") }) {
			t.Errorf("written %d lines: %q", len(lines), lines)
		}
		// Order is kept: every p line before every q line.
		if i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "device=q") }); i != 18 {
			t.Errorf("first q line at %d, want 18", i)
		}
		stop()
	})
}

// TestAllRefusedAtOnce: when InfluxDB says it dropped every line, the batch
// is not split further.
func TestAllRefusedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{refuse: refuseLines("seq=")}
		w := newFakeWriter(t, Config{FlushInterval: time.Second}, api, nil, "")
		stop := start(t, w)
		w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 50))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if calls, _ := api.snapshot(); len(calls) != 1 {
			t.Errorf("%d requests, want 1", len(calls))
		}
		if st := w.Stats(); st.Dropped != 50 || st.Pending != 0 {
			t.Errorf("Stats() = %+v", st)
		}
		stop()
	})
}

// TestTooLargeSplits: a 413 halves the batch until the parts fit; a single
// line InfluxDB still refuses is dropped as too large.
func TestTooLargeSplits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{refuse: func(lines []string) error {
			if len(lines) > 3 || slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "seq=7i") }) {
				return &http2.Error{StatusCode: 413, Message: "Request Entity Too Large"}
			}
			return nil
		}}
		w := newFakeWriter(t, Config{FlushInterval: time.Second}, api, nil, t.TempDir())
		stop := start(t, w)
		w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 16))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		_, lines := api.snapshot()
		if st := w.Stats(); st.Written != 15 || st.Dropped != 1 || len(lines) != 15 {
			t.Errorf("Stats() = %+v, %d lines written", st, len(lines))
		}
		for i, l := range lines { // in order, 7 missing
			want := i
			if i >= 7 {
				want++
			}
			if !strings.Contains(l, fmt.Sprintf("seq=%di", want)) {
				t.Errorf("line %d = %s", i, l)
			}
		}
		if w.Status().DroppedBy["too_large"] != 1 || w.Status().ErrorsBy["too_large"] == 0 {
			t.Errorf("Status() = %+v", w.Status())
		}
		stop()
	})
}

// TestAuthFailureHolds: a refused token or a missing bucket is not the
// points' fault: nothing is dropped, the writer says it is blocked and
// delivers once InfluxDB accepts.
func TestAuthFailureHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		orgErr := &http2.Error{StatusCode: 400, Message: "Please provide either orgID or org"}
		api := &fakeInflux{errs: []error{statusErr(401), statusErr(403), statusErr(404), orgErr}}
		w := newFakeWriter(t, Config{FlushInterval: time.Second}, api, nil, t.TempDir())
		stop := start(t, w)
		w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 3))
		time.Sleep(1500 * time.Millisecond)
		if st := w.Status(); st.State != "blocked" || st.LastError == "" {
			t.Errorf("during auth failure Status() = %+v", st)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := w.Stats(); st.Written != 3 || st.Dropped != 0 {
			t.Errorf("Stats() = %+v", st)
		}
		if st := w.Status(); st.State != "ok" || st.ErrorsBy["auth"] != 2 || st.ErrorsBy["not_found"] != 2 {
			t.Errorf("Status() = %+v", st)
		}
		stop()
	})
}

// TestShutdownFlushes: samples waiting for the next tick are written when
// Run is told to stop, and a dead server cannot hold shutdown up.
func TestShutdownFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{}
		w := newFakeWriter(t, Config{FlushInterval: time.Hour}, api, nil, t.TempDir())
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		w.Put(ctx, samples("p", time.Unix(1e9, 0), 7))
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Written != 7 || st.Pending != 0 {
			t.Errorf("Stats() = %+v", st)
		}
		if err := w.Run(t.Context()); err == nil {
			t.Error("second Run did not fail")
		}
	})
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{errs: []error{statusErr(503), statusErr(503), statusErr(503)}}
		w := newFakeWriter(t, Config{FlushInterval: time.Second}, api, nil, "")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		w.Put(ctx, samples("p", time.Unix(1e9, 0), 7))
		time.Sleep(1100 * time.Millisecond) // first attempt failed, backing off
		cancel()
		began := time.Now()
		<-done
		if st := w.Stats(); st.Written != 0 || st.Pending != 7 || st.Errors != 1 {
			t.Errorf("Stats() = %+v, want 7 pending after 1 failed attempt", st)
		}
		if d := time.Since(began); d != 0 {
			t.Errorf("stopping a writer backing off took %v", d)
		}
	})
}

// BenchmarkWriterPut measures the hot path drivers call on every poll: ten
// samples of one device, queued under the lock. "queue" is the normal case
// (the queue is emptied as Run would, outside the timing's concern: O(1));
// "overflow" is an outage past MaxBuffered, where every sample evicts one.
func BenchmarkWriterPut(b *testing.B) {
	poll := make([]drivers.Sample, 10)
	now := time.Now()
	for i := range poll {
		poll[i] = drivers.Sample{Time: now, Device: "pump-1", Measurement: "pump",
			Point: "p" + string(rune('a'+i)), Value: drivers.Float(float64(i))}
	}
	for _, overflow := range []bool{false, true} {
		name := map[bool]string{false: "queue", true: "overflow"}[overflow]
		b.Run(name, func(b *testing.B) {
			w, err := NewWriter(Config{URL: "http://127.0.0.1:1", Bucket: "b", MaxBuffered: 1 << 16}, WriterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.Put(b.Context(), poll)
				if !overflow && w.q.len() > 1<<15 {
					w.q.head, w.q.n = 0, 0 // what Run's take does, minus the copy
				}
			}
			b.ReportMetric(float64(b.N*len(poll))/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkEncode measures turning a batch of 5000 samples (500 polls of
// ten fields) into a record: line protocol, index, gzip.
func BenchmarkEncode(b *testing.B) {
	batch := make([]drivers.Sample, 0, 5000)
	t0 := time.Now()
	for i := range 500 {
		for f := range 10 {
			batch = append(batch, drivers.Sample{Time: t0.Add(time.Duration(i) * time.Millisecond), Device: "pump-" + strconv.Itoa(i%100),
				Measurement: "pump", Point: "f" + strconv.Itoa(f), Value: drivers.Float(float64(i*10 + f))})
		}
	}
	tags := func(string) map[string]string { return map[string]string{"site": "hq", "building": "A"} }
	enc := newEncoder()
	b.ReportAllocs()
	for b.Loop() {
		enc.encode(batch, tags)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "samples/s")
}

// TestHealthThinned: a device's health goes to InfluxDB when up or state
// changes and otherwise once per HealthEvery, the latest value then; its
// other points every time; the stats count what was left out apart from
// what was accepted.
func TestHealthThinned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeInflux{}
		w := newFakeWriter(t, Config{FlushInterval: time.Second, HealthEvery: 10 * time.Second}, api, nil, "")
		stop := start(t, w)
		t0 := time.Unix(1e9, 0)
		health := func(i int, up bool) []drivers.Sample {
			at := t0.Add(time.Duration(i) * time.Second)
			h := drivers.Sample{Time: at, Device: "m1", Measurement: drivers.HealthMeasurement, Quality: drivers.Good}
			out := []drivers.Sample{{Time: at, Device: "m1", Measurement: "meter", Point: "power", Value: drivers.Float(float64(i)), Quality: drivers.Good}}
			for _, p := range []struct {
				name string
				v    drivers.Value
			}{{drivers.HealthUp, drivers.Bool(up)}, {drivers.HealthLatency, drivers.Float(float64(i))}, {drivers.HealthErrors, drivers.Int(int64(i / 3))}} {
				h.Point, h.Value = p.name, p.v
				out = append(out, h)
			}
			return out
		}
		// 25 polls a second apart; down from poll 12 to poll 14.
		for i := range 25 {
			w.Put(t.Context(), health(i, i < 12 || i > 14))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		stop()
		_, lines := api.snapshot()
		var power, ups, latency []string
		for _, l := range lines {
			ts := l[strings.LastIndexByte(l, ' ')+1:]
			if strings.HasPrefix(l, "meter,") {
				power = append(power, ts)
				continue
			}
			fields := l[strings.IndexByte(l, ' ')+1 : strings.LastIndexByte(l, ' ')]
			for f := range strings.SplitSeq(fields, ",") {
				name, v, _ := strings.Cut(f, "=")
				switch name {
				case "up":
					ups = append(ups, v)
				case "latency_ms":
					latency = append(latency, ts)
				}
			}
		}
		if len(power) != 25 {
			t.Errorf("%d power lines, want every poll's 25", len(power))
		}
		// up: poll 0 (first), 10 (heartbeat), 12 (down), 15 (up again), 25 is past the end.
		if got := strings.Join(ups, " "); got != "true true false true" {
			t.Errorf("up written as %q, want true (0) true (10) false (12) true (15)", got)
		}
		// latency: polls 0, 10 and 20.
		if len(latency) != 3 {
			t.Errorf("latency written %d times (%v), want 3: polls 0, 10, 20", len(latency), latency)
		}
		st := w.Stats()
		if st.Accepted != 25+4+3+3 || st.Thinned != 25*3-(4+3+3) || st.Written != st.Accepted {
			t.Errorf("stats %+v, want 35 accepted and written, 65 thinned", st)
		}
	})
}

// TestBatchInChunks: a batch taken from the queue a chunk at a time is the
// record one encode of all its samples makes, lines that span two chunks
// included.
func TestBatchInChunks(t *testing.T) {
	const points = 7 // 512 is not a multiple: lines span chunks
	w, err := NewWriter(Config{URL: "http://127.0.0.1:1", Bucket: "b", BatchSize: 3 * encodeChunk, MaxBuffered: 1 << 16}, WriterOptions{Tags: tagsOf})
	if err != nil {
		t.Fatal(err)
	}
	var all []drivers.Sample
	t0 := time.Unix(1_700_000_000, 0)
	for tick := range 2 * encodeChunk / points {
		for dev := range 3 {
			var poll []drivers.Sample
			for p := range points {
				poll = append(poll, drivers.Sample{Time: t0.Add(time.Duration(tick) * time.Second), Device: fmt.Sprintf("m%d", dev),
					Measurement: "energy_meter", Point: fmt.Sprintf("p%d", p), Value: drivers.Float(float64(tick*100 + p))})
			}
			w.Put(t.Context(), poll)
			all = append(all, poll...)
		}
	}
	w.batch(t.Context(), true)
	var got []string
	samplesIn := 0
	for rec := w.mem.next(); rec != nil; rec = w.mem.next() {
		got = append(got, gunzip(t, rec.body()))
		samplesIn += rec.samples
		w.mem.ack(rec)
	}
	if samplesIn != len(all) {
		t.Fatalf("records hold %d samples, want %d", samplesIn, len(all))
	}
	var want []string
	for chunk := range slices.Chunk(all, 3*encodeChunk) {
		want = append(want, gunzip(t, newEncoder().encode(chunk, tagsOf).body()))
	}
	if !slices.Equal(got, want) {
		t.Errorf("records differ from one encode per batch: %d records against %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("record %d:\n got %.300q\nwant %.300q", i, got[i], want[i])
			}
		}
	}
}
