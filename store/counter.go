package store

import (
	"context"
	"fmt"
	"time"
)

// CounterOptions say how to read a counter (energy, volume, run hours,
// trips).
type CounterOptions struct {
	// Rollover is the value at which the counter wraps to zero, such as
	// 1<<32 for a uint32 register; 0 means it never wraps.
	Rollover float64
	// Every splits the increase into windows of this length from the
	// range's start; 0 gives only the total.
	Every time.Duration
}

// Increase is how much a counter grew over a range.
type Increase struct {
	Measurement string
	Device      string
	Field       string
	Total       float64
	// Windows holds the increase within each window of CounterOptions.Every,
	// every window of the range included, Time = the window's start.
	Windows []Point
	// Resets and Rollovers count the drops read as a restart from zero and
	// as a wrap at Rollover.
	Resets, Rollovers int
}

// CounterIncrease computes the increase of a counter from its values,
// oldest first, in [start, stop): the sum of the rises between consecutive
// values. A drop is a wrap when Rollover is set and the value fell by more
// than half of it (it was near the top and is near zero): the rise is
// Rollover - previous + current. Any other drop is a reset (the device
// restarted counting from zero): the rise is the current value. What the
// counter did before the first value in the range is not counted, so query
// from the end of the previous period for consecutive periods. A rise
// counts in the window of the later value.
func CounterIncrease(points []Point, start, stop time.Time, opts CounterOptions) Increase {
	var inc Increase
	if opts.Every > 0 && start.Before(stop) {
		n := int((stop.Sub(start) + opts.Every - 1) / opts.Every)
		inc.Windows = make([]Point, n)
		for i := range inc.Windows {
			inc.Windows[i].Time = start.Add(time.Duration(i) * opts.Every)
		}
	}
	for i := 1; i < len(points); i++ {
		prev, cur := points[i-1].Value, points[i].Value
		rise := cur - prev
		switch {
		case rise >= 0:
		case opts.Rollover > 0 && prev-cur > opts.Rollover/2:
			rise = opts.Rollover - prev + cur
			inc.Rollovers++
		default:
			rise = cur
			inc.Resets++
		}
		inc.Total += rise
		if inc.Windows != nil {
			if w := int(points[i].Time.Sub(start) / opts.Every); w >= 0 && w < len(inc.Windows) {
				inc.Windows[w].Value += rise
			}
		}
	}
	return inc
}

// Increase returns the increase of every counter sel picks over [start,
// stop), read from the raw values as CounterIncrease explains.
func (q *Querier) Increase(ctx context.Context, sel Selector, start, stop time.Time, opts CounterOptions) ([]Increase, error) {
	if opts.Rollover < 0 || opts.Every < 0 {
		return nil, fmt.Errorf("influxdb: increase of %s: rollover and every must not be negative", sel)
	}
	series, err := q.Series(ctx, sel, start, stop)
	if err != nil {
		return nil, err
	}
	out := make([]Increase, len(series))
	for i, s := range series {
		out[i] = CounterIncrease(s.Points, start, stop, opts)
		out[i].Measurement, out[i].Device, out[i].Field = s.Measurement, s.Device, s.Field
	}
	return out, nil
}
