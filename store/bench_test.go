package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/testenv"
)

// demoIngest is the demo building's ingest rate the issue measures replay
// against: about 6 devices × 20 points each second.
const demoIngest = 6 * 20

// pollBatch returns the samples of one poll: ten fields of one device.
func pollBatch(poll []drivers.Sample, devices []string, n int, t0 time.Time) {
	ts := t0.Add(time.Duration(n/len(devices)) * time.Millisecond)
	for i := range poll {
		poll[i] = drivers.Sample{Time: ts, Device: devices[n%len(devices)], Measurement: "pump",
			Point: "f" + strconv.Itoa(i), Value: drivers.Float(float64(n + i))}
	}
}

func benchDevices() []string {
	devices := make([]string, 100)
	for i := range devices {
		devices[i] = "pump-" + strconv.Itoa(i)
	}
	return devices
}

// BenchmarkWriteThroughput writes polls of ten fields (one line each) of
// 100 devices through the whole path — Put, batch, spool (fsync every
// flush interval), send, InfluxDB's acknowledgement — as fast as influxd
// takes them, on the same two cores, and reports samples/s (a sample is one
// value of one device point, the unit the demo's "points per second" counts)
// and lines/s, the final drain included.
func BenchmarkWriteThroughput(b *testing.B) {
	inf := testenv.StartInfluxd(b)
	w := newTestWriter(b, inf, Config{BatchSize: 5000, FlushInterval: 100 * time.Millisecond}, b.TempDir())
	stop := start(b, w)
	defer stop()
	poll := make([]drivers.Sample, 10)
	devices := benchDevices()
	t0 := time.Now().Add(-time.Hour)
	start := time.Now()
	n := 0
	for b.Loop() {
		pollBatch(poll, devices, n, t0)
		w.Put(b.Context(), poll)
		n++
		for n%64 == 0 && w.Stats().Pending > 200_000 { // back-pressure instead of overflow
			time.Sleep(time.Millisecond)
		}
	}
	for w.Stats().Pending > 0 {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if st := w.Stats(); st.Written != int64(n*len(poll)) {
		b.Fatalf("Stats() = %+v, want %d written", st, n*len(poll))
	}
	b.ReportMetric(float64(n*len(poll))/elapsed.Seconds(), "samples/s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "lines/s")
}

// BenchmarkReplay measures how fast a spool left by an outage drains into
// InfluxDB when it is back: each round spools 500,000 samples with InfluxDB
// unreachable (untimed), then times a writer on the same spool until
// InfluxDB has acknowledged them all. It reports samples/s and that rate as
// a multiple of the demo building's ingest (120 samples/s).
func BenchmarkReplay(b *testing.B) {
	inf := testenv.StartInfluxd(b)
	const samples = 500_000
	poll := make([]drivers.Sample, 10)
	devices := benchDevices()
	var replayed int64
	var took time.Duration
	round := 0
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		w, err := NewWriter(Config{URL: "http://127.0.0.1:1", Bucket: "b", FlushInterval: 50 * time.Millisecond, MaxBuffered: 2 * samples},
			WriterOptions{SpoolDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		w.post = down().post
		stop := start(b, w)
		t0 := time.Now().Add(-time.Duration(round+2) * time.Hour)
		for n := range samples / len(poll) {
			pollBatch(poll, devices, n, t0)
			w.Put(b.Context(), poll)
		}
		waitFor(b, time.Minute, "spooled", func() bool { return w.spool.stats().Spooled == samples })
		stop()

		w = newTestWriter(b, inf, Config{BatchSize: 5000}, dir)
		b.StartTimer()
		began := time.Now()
		stop = start(b, w)
		waitFor(b, 5*time.Minute, "replayed", func() bool { return w.Stats().Written == samples })
		took += time.Since(began)
		b.StopTimer()
		stop()
		replayed += samples
		round++
		b.StartTimer()
	}
	rate := float64(replayed) / took.Seconds()
	b.ReportMetric(rate, "samples/s")
	b.ReportMetric(rate/demoIngest, "x_demo_ingest")
}
