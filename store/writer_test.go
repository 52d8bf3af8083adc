package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/testenv"
)

// Integration tests against a real influxd (see internal/testenv). Each starts
// its own, because some stop it; starting takes ~6 s of CPU (Flux), so they
// run in parallel.

var siteTags = map[string]map[string]string{
	"pump-1":  {"site": "hq", "building": "A", "floor": "2"},
	"meter-1": {"site": "hq", "building": "B"},
}

func tagsOf(id string) map[string]string { return siteTags[id] }

// runWriter starts w.Run and stops it when the test ends.
func runWriter(t testing.TB, w *Writer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newTestWriter(t testing.TB, inf *testenv.Influxd, cfg Config) *Writer {
	t.Helper()
	cfg.URL, cfg.Bucket = inf.URL, inf.Bucket
	w, err := NewWriter(cfg, tagsOf, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newTestQuerier(t testing.TB, inf *testenv.Influxd) *Querier {
	t.Helper()
	q, err := NewQuerier(Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWriteAndReadBack(t *testing.T) {
	t.Parallel()
	inf := testenv.StartInfluxd(t)
	w := newTestWriter(t, inf, Config{FlushInterval: 50 * time.Millisecond})
	runWriter(t, w)
	q := newTestQuerier(t, inf)

	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	t1 := t0.Add(time.Second)
	hostile := []string{`pump"-1`, `a\b`, `${x}`, `x" or true or "`}
	batch := []drivers.Sample{
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(12.5)},
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "starts", Value: drivers.Int(42)},
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "running", Value: drivers.Bool(true)},
		{Time: t1, Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(13.25), Quality: drivers.Uncertain},
		{Time: t1, Device: "pump-1", Measurement: "pump", Point: "starts", Value: drivers.Int(-1), Quality: drivers.Bad},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "kwh", Value: drivers.Float(1234.5)},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "pulses", Value: drivers.Int(7)},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "alarm", Value: drivers.Bool(false)},
	}
	for i, dev := range hostile {
		batch = append(batch, drivers.Sample{Time: t0, Device: dev, Measurement: "pump", Point: "flow", Value: drivers.Float(float64(i))})
	}
	w.Put(t.Context(), batch)
	waitFor(t, 10*time.Second, "the batch to be written", func() bool { return w.Stats().Written == int64(len(batch)-1) })
	if st := w.Stats(); st.Skipped != 1 || st.Dropped != 0 || st.Errors != 0 {
		t.Fatalf("Stats() = %+v", st)
	}

	last := func(meas, dev string) map[string]any {
		t.Helper()
		got, err := q.Last(t.Context(), meas, dev)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := map[string]any{"flow": 13.25, "starts": int64(42), "running": true}
	if got := last("pump", "pump-1"); !maps.Equal(got, want) {
		t.Errorf("Last(pump-1) = %#v, want %#v", got, want)
	}
	want = map[string]any{"kwh": 1234.5, "pulses": int64(7), "alarm": false}
	if got := last("energy_meter", "meter-1"); !maps.Equal(got, want) {
		t.Errorf("Last(meter-1) = %#v, want %#v", got, want)
	}
	for i, dev := range hostile {
		if got := last("pump", dev); !maps.Equal(got, map[string]any{"flow": float64(i)}) {
			t.Errorf("Last(%q) = %#v, want flow=%d only", dev, got, i)
		}
	}
	if got := last("pump", "nobody"); len(got) != 0 {
		t.Errorf("Last(nobody) = %#v, want empty", got)
	}

	got, err := q.Range(t.Context(), "pump", "pump-1", "flow", t0.Add(-time.Second), t1.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if wantR := []Point{{t0, 12.5}, {t1, 13.25}}; !slices.EqualFunc(got, wantR, pointEqual) {
		t.Errorf("Range(flow) = %v, want %v", got, wantR)
	}
	got, err = q.Range(t.Context(), "pump", "pump-1", "running", t0, t1) // stop is exclusive
	if err != nil {
		t.Fatal(err)
	}
	if wantR := []Point{{t0, 1}}; !slices.EqualFunc(got, wantR, pointEqual) {
		t.Errorf("Range(running) = %v, want %v", got, wantR)
	}

	// Tags: device plus the device's own, on every point.
	res, err := q.api.Query(t.Context(), fmt.Sprintf(`from(bucket: %s) |> range(start: -1h)
	  |> filter(fn: (r) => r._measurement == "pump" or r._measurement == "energy_meter") |> last()`, fluxString(inf.Bucket)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	seen := 0
	for res.Next() {
		r := res.Record()
		dev, _ := r.ValueByKey("device").(string)
		wantTags := siteTags[dev]
		if wantTags == nil {
			continue
		}
		seen++
		for k, v := range wantTags {
			if r.ValueByKey(k) != v {
				t.Errorf("%s %s.%s: tag %s = %v, want %s", dev, r.Measurement(), r.Field(), k, r.ValueByKey(k), v)
			}
		}
		if dev == "meter-1" && r.ValueByKey("floor") != nil {
			t.Errorf("meter-1 has floor tag %v", r.ValueByKey("floor"))
		}
	}
	if err := res.Err(); err != nil || seen != 6 {
		t.Errorf("tag check saw %d fields (want 6), err %v", seen, err)
	}
}

func pointEqual(a, b Point) bool { return a.Time.Equal(b.Time) && a.Value == b.Value }

// countingTransport records which seq values InfluxDB acknowledged, to tell
// "arrived once" from "arrived twice" (InfluxDB itself merges duplicates).
type countingTransport struct {
	mu   sync.Mutex
	seqs map[int]int
}

var seqField = regexp.MustCompile(`seq=(\d+)i`)

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(r2)
	if err != nil || resp.StatusCode/100 != 2 || req.URL.Path != "/api/v2/write" {
		return resp, err
	}
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range seqField.FindAllSubmatch(body, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		c.seqs[n]++
	}
	return resp, nil
}

// checkOnce asserts that seq 0..n-1 were each acknowledged exactly once and
// that InfluxDB holds n of them.
func checkOnce(t *testing.T, c *countingTransport, q *Querier, dev string, t0 time.Time, n int) {
	t.Helper()
	c.mu.Lock()
	for i := range n {
		if c.seqs[i] != 1 {
			t.Errorf("seq %d acknowledged %d times", i, c.seqs[i])
		}
	}
	if len(c.seqs) != n {
		t.Errorf("%d distinct seqs acknowledged, want %d", len(c.seqs), n)
	}
	c.mu.Unlock()
	got, err := q.Range(t.Context(), "pump", dev, "seq", t0, t0.Add(time.Duration(n)*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Errorf("InfluxDB holds %d points, want %d", len(got), n)
	}
}

func seqSamples(dev string, t0 time.Time, from, to int) []drivers.Sample {
	var out []drivers.Sample
	for i := from; i < to; i++ {
		out = append(out, drivers.Sample{Time: t0.Add(time.Duration(i) * time.Millisecond), Device: dev,
			Measurement: "pump", Point: "seq", Value: drivers.Int(int64(i))})
	}
	return out
}

func outageWriter(t *testing.T, inf *testenv.Influxd) (*Writer, *countingTransport) {
	w := newTestWriter(t, inf, Config{BatchSize: 100, FlushInterval: 50 * time.Millisecond})
	w.minBackoff, w.maxBackoff = 50*time.Millisecond, time.Second // shorter than production, same logic
	ct := &countingTransport{seqs: map[int]int{}}
	w.httpClient = &http.Client{Transport: ct}
	return w, ct
}

// TestOutageLosesNothing takes InfluxDB away mid-stream: what is Put during
// the outage waits and arrives, once, when InfluxDB is back.
func TestOutageLosesNothing(t *testing.T) {
	t.Parallel()
	inf := testenv.StartInfluxd(t)
	w, ct := outageWriter(t, inf)
	runWriter(t, w)
	q := newTestQuerier(t, inf)
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)

	w.Put(t.Context(), seqSamples("p-out", t0, 0, 150))
	waitFor(t, 10*time.Second, "150 written", func() bool { return w.Stats().Written == 150 })

	inf.Stop()
	for i := 150; i < 450; i += 30 {
		w.Put(t.Context(), seqSamples("p-out", t0, i, i+30))
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, "failed writes", func() bool { return w.Stats().Errors >= 2 })
	if st := w.Stats(); st.Pending != 300 || st.Written != 150 {
		t.Fatalf("during outage Stats() = %+v, want 300 pending", st)
	}
	inf.Start()
	waitFor(t, 30*time.Second, "450 written", func() bool { return w.Stats().Written == 450 })
	if st := w.Stats(); st.Accepted != 450 || st.Dropped != 0 || st.Pending != 0 {
		t.Errorf("Stats() = %+v", st)
	}
	checkOnce(t, ct, q, "p-out", t0, 450)
}

// TestDownFromStart: a writer that has never reached InfluxDB still accepts
// samples and delivers them once it can.
func TestDownFromStart(t *testing.T) {
	t.Parallel()
	inf := testenv.StartInfluxd(t)
	inf.Stop()
	w, ct := outageWriter(t, inf)
	runWriter(t, w)

	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	w.Put(t.Context(), seqSamples("p-down", t0, 0, 250))
	waitFor(t, 10*time.Second, "failed writes", func() bool { return w.Stats().Errors >= 2 })
	inf.Start()
	waitFor(t, 30*time.Second, "250 written", func() bool { return w.Stats().Written == 250 })
	checkOnce(t, ct, newTestQuerier(t, inf), "p-down", t0, 250)
}

// BenchmarkWriteThroughput writes polls of ten fields (one point each) of 100
// devices to a real influxd as fast as it takes them, and reports points/s
// including the final drain.
func BenchmarkWriteThroughput(b *testing.B) {
	inf := testenv.StartInfluxd(b)
	w := newTestWriter(b, inf, Config{BatchSize: 5000, FlushInterval: 100 * time.Millisecond})
	runWriter(b, w)
	const fields = 10
	poll := make([]drivers.Sample, fields)
	for i := range poll {
		poll[i] = drivers.Sample{Measurement: "pump", Point: "f" + strconv.Itoa(i)}
	}
	devices := make([]string, 100)
	for i := range devices {
		devices[i] = "pump-" + strconv.Itoa(i)
	}
	t0 := time.Now().Add(-time.Hour)
	start := time.Now()
	n := 0
	for b.Loop() {
		ts := t0.Add(time.Duration(n/len(devices)) * time.Millisecond)
		for i := range poll {
			poll[i].Time, poll[i].Device, poll[i].Value = ts, devices[n%len(devices)], drivers.Float(float64(n+i))
		}
		w.Put(b.Context(), poll)
		n++
		for w.Stats().Pending > 200_000 { // back-pressure instead of overflow
			time.Sleep(time.Millisecond)
		}
	}
	for w.Stats().Pending > 0 {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if st := w.Stats(); st.Written != int64(n*fields) {
		b.Fatalf("Stats() = %+v, want %d written", st, n*fields)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "points/s")
	b.ReportMetric(float64(n*fields)/elapsed.Seconds(), "samples/s")
}
