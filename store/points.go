package store

import (
	"math"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// DeviceTag is the tag that carries the device id on every point.
const DeviceTag = "device"

// InfluxDB 1.x stores nanoseconds since 1970 in an int64 and refuses the
// extremes; a sample outside this range would make the server reject its
// whole batch, so Put refuses it instead.
var (
	minTime = time.Unix(0, math.MinInt64+2)
	maxTime = time.Unix(0, math.MaxInt64-1)
)

// storable reports whether InfluxDB can take s as it is. Bad readings are not
// stored (the health measurement records the failure instead); NaN and ±Inf
// cannot be written in line protocol, nor can empty names and the few names
// lpName refuses.
func storable(s *drivers.Sample) bool {
	var n checkedNames
	return n.storable(s)
}

// checkedNames remembers the device and measurement last found storable, so
// that the samples of one poll, which share both, have them checked once.
type checkedNames struct{ device, measurement string }

func (n *checkedNames) storable(s *drivers.Sample) bool {
	if s.Quality == drivers.Bad || !lpName(s.Point) {
		return false
	}
	if s.Device != n.device || s.Measurement != n.measurement || n.device == "" {
		if !lpMeasurement(s.Measurement) || !lpName(s.Device) {
			return false
		}
		n.device, n.measurement = s.Device, s.Measurement
	}
	if s.Value.Kind == drivers.KindFloat && (math.IsNaN(s.Value.F) || math.IsInf(s.Value.F, 0)) {
		return false
	}
	if s.Value.Kind > drivers.KindString {
		return false
	}
	return s.Time.IsZero() || (s.Time.After(minTime) && s.Time.Before(maxTime))
}

// pointKey identifies one line of line protocol: consecutive samples of one
// device and measurement at one instant become fields of the same line.
type pointKey struct {
	measurement, device string
	ns                  int64
}
