package store

import (
	"context"
	"fmt"
	"time"
)

// Selector picks series: one measurement, and within it one device and one
// field, or every device or field when left empty.
type Selector struct {
	Measurement string
	Device      string
	Field       string
}

func (s Selector) String() string {
	dev, field := s.Device, s.Field
	if dev == "" {
		dev = "*"
	}
	if field == "" {
		field = "*"
	}
	return fmt.Sprintf("%s.%s of %q", s.Measurement, field, dev)
}

// Series is the values of one field of one device, oldest first.
type Series struct {
	Measurement string
	Device      string
	Field       string
	Points      []Point
}

// Agg is an aggregate function for windows.
type Agg string

// Aggregates Aggregate knows; each is Flux's function of the same name.
const (
	AggMean  Agg = "mean"
	AggMin   Agg = "min"
	AggMax   Agg = "max"
	AggSum   Agg = "sum"
	AggCount Agg = "count"
	AggFirst Agg = "first"
	AggLast  Agg = "last"
)

func (a Agg) valid() bool {
	switch a {
	case AggMean, AggMin, AggMax, AggSum, AggCount, AggFirst, AggLast:
		return true
	}
	return false
}

// Series returns the raw values sel picks in [start, stop), one Series per
// device and field, in the order InfluxDB returns them. Integers and
// booleans (0 or 1) become float64; a text field is an error.
func (q *Querier) Series(ctx context.Context, sel Selector, start, stop time.Time) ([]Series, error) {
	what := "influxdb: series " + sel.String()
	if err := checkRange(sel, start, stop); err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	return q.series(ctx, what, seriesQuery(q.cfg.Bucket, sel, start, stop))
}

// Aggregate returns fn of the values sel picks over each window of length
// every in [start, stop), one Series per device and field. A point's Time is
// the end of its window; windows without values are left out.
func (q *Querier) Aggregate(ctx context.Context, sel Selector, start, stop time.Time, every time.Duration, fn Agg) ([]Series, error) {
	what := fmt.Sprintf("influxdb: %s of %s every %v", fn, sel, every)
	if err := checkRange(sel, start, stop); err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	if !fn.valid() {
		return nil, fmt.Errorf("%s: unknown aggregate %q: use mean, min, max, sum, count, first or last", what, fn)
	}
	if every <= 0 {
		return nil, fmt.Errorf("%s: every must be positive", what)
	}
	return q.series(ctx, what, aggregateQuery(q.cfg.Bucket, sel, start, stop, every, fn))
}

func checkRange(sel Selector, start, stop time.Time) error {
	if sel.Measurement == "" {
		return fmt.Errorf("no measurement")
	}
	if !start.Before(stop) {
		return fmt.Errorf("start %v is not before stop %v", start, stop)
	}
	return nil
}

// series runs a query like anySeries and returns its values as numbers
// (booleans as 0 and 1); a text value is an error naming it.
func (q *Querier) series(ctx context.Context, what, query string) ([]Series, error) {
	all, err := q.anySeries(ctx, what, query)
	if err != nil {
		return nil, err
	}
	out := make([]Series, len(all))
	for i, a := range all {
		out[i] = Series{Measurement: a.Measurement, Device: a.Device, Field: a.Field, Points: make([]Point, len(a.Values))}
		for j, v := range a.Values {
			f, ok := toFloat(v.Value)
			if !ok {
				return nil, fmt.Errorf("%s: %s of %q: value %v at %v is %T, not a number", what, a.Field, a.Device, v.Value, v.Time, v.Value)
			}
			out[i].Points[j] = Point{Time: v.Time, Value: f}
		}
	}
	return out, nil
}
