package rules

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// benchSetup builds 1,000 devices of 5 equipment types (10 points each) and
// 500 rules, 100 per type: threshold and boolean rules, one in ten with a
// window function.
func benchSetup(b *testing.B) (*Engine, []*Device) {
	points := map[string]drivers.Kind{"on": drivers.KindBool, "alarm": drivers.KindBool}
	for i := range 8 {
		points[fmt.Sprintf("v%d", i)] = drivers.KindFloat
	}
	var devices []*Device
	for i := range 1000 {
		devices = append(devices, &Device{ID: fmt.Sprintf("dev-%d", i), Type: fmt.Sprintf("type%d", i%5),
			Gateway: fmt.Sprintf("gw-%d", i/20), Points: points})
	}
	var b1 strings.Builder
	b1.WriteString("groups:\n  - name: bench\n    rules:\n")
	for t := range 5 {
		for r := range 100 {
			expr := fmt.Sprintf("v%d > %d && on", r%8, 50+r)
			switch {
			case r%10 == 9:
				expr = fmt.Sprintf(`avg(v%d, "1m") > %d`, r%8, 60+r)
			case r%3 == 1:
				expr = fmt.Sprintf("(v%d < %d || alarm) && !on", r%8, r)
			}
			fmt.Fprintf(&b1, "      - {name: r%d_%d, match: {type: type%d}, expr: '%s', for: 30s}\n", t, r, t, expr)
		}
	}
	set := parseRules(b, b1.String())
	e, err := NewEngine(set, devices, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return e, devices
}

// BenchmarkEvaluate feeds polls of 10 points round-robin over 1,000 devices;
// each poll evaluates the 100 rules of its device. evals/s counts rule
// evaluations (sample batch × rule) per second on one core.
func BenchmarkEvaluate(b *testing.B) {
	e, devices := benchSetup(b)
	batch := make([]drivers.Sample, 10)
	names := []string{"on", "alarm", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7"}
	evals := 0
	_, instances := e.Devices()
	perDevice := instances / len(devices)
	ts := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d := devices[i%len(devices)]
		if i%len(devices) == 0 {
			ts = ts.Add(time.Second)
		}
		sec := i / len(devices)
		for j, n := range names {
			// Values drift over a 2-minute cycle; on and alarm change once a
			// minute: every rule crosses its threshold now and then.
			v := drivers.Float(float64((sec + j*7) % 120))
			if j < 2 {
				v = drivers.Bool((sec/60+j)%2 == 0)
			}
			batch[j] = drivers.Sample{Time: ts, Device: d.ID, Measurement: d.Type, Point: n, Value: v}
		}
		e.Observe(batch)
		evals += perDevice
	}
	b.ReportMetric(float64(evals)/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(float64(b.N*len(names))/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkWindowMemory measures the memory of one active window: five
// minutes of a point polled every second.
func BenchmarkWindowMemory(b *testing.B) {
	const n = 1000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ss := make([]*series, n)
		for i := range ss {
			s := &series{keep: 5 * time.Minute}
			for k := range 600 { // ten minutes: the ring holds five
				s.add(t0.Add(time.Duration(k)*time.Second), float64(k))
			}
			ss[i] = s
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/window")
		b.ReportMetric(float64(ss[0].n), "samples/window")
	}
}

// BenchmarkSampleToTransition is the latency from a poll's arrival to the
// transition that receivers act on, for a rule that fires at once.
func BenchmarkSampleToTransition(b *testing.B) {
	e := newTestEngine(b, `
groups:
  - name: g
    rules:
      - {name: fault, match: {type: pump}, expr: fault, severity: critical, flapping: {window: 0s},
         annotations: {summary: "{{ $device }} tripped"}}
`, pump("pump-1", "", nil))
	ts := t0
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		ts = ts.Add(time.Second)
		start := time.Now()
		out := e.Observe(poll("pump-1", ts, "fault", i%2 == 0, "discharge_pressure", 3.0))
		lat = append(lat, time.Since(start))
		if len(out) != 1 {
			b.Fatalf("poll %d: %s", i, summary(out))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
