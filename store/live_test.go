package store

import (
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

func TestLive(t *testing.T) {
	l := NewLive(LiveConfig{Window: 10 * time.Second, PointsPerSeries: 20, MaxSeries: 3})
	t0 := time.Unix(1e9, 0)
	put := func(dev, meas, point string, v drivers.Value, q drivers.Quality, at time.Time) {
		l.Put(t.Context(), []drivers.Sample{{Time: at, Device: dev, Measurement: meas, Point: point, Value: v, Quality: q}})
	}
	for i := range 30 {
		put("pump-1", "pump", "flow", drivers.Float(float64(i)), drivers.Good, t0.Add(time.Duration(i)*time.Second))
	}
	put("pump-1", "pump", "flow", drivers.Float(-1), drivers.Good, t0) // older than the latest: ignored
	put("pump-1", "pump", "mode", drivers.String("auto"), drivers.Good, t0)
	put("pump-1", "device_health", "up", drivers.Bool(true), drivers.Good, t0)
	put("pump-2", "pump", "flow", drivers.Float(1), drivers.Good, t0) // a fourth series: refused

	r, ok := l.Latest("pump-1", "pump", "flow")
	if !ok || r.Value.F != 29 || !r.Time.Equal(t0.Add(29*time.Second)) {
		t.Errorf("Latest(flow) = %+v, %v", r, ok)
	}
	w := l.Window("pump-1", "pump", "flow", time.Time{})
	if len(w) != 11 || w[0].Value != 19 || w[10].Value != 29 {
		t.Errorf("Window(flow) = %v, want 19..29 (10 s window)", w)
	}
	if w := l.Window("pump-1", "pump", "flow", t0.Add(27*time.Second)); len(w) != 3 {
		t.Errorf("Window since 27s = %v", w)
	}
	if w := l.Window("pump-1", "pump", "mode", time.Time{}); w != nil {
		t.Errorf("text has a window: %v", w)
	}
	dev := l.Device("pump-1")
	if len(dev) != 2 || dev["pump"]["mode"].Value.S != "auto" || dev["device_health"]["up"].Value.B != true {
		t.Errorf("Device(pump-1) = %+v", dev)
	}
	if l.Device("pump-2") != nil {
		t.Error("refused series shows")
	}
	if st := l.Stats(); st.Series != 3 || st.Refused != 1 || st.Points != 11+1 {
		t.Errorf("Stats() = %+v", st)
	}

	// The ring caps a fast series below its window: the newest stay.
	for i := range 100 {
		put("pump-1", "device_health", "up", drivers.Bool(i%2 == 0), drivers.Good, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if w := l.Window("pump-1", "device_health", "up", time.Time{}); len(w) != 20 || !w[19].Time.Equal(t0.Add(99*time.Millisecond)) {
		t.Errorf("fast window has %d points ending %v", len(w), w[len(w)-1].Time)
	}
	// A bad reading is the latest but stays out of the window.
	put("pump-1", "pump", "flow", drivers.Float(0), drivers.Bad, t0.Add(40*time.Second))
	if r, _ := l.Latest("pump-1", "pump", "flow"); r.Quality != drivers.Bad {
		t.Errorf("latest quality %v", r.Quality)
	}
	if w := l.Window("pump-1", "pump", "flow", time.Time{}); len(w) != 11 {
		t.Errorf("bad reading entered the window: %v", w)
	}
}

// BenchmarkLivePut is the cost on the sample path: a poll of ten points.
func BenchmarkLivePut(b *testing.B) {
	l := NewLive(LiveConfig{})
	poll := make([]drivers.Sample, 10)
	for i := range poll {
		poll[i] = drivers.Sample{Device: "pump-1", Measurement: "pump", Point: "p" + string(rune('a'+i)), Value: drivers.Float(1)}
	}
	t0 := time.Now()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		for i := range poll {
			poll[i].Time = t0.Add(time.Duration(n) * time.Second)
		}
		l.Put(b.Context(), poll)
	}
	b.ReportMetric(float64(b.N*len(poll))/b.Elapsed().Seconds(), "samples/s")
}

// TestLiveLatestOnly: without windows the latest reading is kept all the
// same.
func TestLiveLatestOnly(t *testing.T) {
	l := NewLive(LiveConfig{LatestOnly: true})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		l.Put(t.Context(), []drivers.Sample{{Time: t0.Add(time.Duration(i) * time.Second), Device: "p", Measurement: "pump", Point: "flow", Value: drivers.Float(float64(i))}})
	}
	if r, ok := l.Latest("p", "pump", "flow"); !ok || r.Value.F != 2 {
		t.Errorf("latest %+v %v", r, ok)
	}
	if w := l.Window("p", "pump", "flow", time.Time{}); len(w) != 0 {
		t.Errorf("window %v", w)
	}
	if st := l.Stats(); st.Series != 1 || st.Points != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestLiveManySeries: a device of more series than indexAt finds them by
// its map, whatever order its samples come in; every kind of value comes
// back as it went in.
func TestLiveManySeries(t *testing.T) {
	l := NewLive(LiveConfig{LatestOnly: true})
	t0 := time.Unix(1_700_000_000, 0)
	const n = 3 * indexAt
	tick := func(at time.Time, reverse bool) {
		var ss []drivers.Sample
		for i := range n {
			j := i
			if reverse {
				j = n - 1 - i
			}
			ss = append(ss, drivers.Sample{Time: at, Device: "ahu", Measurement: "ahu", Point: "p" + string(rune('A'+j)), Value: drivers.Int(int64(j) + at.Unix())})
		}
		ss = append(ss, drivers.Sample{Time: at, Device: "ahu", Measurement: "device_health", Point: "state", Value: drivers.String("online")},
			drivers.Sample{Time: at, Device: "ahu", Measurement: "device_health", Point: "up", Value: drivers.Bool(true), Quality: drivers.Uncertain})
		l.Put(t.Context(), ss)
	}
	tick(t0, false)
	tick(t0.Add(time.Second), true)
	tick(t0.Add(2*time.Second), false)
	for j := range n {
		r, ok := l.Latest("ahu", "ahu", "p"+string(rune('A'+j)))
		if !ok || r.Value.Kind != drivers.KindInt || r.Value.I != int64(j)+t0.Unix()+2 || !r.Time.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("point %d: %+v %v", j, r, ok)
		}
	}
	if st := l.Stats(); st.Series != n+2 {
		t.Errorf("%d series, want %d", st.Series, n+2)
	}
	dev := l.Device("ahu")
	if h := dev["device_health"]; h["state"].Value != drivers.String("online") || h["up"].Value != drivers.Bool(true) || h["up"].Quality != drivers.Uncertain {
		t.Errorf("health %+v", h)
	}
	if len(dev["ahu"]) != n {
		t.Errorf("%d points, want %d", len(dev["ahu"]), n)
	}
	if _, ok := l.Latest("ahu", "ahu", "nope"); ok {
		t.Error("unknown point found")
	}
}
