package app

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/store"
)

// TestRuleFeed: the rules get every put, in order, as copies (drivers reuse
// their slices); a full feed refuses a put whole; the buffers are reused,
// so a put costs no allocation once they have grown.
func TestRuleFeed(t *testing.T) {
	f := newRuleFeed(4)
	put := []drivers.Sample{{Device: "m1", Point: "a"}, {Device: "m1", Point: "b"}}
	if !f.put(put) {
		t.Fatal("first put refused")
	}
	put[0].Point, put[1].Point = "c", "d" // the driver reuses its slice
	if !f.put(put) {
		t.Fatal("second put refused")
	}
	if f.put(put[:1]) {
		t.Error("a put past max samples was taken")
	}
	select {
	case <-f.ready:
	default:
		t.Fatal("no wake-up after a put into an empty feed")
	}
	select {
	case <-f.ready:
		t.Error("a second wake-up for a put into a non-empty feed")
	default:
	}
	got := f.take()
	var points []string
	for _, s := range got {
		points = append(points, s.Point)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(points, want) {
		t.Errorf("taken %v, want %v", points, want)
	}
	if b := f.take(); len(b) != 0 {
		t.Errorf("second take got %d samples, want none", len(b))
	}
	// Steady state: put, take, put, take... allocates nothing.
	f.put(put)
	f.take()
	if n := testing.AllocsPerRun(100, func() {
		f.put(put)
		f.take()
	}); n != 0 {
		t.Errorf("%v allocations per put and take, want 0", n)
	}
}

// meterPuts returns, for each of n meters, one tick's put as the Modbus
// poller makes it: 11 float points, then 5 health points.
func meterPuts(n int, at time.Time) [][]drivers.Sample {
	points := []string{"voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "current_l2", "current_l3",
		"power_total", "power_factor", "frequency", "energy_import", "energy_total"}
	puts := make([][]drivers.Sample, n)
	for i := range puts {
		dev := "m" + strconv.Itoa(i)
		for j, p := range points {
			puts[i] = append(puts[i], drivers.Sample{Time: at, Device: dev, Measurement: "energy_meter", Point: p, Value: drivers.Float(230 + float64(j)/10)})
		}
		for _, h := range []struct {
			p string
			v drivers.Value
		}{{"up", drivers.Bool(true)}, {"state", drivers.String("online")}, {"errors", drivers.Int(0)}, {"skipped", drivers.Int(0)}, {"latency_ms", drivers.Float(0.8)}} {
			puts[i] = append(puts[i], drivers.Sample{Time: at, Device: dev, Measurement: drivers.HealthMeasurement, Point: h.p, Value: h.v})
		}
	}
	return puts
}

// BenchmarkRuleHandoff is the hand-off of the Modbus bench's puts to the
// rules' goroutine, which only takes them here: each op is one second of
// 1,000 meters (16,000 samples, one put per meter). "feed" is ruleFeed;
// "clone-chan" is what ingest did before it: a copy of each put sent on a
// channel of 1,024 polls.
func BenchmarkRuleHandoff(b *testing.B) {
	puts := meterPuts(1000, time.Now())
	report := func(b *testing.B, wakes int) {
		b.ReportMetric(16_000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		b.ReportMetric(float64(wakes)/float64(b.N)/1000, "wakeups/put")
	}
	b.Run("feed", func(b *testing.B) {
		f := newRuleFeed(ruleFeedMax)
		var wg sync.WaitGroup
		done := make(chan struct{})
		wakes := 0
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				case <-f.ready:
					wakes++
					f.take()
				}
			}
		})
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range puts {
				for !f.put(p) { // full: let the rules catch up
					time.Sleep(time.Microsecond)
				}
			}
		}
		close(done)
		wg.Wait()
		report(b, wakes)
	})
	b.Run("clone-chan", func(b *testing.B) {
		c := make(chan []drivers.Sample, 1024)
		var wg sync.WaitGroup
		wakes := 0
		wg.Go(func() {
			for range c {
				wakes++
			}
		})
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range puts {
				c <- slices.Clone(p)
			}
		}
		close(c)
		wg.Wait()
		report(b, wakes)
	})
}

// BenchmarkIngest1000Meters is ingest's share of the Modbus bench without
// the network: each op is one second of 1,000 meters put one at a time
// into the writer's queue (batched as a flush does), live state and, with
// rules, the rules' feed (taken by a goroutine as the generation does).
func BenchmarkIngest1000Meters(b *testing.B) {
	for _, rules := range []bool{false, true} {
		name := "no-rules"
		if rules {
			name = "rules"
		}
		b.Run(name, func(b *testing.B) {
			a := &app{live: newLive(), rules: newRuleFeed(ruleFeedMax), log: slog.New(slog.DiscardHandler)}
			a.drivers.noRules.Store(!rules)
			w, err := store.NewWriter(store.Config{URL: "http://127.0.0.1:1", Bucket: "b", MaxBuffered: 1 << 20}, store.WriterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			a.writer = w
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { _ = w.Run(ctx) }) // batches the queue; nothing answers its writes
			wg.Go(func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-a.rules.ready:
						a.rules.take()
					}
				}
			})
			t0 := time.Now().Add(-time.Hour)
			puts := meterPuts(1000, t0)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				n++
				for _, p := range puts {
					for i := range p {
						p[i].Time = t0.Add(time.Duration(n) * time.Second)
					}
					a.ingest(ctx, p)
				}
			}
			b.ReportMetric(16_000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(a.ruleDrops)/float64(b.N)/1000, "rule-drops/put")
			cancel()
			wg.Wait()
		})
	}
}
