package modbus

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// newFakePoller builds a poller whose gateways all use conn.
func newFakePoller(t *testing.T, conn *fakeConn, devs ...Device) *Poller {
	t.Helper()
	p, err := New(devs, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.newConn = conn.factory
	return p
}

func ints(samples []drivers.Sample) []int64 {
	out := make([]int64, len(samples))
	for i, s := range samples {
		out[i] = s.Value.I
	}
	return out
}

func times(samples []drivers.Sample, start time.Time) []time.Duration {
	out := make([]time.Duration, len(samples))
	for i, s := range samples {
		out[i] = s.Time.Sub(start)
	}
	return out
}

// TestOverrunSkipped: a poll that outlasts the interval makes the poller
// skip and count the ticks it missed, never run polls side by side.
func TestOverrunSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(map[uint8]*fakeUnit{1: {regs: testRegs(), delay: 2500 * time.Millisecond}})
		p := newFakePoller(t, conn, tcpDevice("slow", 1, "gw:502", time.Second, 5*time.Second))
		sink := &collector{}
		start := time.Now()
		runFor(t, p, sink, 10*time.Second)

		polls := sink.series("slow", "pressure")
		if got, want := times(polls, start), []time.Duration{0, 3 * time.Second, 6 * time.Second}; !slices.Equal(got, want) {
			t.Errorf("polls started at %v, want %v", got, want)
		}
		if got, want := ints(sink.series("slow", "skipped")), []int64{2, 4, 6}; !slices.Equal(got, want) {
			t.Errorf("skipped = %v, want %v", got, want)
		}
		if conn.overlaps != 0 {
			t.Errorf("%d requests overlapped", conn.overlaps)
		}
		if st := p.States()["slow"]; st.Skipped != 6 || st.Status != drivers.StatusOnline || st.Latency != 2500*time.Millisecond {
			t.Errorf("state = %+v", st)
		}
	})
}

// TestDeadDeviceBacksOff: a device that never answers is tried at ticks
// 0, 2, 5, 10 (back-off 1, 2, 4 ticks), costs its gateway neighbour no
// tick, and reports up=false every tick.
func TestDeadDeviceBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(map[uint8]*fakeUnit{2: {regs: testRegs(), delay: 10 * time.Millisecond}})
		p := newFakePoller(t, conn,
			tcpDevice("dead", 1, "gw:502", time.Second, 300*time.Millisecond),
			tcpDevice("ok", 2, "gw:502", time.Second, 300*time.Millisecond))
		sink := &collector{}
		runFor(t, p, sink, 11500*time.Millisecond)

		if n := conn.calls[1]; n != 4 {
			t.Errorf("dead device tried %d times, want 4 (ticks 0, 2, 5, 10)", n)
		}
		if n := conn.closes; n != 4+1 {
			t.Errorf("connection closed %d times, want after each of 4 timeouts and at the end", n)
		}
		up := sink.series("dead", "up")
		if len(up) != 12 {
			t.Errorf("dead device: %d health reports, want one per tick (12)", len(up))
		}
		for _, s := range up {
			if s.Value.B {
				t.Errorf("dead device up at %v", s.Time)
			}
		}
		if lat := sink.series("dead", "latency_ms"); len(lat) != 0 {
			t.Errorf("dead device reported latency %v", lat)
		}
		if got := ints(sink.series("dead", "errors")); got[len(got)-1] != 4 {
			t.Errorf("dead device errors = %v, want to end at 4", got)
		}
		ok := sink.series("ok", "pressure")
		if len(ok) != 12 {
			t.Errorf("healthy neighbour polled %d times in 12 ticks", len(ok))
		}
		checkPump(t, ok[len(ok)-1:], nil)
		if got := ints(sink.series("ok", "skipped")); got[len(got)-1] != 0 {
			t.Errorf("healthy neighbour skipped %v", got)
		}
		st := p.States()
		if st["dead"].Status != drivers.StatusOffline || st["dead"].Failures != 4 || !strings.Contains(st["dead"].LastError, "timeout") {
			t.Errorf("dead state = %+v", st["dead"])
		}
		if st["ok"].Status != drivers.StatusOnline {
			t.Errorf("ok state = %+v", st["ok"])
		}
	})
}

func TestBackoffTicks(t *testing.T) {
	cases := []struct {
		n        int
		interval time.Duration
		want     int
	}{
		{1, time.Second, 1}, {2, time.Second, 2}, {3, time.Second, 4}, {7, time.Second, 60},
		{100, time.Second, 60}, {3, 10 * time.Second, 4}, {5, 10 * time.Second, 6}, {5, 2 * time.Minute, 1},
	}
	for _, c := range cases {
		if got := backoffTicks(c.n, c.interval); got != c.want {
			t.Errorf("backoffTicks(%d, %v) = %d, want %d", c.n, c.interval, got, c.want)
		}
	}
}

// TestBusyRetry: exception 6 gets one retry after a short wait; a second
// busy answer fails the request but leaves the link open.
func TestBusyRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(map[uint8]*fakeUnit{1: {regs: testRegs(), busy: 1}, 2: {regs: testRegs(), busy: 2}})
		p := newFakePoller(t, conn,
			tcpDevice("once", 1, "gw:502", time.Second, time.Second),
			tcpDevice("twice", 2, "gw:502", time.Second, time.Second))
		sink := &collector{}
		runFor(t, p, sink, 500*time.Millisecond)

		checkPump(t, sink.series("once", "pressure"), map[string]string{"pressure": "4.25"})
		if conn.calls[1] != 2 {
			t.Errorf("busy-once device asked %d times, want 2", conn.calls[1])
		}
		bad := sink.series("twice", "pressure")
		if len(bad) != 1 || bad[0].Quality != drivers.Bad {
			t.Errorf("busy-twice samples = %+v, want one Bad", bad)
		}
		if conn.closes != 1 { // at the end only
			t.Errorf("closed %d times; an exception must not drop the link", conn.closes)
		}
		st := p.States()
		if st["once"].Status != drivers.StatusOnline || st["twice"].Status != drivers.StatusDegraded || st["twice"].Errors != 1 {
			t.Errorf("states = %+v", st)
		}
		if !strings.Contains(st["twice"].LastError, "holding 0x0000+6 (unit 2)") {
			t.Errorf("last error %q does not name the request", st["twice"].LastError)
		}
	})
}

// TestQuality: NaN is Uncertain, an undecodable point Bad, the rest Good.
func TestQuality(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		prof := &drivers.Profile{Type: "meter", Points: []drivers.Point{
			{Name: "power", Register: drivers.Input, Address: 0, Type: drivers.TypeFloat32},
			{Name: "energy", Register: drivers.Input, Address: 2, Type: drivers.TypeUint64},
			{Name: "pf", Register: drivers.Input, Address: 6, Type: drivers.TypeInt16, Scale: 0.001},
		}}
		conn := newFakeConn(map[uint8]*fakeUnit{1: {regs: []uint16{0x7FC0, 0, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 950}}})
		p := newFakePoller(t, conn, Device{ID: "m", Profile: prof, Config: Config{Address: "gw:502"}})
		sink := &collector{}
		runFor(t, p, sink, 100*time.Millisecond)

		want := map[string]drivers.Quality{"power": drivers.Uncertain, "energy": drivers.Bad, "pf": drivers.Good}
		for name, q := range want {
			s := sink.series("m", name)
			if len(s) != 1 || s[0].Quality != q {
				t.Errorf("%s: %+v, want quality %s", name, s, q)
			}
		}
		if s := sink.series("m", "pf"); len(s) == 1 && math.Abs(s[0].Value.F-0.95) > 1e-12 {
			t.Errorf("pf = %v", s[0].Value)
		}
		if st := p.States()["m"]; st.Status != drivers.StatusDegraded || !strings.Contains(st.LastError, `point "energy" (input 0x0002)`) {
			t.Errorf("state = %+v", st)
		}
	})
}

func TestReadOnceFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(map[uint8]*fakeUnit{1: {regs: testRegs()}, 2: {regs: testRegs()[:3]}})
		samples, err := readOnceWith(context.Background(), tcpDevice("p", 1, "gw:502", 0, 0), conn.factory)
		if err != nil {
			t.Fatal(err)
		}
		checkPump(t, samples, pumpValues)

		// Unit 2 has three registers: the merged read is refused, split,
		// and what the device has is read.
		samples, err = readOnceWith(context.Background(), tcpDevice("p", 2, "gw:502", 0, 0), conn.factory)
		if err == nil || !strings.Contains(err.Error(), `device "p": point "running" (holding 0x0003): refused by the device (modbus: exception '2' (illegal data address)`) {
			t.Errorf("err = %v", err)
		}
		q := map[string]drivers.Quality{}
		for _, s := range samples {
			q[s.Point] = s.Quality
		}
		if want := map[string]drivers.Quality{"pressure": drivers.Good, "temperature": drivers.Good, "running": drivers.Bad, "mode": drivers.Bad, "starts": drivers.Bad}; !maps.Equal(q, want) {
			t.Errorf("qualities = %v, want %v", q, want)
		}

		samples, err = readOnceWith(context.Background(), tcpDevice("p", 9, "gw:502", 0, 0), conn.factory)
		if err == nil || samples != nil {
			t.Errorf("silent device: %v, %v", samples, err)
		}
	})
}

func TestNewRejects(t *testing.T) {
	good := func() Device { return tcpDevice("a", 1, "127.0.0.1:502", time.Second, time.Second) }
	mod := func(f func(*Device)) Device { d := good(); f(&d); return d }
	cases := []struct {
		devs []Device
		want string
	}{
		{[]Device{mod(func(d *Device) { d.Config.Transport = "udp" })}, `device "a": unknown transport "udp"`},
		{[]Device{mod(func(d *Device) { d.Config.Address = "nohost" })}, `device "a": address "nohost": want host:port`},
		{[]Device{mod(func(d *Device) { d.Config.Interval = -time.Second })}, `interval -1s must be positive`},
		{[]Device{mod(func(d *Device) { d.Profile = nil })}, `device "a": no profile`},
		{[]Device{mod(func(d *Device) { d.Profile.Points[0].Register = "" })}, `device "a": point "pressure": no register`},
		{[]Device{mod(func(d *Device) { d.Profile.Points[1].Type = "int12" })}, `device "a": point "temperature" (holding 0x0002): unknown type "int12"`},
		{[]Device{mod(func(d *Device) { d.Profile.Points[0].Address = 65535 })}, `run past 65535`},
		{[]Device{good(), good()}, `device "a": defined twice`},
		{[]Device{mod(func(d *Device) { d.ID = "" })}, `device "": no id`},
		{[]Device{
			{ID: "s1", Profile: testProfile(), Config: Config{Transport: RTU, Address: "/dev/ttyS0"}},
			{ID: "s2", Profile: testProfile(), Config: Config{Transport: RTU, Address: "/dev/ttyS0", BaudRate: 19200}},
		}, `device "s2": serial line /dev/ttyS0: settings 19200 8N1 differ from 9600 8N1`},
		{[]Device{{ID: "s", Profile: testProfile(), Config: Config{Transport: RTU, Address: "/dev/ttyS0", Parity: "X"}}}, `parity "X"`},
	}
	for _, c := range cases {
		_, err := New(c.devs, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
	if _, err := New([]Device{good()}, nil); err != nil {
		t.Errorf("good device: %v", err)
	}
}

// BenchmarkPoll measures one poll of an in-memory device: reading the
// response, decoding the points and building the samples.
func BenchmarkPoll(b *testing.B) {
	conn := newBenchConn()
	d, err := newDevice(tcpDevice("p", 1, "gw:502", 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	ctx, now := context.Background(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if res := d.poll(ctx, conn, now); !res.answered || len(res.problems) > 0 {
			b.Fatalf("poll: %+v", res)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(d.samples))/b.Elapsed().Seconds(), "samples/s")
}

// TestOnePutPerTick: a tick of an answering device is one put, its points
// then its health, and of a silent one just its health; devices whose
// ticks fall together are served in config order.
func TestOnePutPerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(map[uint8]*fakeUnit{1: {regs: testRegs()}, 3: {regs: testRegs()}})
		p := newFakePoller(t, conn,
			tcpDevice("a", 1, "gw:502", time.Second, 100*time.Millisecond),
			tcpDevice("silent", 2, "gw:502", time.Second, 100*time.Millisecond),
			tcpDevice("c", 3, "gw:502", time.Second, 100*time.Millisecond))
		sink := &collector{}
		runFor(t, p, sink, 500*time.Millisecond)
		npoints := len(testProfile().Points)
		var order []string
		for _, put := range sink.puts {
			dev := put[0].Device
			order = append(order, dev)
			want := npoints + 5
			if dev == "silent" {
				want = 4 // up, state, errors, skipped: no latency
			}
			if len(put) != want {
				t.Errorf("%s: put of %d samples, want %d", dev, len(put), want)
				continue
			}
			for i, s := range put {
				health := dev == "silent" || i >= npoints
				if s.Device != dev || (s.Measurement == drivers.HealthMeasurement) != health {
					t.Errorf("%s: sample %d is %s %s %s", dev, i, s.Device, s.Measurement, s.Point)
				}
			}
		}
		if want := []string{"a", "silent", "c"}; !slices.Equal(order, want) {
			t.Errorf("puts of %v, want %v", order, want)
		}
	})
}
