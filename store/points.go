package store

import (
	"math"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
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
// cannot be written in line protocol; empty names make invalid lines.
func storable(s *drivers.Sample) bool {
	if s.Quality == drivers.Bad || s.Device == "" || s.Measurement == "" || s.Point == "" {
		return false
	}
	if s.Value.Kind == drivers.KindFloat && (math.IsNaN(s.Value.F) || math.IsInf(s.Value.F, 0)) {
		return false
	}
	if s.Value.Kind > drivers.KindString {
		return false
	}
	return s.Time.IsZero() || (s.Time.After(minTime) && s.Time.Before(maxTime))
}

// pointKey identifies one line of line protocol: every sample of one device
// and measurement at one instant becomes a field of the same point.
type pointKey struct {
	measurement, device string
	ns                  int64
}

// toPoints groups samples into points: measurement = Sample.Measurement,
// tags = device plus tags(device), one field per Sample.Point with the value
// in its own type. Points keep the order in which their first sample came. A
// point repeated within the batch keeps the last value. tags is called once
// per device per batch; empty tag values are left out because line protocol
// cannot carry them.
func toPoints(batch []drivers.Sample, tags func(string) map[string]string) []*write.Point {
	index := make(map[pointKey]int, len(batch)/4+1)
	deviceTags := make(map[string]map[string]string)
	points := make([]*write.Point, 0, len(batch)/4+1)
	for i := range batch {
		s := &batch[i]
		key := pointKey{s.Measurement, s.Device, s.Time.UnixNano()}
		j, ok := index[key]
		if !ok {
			p := write.NewPointWithMeasurement(s.Measurement).SetTime(s.Time)
			extra, seen := deviceTags[s.Device]
			if !seen && tags != nil {
				extra = tags(s.Device)
				deviceTags[s.Device] = extra
			}
			for k, v := range extra {
				if k != "" && v != "" && k != DeviceTag {
					p.AddTag(k, v)
				}
			}
			p.AddTag(DeviceTag, s.Device)
			j = len(points)
			index[key] = j
			points = append(points, p)
		}
		points[j].AddField(s.Point, s.Value.Any())
	}
	for _, p := range points {
		p.SortTags()
		p.SortFields()
	}
	return points
}
