package store

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/facilityd/facilityd/drivers"
)

// meterTicks returns, for each of n meters, the samples of one tick as the
// Modbus poller puts them: 11 float points, then 5 health points.
func meterTicks(n int) [][]drivers.Sample {
	points := []string{"voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "current_l2", "current_l3",
		"power_total", "power_factor", "frequency", "energy_import", "energy_total"}
	ticks := make([][]drivers.Sample, n)
	for i := range ticks {
		dev := "m" + strconv.Itoa(i)
		for j, p := range points {
			ticks[i] = append(ticks[i], drivers.Sample{Device: dev, Measurement: "energy_meter", Point: p, Value: drivers.Float(230 + float64(j)/10)})
		}
		for _, h := range []struct {
			p string
			v drivers.Value
		}{{"up", drivers.Bool(true)}, {"state", drivers.String("online")}, {"errors", drivers.Int(0)}, {"skipped", drivers.Int(0)}, {"latency_ms", drivers.Float(0.8)}} {
			ticks[i] = append(ticks[i], drivers.Sample{Device: dev, Measurement: drivers.HealthMeasurement, Point: h.p, Value: h.v})
		}
	}
	return ticks
}

// stamp sets the time of every sample of ticks.
func stamp(ticks [][]drivers.Sample, t time.Time) {
	for _, tick := range ticks {
		for i := range tick {
			tick[i].Time = t
		}
	}
}

// putSecond stamps ticks with t and puts them into sink one tick at a
// time, as the poller does in a second.
func putSecond(ctx context.Context, sink drivers.Sink, ticks [][]drivers.Sample, t time.Time) {
	stamp(ticks, t)
	for _, tick := range ticks {
		sink.Put(ctx, tick)
	}
}

var meterTags = map[string]map[string]string{}

// BenchmarkWriterIngest is the writer's share of the Modbus bench, without
// the network: each op is one second of 1,000 meters (16,000 samples put
// one tick at a time), batched into gzipped line protocol as a flush does.
// It reports samples/s and allocations per sample.
func BenchmarkWriterIngest(b *testing.B) {
	w, err := NewWriter(Config{URL: "http://127.0.0.1:1", Bucket: "b", BatchSize: 5000, MaxBuffered: 1 << 20},
		WriterOptions{Tags: func(dev string) map[string]string { return meterTags[dev] }})
	if err != nil {
		b.Fatal(err)
	}
	ticks := meterTicks(1000)
	for _, tick := range ticks { // one map per device, as the app hands out
		meterTags[tick[0].Device] = map[string]string{"site": "bench", "building": "A"}
	}
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		putSecond(ctx, w, ticks, t0.Add(time.Duration(n)*time.Second))
		n++
		w.batch(ctx, true)
		for rec := w.mem.next(); rec != nil; rec = w.mem.next() {
			w.mem.ack(rec)
		}
	}
	perOp := float64(1000 * 16)
	b.ReportMetric(perOp*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		putSecond(ctx, w, ticks, t0.Add(time.Duration(n)*time.Second))
		n++
		w.batch(ctx, true)
		for rec := w.mem.next(); rec != nil; rec = w.mem.next() {
			w.mem.ack(rec)
		}
	}))/perOp, "allocs/sample")
}

// BenchmarkLivePut1000Meters is live state's share of the Modbus bench: each op is
// one second of 1,000 meters put one tick at a time, with a window per series
// and with the latest readings only (as the daemon keeps them). heap-B/series
// is what live state holds per series after the run.
func BenchmarkLivePut1000Meters(b *testing.B) {
	for _, latestOnly := range []bool{false, true} {
		name := "window"
		if latestOnly {
			name = "latest"
		}
		b.Run(name, func(b *testing.B) {
			ticks := meterTicks(1000)
			l := NewLive(LiveConfig{MaxSeries: 20_000, LatestOnly: latestOnly})
			ctx := context.Background()
			t0 := time.Now()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				putSecond(ctx, l, ticks, t0.Add(time.Duration(n)*time.Second))
				n++
			}
			b.ReportMetric(16_000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			series := l.Stats().Series
			if series != 16_000 {
				b.Fatalf("%d series, want 16,000", series)
			}
			// What l holds: the heap with it, less the heap without it.
			var with, without runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&with)
			runtime.KeepAlive(l)
			l = nil
			runtime.GC()
			runtime.ReadMemStats(&without)
			b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc))/float64(series), "heap-B/series")
		})
	}
}

// BenchmarkGzipBatch compresses one second of 1,000 meters' line protocol
// as the encoder does, with compress/gzip's BestSpeed (before) and with the
// stateless klauspost/compress writer (gzipLevel): ratio, and held-B, the
// heap a writer keeps between batches once pools have let go of what it
// borrowed (klauspost/compress/flate also builds about 0.6 MB of tables
// when the program starts, whether it compresses or not).
func BenchmarkGzipBatch(b *testing.B) {
	ticks := meterTicks(1000)
	stamp(ticks, time.Now())
	var batch []drivers.Sample
	for _, tick := range ticks {
		batch = append(batch, tick...)
	}
	lines, _, err := newEncoder().encode(batch, func(string) map[string]string { return map[string]string{"site": "bench"} }).splitLines()
	if err != nil {
		b.Fatal(err)
	}
	lp := bytes.Join(lines, nil)
	type writer interface {
		io.Writer
		Close() error
		Reset(io.Writer)
	}
	for _, bc := range []struct {
		name string
		mk   func() writer
	}{
		{"stdlib-bestspeed", func() writer { z, _ := stdgzip.NewWriterLevel(nil, stdgzip.BestSpeed); return z }},
		{"stateless", func() writer { z, _ := gzip.NewWriterLevel(nil, gzipLevel); return z }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var with, without runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&without)
			z := bc.mk()
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				z.Reset(&out)
				z.Write(lp)
				z.Close()
			}
			runtime.GC()
			runtime.GC() // and what a sync.Pool kept through one collection
			runtime.ReadMemStats(&with)
			runtime.KeepAlive(z)
			b.ReportMetric(float64(len(lp))/float64(out.Len()), "ratio")
			b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc)-int64(out.Cap())), "held-B")
		})
	}
}
