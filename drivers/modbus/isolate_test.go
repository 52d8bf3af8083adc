package modbus

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// isolationProfile has six points over holding registers 0..11.
func isolationProfile() *drivers.Profile {
	return &drivers.Profile{Type: "meter", Points: []drivers.Point{
		pt("a", "h:0:uint16"), pt("b", "h:1:uint16"), pt("c", "h:2:uint32"),
		pt("d", "h:4:uint16"), pt("e", "h:9:uint16"), pt("f", "h:10:uint32"),
	}}
}

// qualities polls d once and returns its points' qualities in one string,
// "a=good b=bad ...", and the requests the unit saw in that poll.
func pollOnce(t *testing.T, d *device, c *fakeConn, at time.Time) (string, pollResult, []string) {
	t.Helper()
	before := len(c.requests(d.Config.UnitID))
	res := d.poll(context.Background(), c, at)
	var b []string
	for _, s := range d.samples {
		b = append(b, s.Point+"="+s.Quality.String())
	}
	slices.Sort(b)
	return strings.Join(b, " "), res, c.requests(d.Config.UnitID)[before:]
}

func TestIsolation(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	regs := func() []uint16 { return []uint16{1, 2, 0, 3, 4, 0, 0, 0, 0, 5, 0, 6} }
	cases := []struct {
		name       string
		unit       fakeUnit
		first      string // qualities of the first poll
		second     string // requests of the second poll
		problems   int    // problems of the second poll
		secondQual string
	}{
		{
			name:  "refused point",
			unit:  fakeUnit{regs: regs(), refuse: map[uint16]bool{2: true}},
			first: "a=good b=good c=bad d=good e=good f=good",
			// c is left out; a+b and d..f are read without touching register 2
			second: "3 0+2,3 4+8", problems: 1,
			secondQual: "a=good b=good c=bad d=good e=good f=good",
		},
		{
			name:   "refused gap",
			unit:   fakeUnit{regs: regs(), refuse: map[uint16]bool{6: true}},
			first:  "a=good b=good c=good d=good e=good f=good",
			second: "3 0+5,3 9+3", problems: 0,
			secondQual: "a=good b=good c=good d=good e=good f=good",
		},
		{
			name:   "too long",
			unit:   fakeUnit{regs: regs(), maxQty: 8},
			first:  "a=good b=good c=good d=good e=good f=good",
			second: "3 0+5,3 9+3", problems: 0,
			secondQual: "a=good b=good c=good d=good e=good f=good",
		},
		{
			name:  "two refused points",
			unit:  fakeUnit{regs: regs(), refuse: map[uint16]bool{0: true, 10: true}},
			first: "a=bad b=good c=good d=good e=good f=bad",
			// b..e in one read, bridging 5..8, which the device never refused
			second: "3 1+9", problems: 2,
			secondQual: "a=bad b=good c=good d=good e=good f=bad",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.unit
			c := newFakeConn(map[uint8]*fakeUnit{1: &u})
			d, err := newDevice(Device{ID: "m", Profile: isolationProfile(), Config: Config{Address: "gw:502"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(d.requests); got != "holding 0+12[a@0 b@1 c@2 d@4 e@9 f@10]" {
				t.Fatalf("initial plan %s", got)
			}
			q, res, _ := pollOnce(t, d, c, t0)
			if q != tc.first {
				t.Errorf("first poll: %s, want %s", q, tc.first)
			}
			if !res.answered {
				t.Error("first poll not answered")
			}
			q, res, reqs := pollOnce(t, d, c, t0.Add(time.Second))
			if got := strings.Join(reqs, ","); got != tc.second {
				t.Errorf("second poll sent %s, want %s", got, tc.second)
			}
			if q != tc.secondQual || len(res.problems) != tc.problems || res.requests != len(reqs) {
				t.Errorf("second poll: %s, %d problems (%v), %d requests", q, len(res.problems), res.problems, res.requests)
			}
		})
	}
}

// TestIsolationMessageAndForget: a refused point names itself and the
// profile entry to check; after forgetRefusals the full plan is tried again.
func TestIsolationMessageAndForget(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	u := &fakeUnit{regs: make([]uint16, 12), refuse: map[uint16]bool{4: true}}
	c := newFakeConn(map[uint8]*fakeUnit{1: u})
	d, err := newDevice(Device{ID: "m", Profile: isolationProfile(), Config: Config{Address: "gw:502"}})
	if err != nil {
		t.Fatal(err)
	}
	_, res, _ := pollOnce(t, d, c, t0)
	if len(res.problems) != 1 || !strings.Contains(res.problems[0].err.Error(),
		`point "d" (holding 0x0004): refused by the device (modbus: exception '2' (illegal data address)`) {
		t.Fatalf("problems = %v", res.problems)
	}
	if !strings.Contains(res.problems[0].err.Error(), "until 09:00:00") {
		t.Errorf("problem does not say when the point is tried again: %v", res.problems[0].err)
	}
	u.refuse = nil // the device's map was fixed
	if q, _, _ := pollOnce(t, d, c, t0.Add(59*time.Minute)); !strings.Contains(q, "d=bad") {
		t.Errorf("refused point read again before an hour: %s", q)
	}
	q, res, reqs := pollOnce(t, d, c, t0.Add(time.Hour))
	if strings.Contains(q, "bad") || len(res.problems) != 0 || len(reqs) != 1 {
		t.Errorf("after an hour: %s, %v, requests %v", q, res.problems, reqs)
	}
}

// TestIsolationAllRefused: a device that refuses every point is probed with
// one request per poll; an exception keeps it answered (degraded), a good
// answer brings the full plan back.
func TestIsolationAllRefused(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	u := &fakeUnit{regs: nil} // every read is out of range
	c := newFakeConn(map[uint8]*fakeUnit{1: u})
	d, err := newDevice(tcpDevice("p", 1, "gw:502", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	q, res, _ := pollOnce(t, d, c, t0)
	if q != "mode=bad pressure=bad running=bad starts=bad temperature=bad" || !res.answered || len(res.problems) != 5 {
		t.Fatalf("first poll: %s, answered %v, %d problems", q, res.answered, len(res.problems))
	}
	_, res, reqs := pollOnce(t, d, c, t0.Add(time.Second))
	if !slices.Equal(reqs, []string{"3 0+2"}) || !res.answered {
		t.Errorf("probe: %v, answered %v", reqs, res.answered)
	}
	u.regs = testRegs()
	pollOnce(t, d, c, t0.Add(2*time.Second)) // the probe succeeds
	q, res, reqs = pollOnce(t, d, c, t0.Add(3*time.Second))
	if q != "mode=good pressure=good running=good starts=good temperature=good" || len(reqs) != 1 {
		t.Errorf("after the device came back: %s, %v", q, reqs)
	}
	c.units[1] = nil // now it stops answering: the probe must not hide that
	d.learned = learned{refused: []refusedPoint{{point: d.requests[0].Points[0].Point}}, since: t0, dirty: true}
	d.replan()
	synctest.Test(t, func(t *testing.T) {
		if res := d.poll(context.Background(), c, t0.Add(4*time.Second)); res.answered {
			t.Error("a silent device counts as answered")
		}
	})
}

// TestPauseAndCloseAfterPoll: requests of a poll are spaced by the pause;
// the link is dropped after each poll.
func TestPauseAndCloseAfterPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &fakeUnit{regs: make([]uint16, 12), coils: make([]bool, 4)}
		prof := isolationProfile()
		prof.Points = append(prof.Points, pt("g", "c:3:bool"))
		conn := newFakeConn(map[uint8]*fakeUnit{1: u})
		gap := 0
		p := newFakePoller(t, conn, Device{ID: "m", Profile: prof, Config: Config{
			Address: "gw:502", MaxGap: &gap, Interval: time.Second,
			Workarounds: Workarounds{PauseBetweenRequests: 50 * time.Millisecond, CloseAfterPoll: true},
		}})
		sink := &collector{}
		runFor(t, p, sink, 2500*time.Millisecond)
		lat := sink.series("m", "latency_ms")
		// holding 0+6, 9+3 and coil 3: three requests, two pauses
		if len(lat) != 3 || lat[0].Value.F != 100 {
			t.Errorf("latency %v, want 3 polls of 100 ms", lat)
		}
		if conn.closes != 3+1 {
			t.Errorf("closed %d times, want after each of 3 polls and at the end", conn.closes)
		}
		if st := p.States()["m"]; st.Requests != 9 || st.Status != drivers.StatusOnline {
			t.Errorf("state %+v", st)
		}
	})
}

// TestJitter: each poll waits its device's jitter past the tick, and the
// ticks stay on the interval's grid.
func TestJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(map[uint8]*fakeUnit{1: {regs: testRegs()}})
		dev := tcpDevice("p", 1, "gw:502", time.Second, time.Second)
		dev.Config.Jitter = 300 * time.Millisecond
		p := newFakePoller(t, conn, dev)
		var delays []time.Duration
		p.jitter = func(max time.Duration) time.Duration {
			if max != 300*time.Millisecond {
				t.Errorf("jitter bound %v", max)
			}
			d := time.Duration(len(delays)%3) * 100 * time.Millisecond
			delays = append(delays, d)
			return d
		}
		sink := &collector{}
		start := time.Now()
		runFor(t, p, sink, 3500*time.Millisecond)
		want := []time.Duration{0, 1100 * time.Millisecond, 2200 * time.Millisecond, 3000 * time.Millisecond}
		if got := times(sink.series("p", "pressure"), start); !slices.Equal(got, want) {
			t.Errorf("polls at %v, want %v", got, want)
		}
	})
	for range 1000 {
		if d := randomJitter(10 * time.Millisecond); d < 0 || d >= 10*time.Millisecond {
			t.Fatalf("randomJitter gave %v", d)
		}
	}
	if randomJitter(0) != 0 {
		t.Error("no jitter asked, some given")
	}
}
