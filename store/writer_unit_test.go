package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

// fakeAPI plays InfluxDB: it fails with errs in order, then accepts.
type fakeAPI struct {
	mu    sync.Mutex
	errs  []error
	calls []time.Time
	lines []string
}

var _ pointWriter = (*fakeAPI)(nil)

func (f *fakeAPI) WritePoint(_ context.Context, points ...*write.Point) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return err
	}
	for _, p := range points {
		f.lines = append(f.lines, strings.TrimSpace(write.PointToLineProtocol(p, time.Nanosecond)))
	}
	return nil
}

func (f *fakeAPI) snapshot() (calls []time.Time, lines []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...), append([]string(nil), f.lines...)
}

func newFakeWriter(t *testing.T, cfg Config, api *fakeAPI, logger *slog.Logger) *Writer {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = "http://127.0.0.1:1"
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "facility/autogen"
	}
	w, err := NewWriter(cfg, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	w.connect = func() (pointWriter, func()) { return api, func() {} }
	return w
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
	}
	for name, c := range cases {
		_, err := NewWriter(c.cfg, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
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
		api := &fakeAPI{errs: []error{statusErr(503), statusErr(400)}}
		w := newFakeWriter(t, Config{Token: "inline-" + secret, TokenFile: file, FlushInterval: time.Second}, api, logger)
		if w.token != secret {
			t.Errorf("token = %q, want the file's contents", w.token)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		w.Put(ctx, samples("p", time.Unix(1e9, 0), 3))
		time.Sleep(5 * time.Second)
		cancel()
		<-done
		logger.Info("config", "cfg", w.cfg)
	})
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("token in logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "refused") {
		t.Errorf("failures were not logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "token=set") {
		t.Errorf("config log does not say a token is set:\n%s", logs.String())
	}
}

func TestPutDropsOldestAtCap(t *testing.T) {
	api := &fakeAPI{}
	w := newFakeWriter(t, Config{MaxBuffered: 5, BatchSize: 100}, api, nil)
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
}

// TestRetryBackoff checks, on a fake clock, that retryable failures keep the
// batch and back off 250 ms, 500 ms, 1 s, ... up to the cap, that Retry-After
// is honoured, and that the batch then arrives once.
func TestRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		netErr := http2.NewError(errors.New("connection refused"))
		api := &fakeAPI{errs: []error{netErr, statusErr(503), &http2.Error{StatusCode: 429, RetryAfter: 7},
			statusErr(500), netErr, netErr, netErr}}
		w := newFakeWriter(t, Config{FlushInterval: time.Second, BatchSize: 10}, api, nil)
		w.maxBackoff = 8 * time.Second
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		w.Put(ctx, samples("p", time.Unix(1e9, 0), 4))
		time.Sleep(time.Minute)
		synctest.Wait()

		calls, lines := api.snapshot()
		var gaps []time.Duration
		for i := 1; i < len(calls); i++ {
			gaps = append(gaps, calls[i].Sub(calls[i-1]))
		}
		s := time.Second
		want := []time.Duration{s / 4, s / 2, 7 * s, 2 * s, 4 * s, 8 * s, 8 * s}
		if !slices.Equal(gaps, want) {
			t.Errorf("gaps between attempts %v, want %v", gaps, want)
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
		if st := w.Stats(); st.Written != 4 || st.Errors != 7 || st.Pending != 0 || st.Dropped != 0 {
			t.Errorf("Stats() = %+v", st)
		}
		cancel()
		<-done
	})
}

// TestRefusedBatchIsDropped: a 400 must not block the queue behind it.
func TestRefusedBatchIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{errs: []error{statusErr(400)}}
		w := newFakeWriter(t, Config{FlushInterval: time.Second, BatchSize: 2}, api, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		w.Put(ctx, samples("p", time.Unix(1e9, 0), 5))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		want := WriterStats{Accepted: 5, Written: 3, Dropped: 2, Errors: 1}
		if got := w.Stats(); got != want {
			t.Errorf("Stats() = %+v, want %+v", got, want)
		}
		cancel()
		<-done
	})
}

// TestShutdownFlushes: samples waiting for the next tick are written when
// Run is told to stop, and a dead server cannot hold shutdown up.
func TestShutdownFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &fakeAPI{}
		w := newFakeWriter(t, Config{FlushInterval: time.Hour}, api, nil)
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
		api := &fakeAPI{errs: []error{statusErr(503), statusErr(503), statusErr(503)}}
		w := newFakeWriter(t, Config{FlushInterval: time.Second}, api, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		w.Put(ctx, samples("p", time.Unix(1e9, 0), 7))
		time.Sleep(1100 * time.Millisecond) // first attempt failed, backing off
		cancel()
		<-done
		if st := w.Stats(); st.Written != 0 || st.Pending != 7 || st.Errors != 2 {
			t.Errorf("Stats() = %+v, want 7 pending after 2 failed attempts", st)
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
			w, err := NewWriter(Config{URL: "http://127.0.0.1:1", Bucket: "b", MaxBuffered: 1 << 16}, nil, nil)
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
