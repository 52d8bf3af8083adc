package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestOutages takes InfluxDB away under a steady stream of samples, then
// kills the writer's process with SIGKILL during an outage. Both share one
// influxd, since each stop and start of it costs seconds.
func TestOutages(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("stops and starts influxd")
	}
	inf := testenv.StartInfluxd(t)
	t.Run("Stream", func(t *testing.T) { testOutageStream(t, inf) })
	t.Run("Kill", func(t *testing.T) { testKillDuringOutage(t, inf) })
	t.Run("BackoffAtCap", func(t *testing.T) { testBackoffAtCap(t, inf) })
}

// testBackoffAtCap: InfluxDB is away while the writer's back-off stands at
// its cap (a minute here: the cap is reached from the first failure); once
// influxd is back, the probe finds it and the samples spooled meanwhile are
// acknowledged well before the back-off would have ended, with no write
// attempts but the first while it was away.
func testBackoffAtCap(t *testing.T, inf *testenv.Influxd) {
	w := newTestWriter(t, inf, Config{FlushInterval: 50 * time.Millisecond}, t.TempDir())
	w.minBackoff, w.maxBackoff = time.Minute, time.Minute
	stop := start(t, w)
	defer stop()
	t0 := time.Now().Add(-50 * time.Minute).Truncate(time.Second)
	put(t, w, []drivers.Sample{seqSample("p-cap", t0, 0)})
	inf.Stop()
	var batch []drivers.Sample
	for i := 1; i <= 1000; i++ {
		batch = append(batch, seqSample("p-cap", t0, i))
	}
	w.Put(t.Context(), batch)
	waitFor(t, 10*time.Second, "a failed write", func() bool { return w.Status().State == "retrying" })
	time.Sleep(3 * time.Second) // backing off, probing
	inf.Start()
	// The old back-off would keep these waiting for the rest of its minute.
	waitFor(t, 10*time.Second, "writes to resume", func() bool { return w.Stats().Written == 1001 })
	st := w.Status()
	if failed := st.ErrorsBy["network"] + st.ErrorsBy["timeout"]; failed != 1 || st.State != "ok" {
		t.Errorf("Status() = %+v; want one failed write during the outage", st)
	}
	if count, _ := countSum(t, newTestQuerier(t, inf), "p-cap", t0); count != 1001 {
		t.Errorf("InfluxDB holds %d samples, want 1001", count)
	}
}

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
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body, err = io.ReadAll(zr); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range seqField.FindAllSubmatch(body, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		c.seqs[n]++
	}
	return resp, nil
}

// seqSample is sample i of a stream: seq = i, one millisecond apart.
func seqSample(dev string, t0 time.Time, i int) drivers.Sample {
	return drivers.Sample{Time: t0.Add(time.Duration(i) * time.Millisecond), Device: dev,
		Measurement: "pump", Point: "seq", Value: drivers.Int(int64(i))}
}

// countSum asks InfluxDB how many seq values of dev it holds, and their sum.
func countSum(t *testing.T, q *Querier, dev string, t0 time.Time) (count, sum int64) {
	t.Helper()
	for _, fn := range []string{"count", "sum"} {
		res, err := q.queryAPI().Query(t.Context(), fmt.Sprintf(`from(bucket: %s) |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "pump" and r.device == %s and r._field == "seq") |> group() |> %s()`,
			fluxString(q.cfg.Bucket), fluxTime(t0), fluxTime(t0.Add(time.Hour)), fluxString(dev), fn))
		if err != nil {
			t.Fatal(err)
		}
		for res.Next() {
			v, _ := res.Record().Value().(int64)
			if fn == "count" {
				count = v
			} else {
				sum = v
			}
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		res.Close()
	}
	return count, sum
}

// testOutageStream: InfluxDB stops during a steady stream and comes back;
// every sample arrives exactly once (count, sum and acknowledgements),
// replayed from the spool while new samples keep coming.
func testOutageStream(t *testing.T, inf *testenv.Influxd) {
	w := newTestWriter(t, inf, Config{BatchSize: 500, FlushInterval: 50 * time.Millisecond}, t.TempDir())
	w.minBackoff, w.maxBackoff = 50*time.Millisecond, 500*time.Millisecond // shorter than production, same logic
	ct := &countingTransport{seqs: map[int]int{}}
	w.httpClient = &http.Client{Transport: ct}
	stop := start(t, w)
	defer stop()
	q := newTestQuerier(t, inf)
	t0 := time.Now().Add(-30 * time.Minute).Truncate(time.Second)

	// A stream of 1000 samples/s, one Put per millisecond tick batch.
	var n int
	var mu sync.Mutex
	streamCtx, endStream := context.WithCancel(context.Background())
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-streamCtx.Done():
				return
			case <-tick.C:
			}
			mu.Lock()
			batch := make([]drivers.Sample, 5)
			for i := range batch {
				batch[i] = seqSample("p-out", t0, n)
				n++
			}
			mu.Unlock()
			w.Put(streamCtx, batch)
		}
	}()
	waitFor(t, 10*time.Second, "first writes", func() bool { return w.Stats().Written > 500 })
	inf.Stop()
	waitFor(t, 10*time.Second, "failed writes", func() bool { return w.Status().State == "retrying" })
	time.Sleep(time.Second)
	during := w.Stats()
	inf.Start()
	waitFor(t, 30*time.Second, "replay", func() bool { return w.Stats().Written > during.Accepted })
	endStream()
	<-streamed
	waitFor(t, 30*time.Second, "all written", func() bool { return w.Stats().Pending == 0 })

	total := int64(n)
	st := w.Stats()
	t.Logf("%d samples, %d pending during the outage, %d write errors", total, during.Pending, st.Errors)
	if st.Accepted != total || st.Written != total || st.Dropped != 0 {
		t.Errorf("Stats() = %+v, want %d written", st, total)
	}
	if count, sum := countSum(t, q, "p-out", t0); count != total || sum != total*(total-1)/2 {
		t.Errorf("InfluxDB holds %d samples summing to %d, want %d summing to %d", count, sum, total, total*(total-1)/2)
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	for i := range n {
		if ct.seqs[i] != 1 {
			t.Errorf("seq %d acknowledged %d times", i, ct.seqs[i])
		}
	}
}

// killFlush is the flush interval of the killed writer: what it may lose.
const killFlush = 200 * time.Millisecond

// TestSpoolChild is the process testKillDuringOutage kills: a writer with a
// spool fed 1000 samples/s, printing "accepted SEQ UNIXNANO" after each Put.
// It runs only when the parent sets FACILITYD_SPOOL_CHILD.
func TestSpoolChild(t *testing.T) {
	env := os.Getenv("FACILITYD_SPOOL_CHILD")
	if env == "" {
		t.Skip("helper process of TestOutages/Kill")
	}
	var url, dir string
	var from, count int
	var t0ns int64
	fmt.Sscan(env, &url, &dir, &from, &count, &t0ns)
	w, err := NewWriter(Config{URL: url, Bucket: testenv.Database + "/autogen", FlushInterval: killFlush}, WriterOptions{SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w.minBackoff, w.maxBackoff = 50*time.Millisecond, 500*time.Millisecond
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "recovered %d\n", w.Stats().Recovered)
	t0 := time.Unix(0, t0ns)
	tick := time.NewTicker(time.Millisecond)
	for i := from; i < from+count && ctx.Err() == nil; i++ {
		w.Put(ctx, []drivers.Sample{seqSample("p-kill", t0, i)})
		fmt.Fprintf(out, "accepted %d %d\n", i, time.Now().UnixNano())
		out.Flush()
		<-tick.C
	}
	fmt.Fprintln(out, "streamed")
	out.Flush()
	<-ctx.Done()
	<-done
	fmt.Fprintf(out, "stopped %+v\n", w.Stats())
	out.Flush()
}

// child is a running TestSpoolChild.
type child struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	accepted map[int]time.Time
	lines    []string
	done     chan struct{}
}

func startChild(t *testing.T, url, dir string, from, count int, t0 time.Time) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolChild$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("FACILITYD_SPOOL_CHILD=%s %s %d %d %d", url, dir, from, count, t0.UnixNano()))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, accepted: map[int]time.Time{}, done: make(chan struct{})}
	go func() { // owned: ends when the child's stdout closes; wait reads done
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var seq int
			var ns int64
			c.mu.Lock()
			if _, err := fmt.Sscanf(sc.Text(), "accepted %d %d", &seq, &ns); err == nil {
				c.accepted[seq] = time.Unix(0, ns)
			} else {
				c.lines = append(c.lines, sc.Text())
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); c.wait() })
	return c
}

func (c *child) wait() { <-c.done; c.cmd.Wait() }

func (c *child) said(prefix string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// testKillDuringOutage: the writer's process is killed with SIGKILL while
// InfluxDB is down; a new process on the same spool starts (InfluxDB still
// down), InfluxDB returns, and every sample accepted more than one flush
// interval before the kill arrives.
func testKillDuringOutage(t *testing.T, inf *testenv.Influxd) {
	dir := t.TempDir()
	q := newTestQuerier(t, inf)
	t0 := time.Now().Add(-40 * time.Minute).Truncate(time.Second)

	a := startChild(t, inf.URL, dir, 0, 1_000_000, t0)
	waitFor(t, 20*time.Second, "first writes", func() bool { n, _ := countSum(t, q, "p-kill", t0); return n > 200 })
	inf.Stop()
	time.Sleep(1500 * time.Millisecond)
	killAt := time.Now()
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.wait()
	last := len(a.accepted)

	b := startChild(t, inf.URL, dir, last, 500, t0)
	waitFor(t, 20*time.Second, "second process streams", func() bool { return b.said("streamed") })
	if !b.said("recovered ") || b.said("recovered 0") {
		t.Errorf("second process recovered nothing: %q", b.lines)
	}
	inf.Start()
	want := last + 500
	waitFor(t, 60*time.Second, "replay", func() bool {
		got, err := q.Series(t.Context(), Selector{Measurement: "pump", Device: "p-kill", Field: "seq"}, t0, t0.Add(time.Hour))
		return err == nil && len(got) == 1 && len(got[0].Points) >= want-int(killFlush/time.Millisecond)*2 &&
			got[0].Points[len(got[0].Points)-1].Value == float64(want-1)
	})
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.wait()

	got, err := q.Series(t.Context(), Selector{Measurement: "pump", Device: "p-kill", Field: "seq"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	have := map[int]bool{}
	for _, p := range got[0].Points {
		have[int(p.Value)] = true
	}
	var lost []int
	var window time.Duration
	for seq := range want {
		if have[seq] {
			continue
		}
		lost = append(lost, seq)
		at, ok := a.accepted[seq]
		if !ok {
			t.Errorf("seq %d of the second process was lost", seq)
			continue
		}
		window = max(window, killAt.Sub(at))
	}
	t.Logf("kill -9 during an outage: %d of %d samples accepted before the kill lost, the oldest accepted %v before the kill (flush interval %v)",
		len(lost), last, window.Round(time.Millisecond), killFlush)
	// One flush interval, and the time a loaded machine may take to run
	// the batcher once the tick has fired.
	if window > killFlush+150*time.Millisecond {
		t.Errorf("lost samples accepted up to %v before the kill (seqs %v), more than one flush interval (%v)", window, lost, killFlush)
	}
}
