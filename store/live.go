package store

import (
	"context"
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
// about 300 bytes for the series, its map entries and its latest reading
// (names are shared with the samples). With the defaults that is at most
// 10,000 × (600 × 16 + 300) B ≈ 99 MB; the demo building (2 devices, 35
// series polled every second, 300 values per window) holds about 180 KB.
// Live is safe for concurrent use.
type Live struct {
	cfg     LiveConfig
	mu      sync.RWMutex
	series  map[liveKey]*liveSeries
	devices map[string][]*liveSeries
	refused atomic.Int64
}

type liveKey struct{ device, measurement, point string }

// Reading is the latest value of one device point.
type Reading struct {
	Value   drivers.Value
	Quality drivers.Quality
	Time    time.Time
}

type liveSeries struct {
	key    liveKey
	idx    int // its place in Live.devices of its device
	latest Reading
	ring   []livePoint // window, a ring of numeric values
	head   int         // oldest
	n      int
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
	return &Live{cfg: cfg, series: map[liveKey]*liveSeries{}, devices: map[string][]*liveSeries{}}
}

// Put records samples. A sample older than its series' latest reading does
// not replace it. Numeric and boolean values that are not Bad enter the
// window.
func (l *Live) Put(_ context.Context, samples []drivers.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A device's samples come in the same order poll after poll, so the
	// series after the last one found is, as a rule, the next one: found
	// by comparing names (the same strings every poll) instead of hashing
	// three of them per sample.
	var list []*liveSeries
	listDevice, next := "", 0
	for i := range samples {
		s := &samples[i]
		if list == nil || s.Device != listDevice {
			list, listDevice, next = l.devices[s.Device], s.Device, 0
		}
		var ls *liveSeries
		if next < len(list) {
			if c := list[next]; c.key.point == s.Point && c.key.measurement == s.Measurement {
				ls = c
			}
		}
		if ls == nil {
			k := liveKey{s.Device, s.Measurement, s.Point}
			ls = l.series[k]
			if ls == nil {
				if len(l.series) >= l.cfg.MaxSeries {
					l.refused.Add(1)
					continue
				}
				ls = &liveSeries{key: k, idx: len(list)}
				l.series[k] = ls
				list = append(list, ls)
				l.devices[s.Device] = list
			}
		}
		next = ls.idx + 1
		if s.Time.Before(ls.latest.Time) {
			continue
		}
		ls.latest = Reading{Value: s.Value, Quality: s.Quality, Time: s.Time}
		if s.Quality != drivers.Bad && s.Value.Kind != drivers.KindString && !l.cfg.LatestOnly {
			l.push(ls, livePoint{s.Time.UnixNano(), s.Value.Float64()})
		}
	}
}

// push appends p to the window, dropping what is older than the window and,
// when the ring is full, the oldest.
func (l *Live) push(ls *liveSeries, p livePoint) {
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
	list := l.devices[id]
	if list == nil {
		return nil
	}
	out := map[string]map[string]Reading{}
	for _, ls := range list {
		m := out[ls.key.measurement]
		if m == nil {
			m = map[string]Reading{}
			out[ls.key.measurement] = m
		}
		m[ls.key.point] = ls.latest
	}
	return out
}

// Latest returns the latest reading of one device point.
func (l *Live) Latest(device, measurement, point string) (Reading, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ls := l.series[liveKey{device, measurement, point}]
	if ls == nil {
		return Reading{}, false
	}
	return ls.latest, true
}

// Window returns the numeric values of one device point at or after since
// (and within the configured window of its latest value), oldest first.
func (l *Live) Window(device, measurement, point string, since time.Time) []Point {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ls := l.series[liveKey{device, measurement, point}]
	if ls == nil || ls.n == 0 {
		return nil
	}
	cutoff := ls.ring[(ls.head+ls.n-1)%len(ls.ring)].ns - int64(l.cfg.Window)
	if since.After(time.Unix(0, cutoff)) {
		cutoff = since.UnixNano()
	}
	var out []Point
	for i := range ls.n {
		p := ls.ring[(ls.head+i)%len(ls.ring)]
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
	st := LiveStats{Series: len(l.series), Refused: l.refused.Load()}
	for _, ls := range l.series {
		st.Points += ls.n
	}
	return st
}
