package store

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// LiveConfig bounds live state. Zero fields take the defaults.
type LiveConfig struct {
	// Window is how far back the short window of each series reaches
	// (default 5 minutes).
	Window time.Duration
	// PointsPerSeries caps each window (default 600: the 5 minutes of a
	// series polled twice a second); a faster series' window covers less
	// time.
	PointsPerSeries int
	// MaxSeries caps the device points held (default 10,000); samples of
	// further series are counted in LiveStats.Refused and not kept.
	MaxSeries int
	// LatestOnly keeps the latest reading of each series and no window, for
	// holders that never ask for one: a window costs up to PointsPerSeries
	// × 16 bytes per series (96 MB at the caps).
	LatestOnly bool
}

// Live is the latest value and a short window of every device point, in
// memory, for the dashboard and stream rules, without touching InfluxDB.
//
// Memory is bounded: at most MaxSeries series, each with a ring of at most
// PointsPerSeries (time, value) pairs of 16 bytes, grown on demand, plus
// about 100 bytes for the series and its latest reading (names are shared
// with the samples; a device's series sit in one slice, in the order they
// first came, and only a device of more than indexAt series has a map of
// them). With the defaults that is at most 10,000 × (600 × 16 + 100) B ≈
// 97 MB; latest readings only (LatestOnly), 1,000 meters of 16 series take
// about 2 MB (118 B a series, BenchmarkLivePut1000Meters).
// Live is safe for concurrent use.
type Live struct {
	cfg     LiveConfig
	mu      sync.RWMutex
	devices map[string]*liveDevice
	nseries int
	refused atomic.Int64
}

// liveDevice is one device's series, in the order they first came.
type liveDevice struct {
	series []liveSeries
	index  map[pointID]int // by measurement and point; nil up to indexAt series
}

// indexAt is how many series a device has before a map finds them: fewer
// are compared in place (a poll's samples come in the same order every
// time, so the one after the last found is, as a rule, the next).
const indexAt = 16

type pointID struct{ measurement, point string }

// Reading is the latest value of one device point.
type Reading struct {
	Value   drivers.Value
	Quality drivers.Quality
	Time    time.Time
}

// liveSeries is one point's latest reading, its value packed, and its
// window: 104 bytes.
type liveSeries struct {
	measurement, point string
	time               time.Time
	val                packedValue
	quality            drivers.Quality
	win                *liveWindow // nil until the series has a numeric value to keep
}

func (ls *liveSeries) set(s *drivers.Sample) {
	ls.time, ls.quality, ls.val = s.Time, s.Quality, pack(s.Value)
}

func (ls *liveSeries) reading() Reading {
	return Reading{Value: ls.val.value(), Quality: ls.quality, Time: ls.time}
}

// liveWindow is a ring of a series' numeric values.
type liveWindow struct {
	ring []livePoint
	head int // oldest
	n    int
}

// livePoint is a window entry: 16 bytes where a Point takes 32.
type livePoint struct {
	ns int64
	v  float64
}

var _ drivers.Sink = (*Live)(nil)

// NewLive makes an empty live state.
func NewLive(cfg LiveConfig) *Live {
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Minute
	}
	if cfg.PointsPerSeries <= 0 {
		cfg.PointsPerSeries = 600
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 10_000
	}
	return &Live{cfg: cfg, devices: map[string]*liveDevice{}}
}

// find returns the index of a device's series, or -1.
func (d *liveDevice) find(measurement, point string) int {
	if d.index != nil {
		if i, ok := d.index[pointID{measurement, point}]; ok {
			return i
		}
		return -1
	}
	for i := range d.series {
		if ls := &d.series[i]; ls.point == point && ls.measurement == measurement {
			return i
		}
	}
	return -1
}

// add appends a series and returns its index.
func (d *liveDevice) add(measurement, point string) int {
	i := len(d.series)
	if i == cap(d.series) {
		// A device's series come in its first poll or message and then
		// stay: grow by a quarter, not double, so as little room as
		// possible is left unused (a meter of 17 series would keep 32).
		d.series = slices.Grow(d.series, max(4, i/4))
	}
	d.series = append(d.series, liveSeries{measurement: measurement, point: point})
	switch {
	case d.index != nil:
		d.index[pointID{measurement, point}] = i
	case len(d.series) > indexAt:
		d.index = make(map[pointID]int, len(d.series))
		for j := range d.series {
			d.index[pointID{d.series[j].measurement, d.series[j].point}] = j
		}
	}
	return i
}

// series returns one device point's series, or nil; l.mu is held.
func (l *Live) series(device, measurement, point string) *liveSeries {
	d := l.devices[device]
	if d == nil {
		return nil
	}
	if i := d.find(measurement, point); i >= 0 {
		return &d.series[i]
	}
	return nil
}

// Put records samples. A sample older than its series' latest reading does
// not replace it. Numeric and boolean values that are not Bad enter the
// window.
func (l *Live) Put(_ context.Context, samples []drivers.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d *liveDevice
	dev, next := "", 0
	for i := range samples {
		s := &samples[i]
		if d == nil || s.Device != dev {
			d, dev, next = l.devices[s.Device], s.Device, 0
			if d == nil {
				d = &liveDevice{} // kept once it has a series
			}
		}
		j := -1
		if next < len(d.series) {
			if c := &d.series[next]; c.point == s.Point && c.measurement == s.Measurement {
				j = next
			}
		}
		if j < 0 {
			if j = d.find(s.Measurement, s.Point); j < 0 {
				if l.nseries >= l.cfg.MaxSeries {
					l.refused.Add(1)
					continue
				}
				if len(d.series) == 0 {
					l.devices[s.Device] = d
				}
				j = d.add(s.Measurement, s.Point)
				l.nseries++
			}
		}
		next = j + 1
		ls := &d.series[j]
		if s.Time.Before(ls.time) {
			continue
		}
		ls.set(s)
		if s.Quality != drivers.Bad && s.Value.Kind != drivers.KindString && !l.cfg.LatestOnly {
			if ls.win == nil {
				ls.win = &liveWindow{}
			}
			l.push(ls.win, livePoint{s.Time.UnixNano(), s.Value.Float64()})
		}
	}
}

// push appends p to the window, dropping what is older than the window and,
// when the ring is full, the oldest.
func (l *Live) push(ls *liveWindow, p livePoint) {
	cutoff := p.ns - int64(l.cfg.Window)
	for ls.n > 0 && ls.ring[ls.head].ns < cutoff {
		ls.head = (ls.head + 1) % len(ls.ring)
		ls.n--
	}
	if ls.n == len(ls.ring) {
		if len(ls.ring) < l.cfg.PointsPerSeries {
			ring := make([]livePoint, min(max(2*len(ls.ring), 8), l.cfg.PointsPerSeries))
			for i := range ls.n {
				ring[i] = ls.ring[(ls.head+i)%len(ls.ring)]
			}
			ls.ring, ls.head = ring, 0
		} else {
			ls.head = (ls.head + 1) % len(ls.ring)
			ls.n--
		}
	}
	ls.ring[(ls.head+ls.n)%len(ls.ring)] = p
	ls.n++
}

// Device returns the latest reading of every point of a device, by
// measurement and point; nil for a device never seen.
func (l *Live) Device(id string) map[string]map[string]Reading {
	l.mu.RLock()
	defer l.mu.RUnlock()
	d := l.devices[id]
	if d == nil {
		return nil
	}
	out := map[string]map[string]Reading{}
	for i := range d.series {
		ls := &d.series[i]
		m := out[ls.measurement]
		if m == nil {
			m = map[string]Reading{}
			out[ls.measurement] = m
		}
		m[ls.point] = ls.reading()
	}
	return out
}

// Latest returns the latest reading of one device point.
func (l *Live) Latest(device, measurement, point string) (Reading, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ls := l.series(device, measurement, point)
	if ls == nil {
		return Reading{}, false
	}
	return ls.reading(), true
}

// Window returns the numeric values of one device point at or after since
// (and within the configured window of its latest value), oldest first.
func (l *Live) Window(device, measurement, point string, since time.Time) []Point {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ls := l.series(device, measurement, point)
	if ls == nil || ls.win == nil || ls.win.n == 0 {
		return nil
	}
	w := ls.win
	cutoff := w.ring[(w.head+w.n-1)%len(w.ring)].ns - int64(l.cfg.Window)
	if since.After(time.Unix(0, cutoff)) {
		cutoff = since.UnixNano()
	}
	var out []Point
	for i := range w.n {
		p := w.ring[(w.head+i)%len(w.ring)]
		if p.ns >= cutoff {
			out = append(out, Point{Time: time.Unix(0, p.ns), Value: p.v})
		}
	}
	return out
}

// LiveStats describe live state's size.
type LiveStats struct {
	Series  int   `json:"series"`
	Points  int   `json:"points"`  // in windows
	Refused int64 `json:"refused"` // samples of series beyond MaxSeries
}

// Stats returns the size of live state.
func (l *Live) Stats() LiveStats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := LiveStats{Series: l.nseries, Refused: l.refused.Load()}
	for _, d := range l.devices {
		for i := range d.series {
			if w := d.series[i].win; w != nil {
				st.Points += w.n
			}
		}
	}
	return st
}
