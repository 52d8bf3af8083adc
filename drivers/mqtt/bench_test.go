package mqtt

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/mqttconn"
)

const benchJSON = `{"ts":1772366400500,"grid":{"voltage":230.4,"currents":[5.25,4.5,1.0]},"power":1196.5,"energy_wh":12345678,"ok":true}`

func benchDevices() []Device {
	meter := &drivers.Profile{Type: "energy_meter", Points: []drivers.Point{
		{Name: "voltage", Path: "grid.voltage"},
		{Name: "current_l1", Path: "grid.currents[0]"},
		{Name: "current_l2", Path: "grid.currents[1]"},
		{Name: "power", Path: "power"},
		{Name: "energy", Path: "energy_wh", Type: drivers.TypeUint64, Counter: true},
		{Name: "ok", Path: "ok", Type: drivers.TypeBool},
	}}
	plain := &drivers.Profile{Type: "sensor", Points: []drivers.Point{{Name: "temperature"}, {Name: "humidity"}}}
	return []Device{
		{ID: "m1", Profile: meter, Config: DeviceConfig{Topic: "site/+device/state", Timestamp: TimestampConfig{Path: "ts", Format: TimeUnixMs}}},
		{ID: "t1", Profile: plain, Config: DeviceConfig{Topic: "plain/+device/+point", Format: Value}},
	}
}

func benchDriver(b *testing.B, sink drivers.Sink) *Driver {
	d, err := New(Config{Config: mqttconn.Config{Broker: "tcp://127.0.0.1:1883"}}.WithDefaults("bench"), benchDevices(), nil)
	if err != nil {
		b.Fatal(err)
	}
	d.ctx, d.sink = context.Background(), sink
	// benchJSON's ts, so that it stays inside max_age whatever the date
	d.now = func() time.Time { return time.UnixMilli(1772366400500) }
	return d
}

type countSink struct{ n atomic.Int64 }

func (c *countSink) Put(_ context.Context, ss []drivers.Sample) { c.n.Add(int64(len(ss))) }

// BenchmarkParse measures messages parsed into samples per second on one
// core, from the handler (routing, parsing, health) to the sink.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, topic, payload string }{
		{"json", "site/m1/state", benchJSON},
		{"plain", "plain/t1/temperature", "21.75"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sink := &countSink{}
			d := benchDriver(b, sink)
			payload := []byte(bc.payload)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			cpu := cpuTime()
			for b.Loop() {
				d.onMessage(bc.topic, payload)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if used := cpuTime() - cpu; used > 0 {
				b.ReportMetric(float64(b.N)/used.Seconds(), "msgs/cpu-s")
			}
			b.ReportMetric(float64(sink.n.Load())/float64(b.N), "samples/msg")
			if d.stats.Malformed > 0 {
				b.Fatalf("malformed: %+v", d.topics.snapshot())
			}
		})
	}
}

// BenchmarkSteadyStream feeds a steady stream of messages, on many
// topics and with a share of malformed ones, and reports how much the heap
// grew between the first and the last of its rounds: it should not.
func BenchmarkSteadyStream(b *testing.B) {
	d := benchDriver(b, &countSink{})
	topics := make([]string, 5000)
	for i := range topics {
		topics[i] = "plain/t1/x" + strconv.Itoa(i) // unknown points: skipped
	}
	round := func() {
		for i := range 20000 {
			switch i % 4 {
			case 0:
				d.onMessage("site/m1/state", []byte(benchJSON))
			case 1:
				d.onMessage("plain/t1/temperature", []byte("21.5"))
			case 2:
				d.onMessage(topics[i%len(topics)], []byte("1"))
			default:
				d.onMessage("site/x"+strconv.Itoa(i%3000)+"/state", []byte("{broken")) // unmatched, many topics
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	round()
	start := heap()
	for b.Loop() {
		round()
	}
	growth := int64(heap()) - int64(start)
	b.ReportMetric(float64(growth), "heap-growth-B")
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkEndToEnd publishes through each broker and measures messages
// per second from publish to sample (QoS 0, pipelined) and the latency of
// one message at a time.
func BenchmarkEndToEnd(b *testing.B) {
	for _, bk := range brokers {
		b.Run(bk.name, func(b *testing.B) {
			tb := bk.start(b, brokerOptions{})
			sink := &countSink{}
			cfg := tb.config()
			q := 0
			cfg.QoS = &q
			d, err := New(cfg, benchDevices(), nil)
			if err != nil {
				b.Fatal(err)
			}
			runDriver(b, d, sink)
			waitFor(b, 10*time.Second, "connection", d.Connected)
			pub := testClient(b, tb.url, "bench-publisher", tb.creds)
			payload := []byte(benchJSON)
			want := int64(0)
			var lat time.Duration
			for b.Loop() {
				const batch = 1000
				before := d.Stats().Messages
				for range batch {
					pub.Publish("site/m1/state", 0, false, payload)
				}
				want += batch
				deadline := time.Now().Add(30 * time.Second)
				for d.Stats().Messages < before+batch && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				// one message alone, for latency
				n := d.Stats().Messages
				start := time.Now()
				pub.Publish("plain/t1/temperature", 0, false, []byte("1"))
				for d.Stats().Messages == n && time.Since(start) < 5*time.Second {
					runtime.Gosched()
				}
				lat += time.Since(start)
			}
			got := d.Stats().Messages
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(lat.Microseconds())/float64(b.N), "µs-latency")
			if got < want {
				b.Logf("%d of %d QoS 0 messages arrived", got, want)
			}
		})
	}
}

// BenchmarkParseWaterMeters is the MQTT peer bench's work (mqtt.sh): 100
// water meters on site/water/+device/state sending {"flow":…,"total":…},
// from the handler to the sink. It reports msgs/s and allocations per
// message.
func BenchmarkParseWaterMeters(b *testing.B) {
	wm := &drivers.Profile{Type: "water_meter", Points: []drivers.Point{
		{Name: "flow", Type: drivers.TypeFloat64}, {Name: "total", Type: drivers.TypeFloat64, Counter: true}}}
	var devs []Device
	topics := make([]string, 100)
	for i := range topics {
		id := "wm-" + strconv.Itoa(1000 + i)[1:]
		devs = append(devs, Device{ID: id, Profile: wm, Config: DeviceConfig{Topic: "site/water/+device/state"}})
		topics[i] = "site/water/" + id + "/state"
	}
	sink := &countSink{}
	d, err := New(Config{Config: mqttconn.Config{Broker: "tcp://127.0.0.1:1883"}}.WithDefaults("bench"), devs, nil)
	if err != nil {
		b.Fatal(err)
	}
	d.ctx, d.sink = context.Background(), sink
	payload := []byte(`{"flow": 2.3, "total": 1234.56}`)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		d.onMessage(topics[n%len(topics)], payload)
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if got := sink.n.Load(); got != 2*int64(b.N) {
		b.Fatalf("%d samples from %d messages", got, b.N)
	}
}
