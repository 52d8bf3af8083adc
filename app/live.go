package app

import (
	"maps"
	"sync"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Reading is the latest value of one point.
type Reading struct {
	Value   any       `json:"value"`
	Quality string    `json:"quality"`
	Time    time.Time `json:"time"`
}

// live holds the latest reading of every device point for the API and the
// dashboard, without touching InfluxDB. Its size is bounded by the config:
// one entry per configured device point.
type live struct {
	mu      sync.RWMutex
	devices map[string]map[string]Reading
}

func newLive() *live { return &live{devices: map[string]map[string]Reading{}} }

func (l *live) put(samples []drivers.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range samples {
		s := &samples[i]
		key := s.Device
		if s.Measurement == "device_health" {
			key = s.Device + "/health"
		}
		m := l.devices[key]
		if m == nil {
			m = map[string]Reading{}
			l.devices[key] = m
		}
		m[s.Point] = Reading{Value: s.Value.Any(), Quality: s.Quality.String(), Time: s.Time}
	}
}

func (l *live) device(id string) (points, health map[string]Reading) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return maps.Clone(l.devices[id]), maps.Clone(l.devices[id+"/health"])
}
