package app

import (
	"context"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/store"
)

// live is the app's view of store.Live, which holds the latest reading of
// every device point (bounded: see store.Live): a device's readings split
// into its own points and its poll health, as the API shows them. It keeps
// no windows: nothing in the daemon reads them (the rules keep the series
// they need, the console's history comes from InfluxDB), and at 1,000
// meters they would grow to tens of MB.
type live struct{ *store.Live }

func newLive() *live { return &live{store.NewLive(store.LiveConfig{LatestOnly: true})} }

func (l *live) put(samples []drivers.Sample) { l.Live.Put(context.Background(), samples) }

// device returns the latest readings of a device's points (every
// measurement but device_health) and of its health.
func (l *live) device(id string) (points, health map[string]store.Reading) {
	points, health = map[string]store.Reading{}, map[string]store.Reading{}
	for meas, readings := range l.Live.Device(id) {
		dst := points
		if meas == drivers.HealthMeasurement {
			dst = health
		}
		for name, r := range readings {
			dst[name] = r
		}
	}
	return points, health
}
