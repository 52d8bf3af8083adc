package store

import (
	"context"
	"fmt"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/facilityd/facilityd/internal/redact"
)

// DefaultLookback is how far back Last looks for a device's newest values.
const DefaultLookback = time.Hour

// Point is one value of one field at one time, as Range returns it.
type Point struct {
	Time  time.Time
	Value float64
}

// Querier reads history back from InfluxDB with Flux. It is safe for
// concurrent use.
type Querier struct {
	cfg    Config
	client influxdb2.Client
	red    *redact.Redactor // the token, in InfluxDB's answers
}

// NewQuerier checks cfg and reads the token file; it does no I/O to InfluxDB.
// Close releases its connections.
func NewQuerier(cfg Config) (*Querier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().SetHTTPRequestTimeout(uint(requestTimeout / time.Second))
	client := influxdb2.NewClientWithOptions(cfg.URL, token, opts)
	return &Querier{cfg: cfg, client: client, red: redact.New(token)}, nil
}

// Close releases the client's idle connections.
func (q *Querier) Close() { q.client.Close() }

// queryAPI is a query API of its own for one query: the client library's
// caches its URL on first use without a lock, so one shared by concurrent
// queries (the energy engine runs batches in parallel) is a data race.
func (q *Querier) queryAPI() api.QueryAPI { return q.client.QueryAPI(q.cfg.Org) }

// Last returns the newest value of every field of device in measurement
// within DefaultLookback, keyed by field name, as float64, int64, uint64,
// bool or string. A device without data in that time gives an empty map.
func (q *Querier) Last(ctx context.Context, measurement, device string) (map[string]any, error) {
	return q.LastWithin(ctx, measurement, device, DefaultLookback)
}

// LastWithin is Last looking back lookback instead of DefaultLookback.
func (q *Querier) LastWithin(ctx context.Context, measurement, device string, lookback time.Duration) (map[string]any, error) {
	if lookback <= 0 {
		return nil, fmt.Errorf("influxdb: last %s of %q: lookback %v must be positive", measurement, device, lookback)
	}
	res, err := q.queryAPI().Query(ctx, lastQuery(q.cfg.Bucket, measurement, device, lookback))
	if err != nil {
		return nil, q.red.Error(fmt.Errorf("influxdb: last %s of %q: %w", measurement, device, err))
	}
	defer res.Close()
	values := make(map[string]any)
	newest := make(map[string]time.Time)
	for res.Next() {
		r := res.Record()
		// A device whose tags changed has one series per tag set, so a
		// field can come back more than once: keep the newest.
		if t, seen := newest[r.Field()]; seen && !r.Time().After(t) {
			continue
		}
		values[r.Field()] = r.Value()
		newest[r.Field()] = r.Time()
	}
	if err := res.Err(); err != nil {
		return nil, q.red.Error(fmt.Errorf("influxdb: last %s of %q: %w", measurement, device, err))
	}
	return values, nil
}

// Range returns the values of one field of device in [start, stop), oldest
// first. Integers and booleans (as 0 or 1) are converted to float64; a text
// field is an error.
func (q *Querier) Range(ctx context.Context, measurement, device, field string, start, stop time.Time) ([]Point, error) {
	what := fmt.Sprintf("influxdb: range %s.%s of %q", measurement, field, device)
	if !start.Before(stop) {
		return nil, fmt.Errorf("%s: start %v is not before stop %v", what, start, stop)
	}
	res, err := q.queryAPI().Query(ctx, rangeQuery(q.cfg.Bucket, measurement, device, field, start, stop))
	if err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	defer res.Close()
	var points []Point
	for res.Next() {
		r := res.Record()
		v, ok := toFloat(r.Value())
		if !ok {
			return nil, fmt.Errorf("%s: value %v at %v is %T, not a number", what, r.Value(), r.Time(), r.Value())
		}
		points = append(points, Point{Time: r.Time(), Value: v})
	}
	if err := res.Err(); err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	return points, nil
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Value is one value of any kind at one time, as SeriesAny returns it.
type Value struct {
	Time time.Time
	// Value is float64, int64, uint64, bool or string, as InfluxDB holds it.
	Value any
}

// AnySeries is the values of one field of one device, oldest first, of
// whatever kind the field has: text (enumerations) included.
type AnySeries struct {
	Measurement string
	Device      string
	Field       string
	Values      []Value
}

// SeriesAny is Series for fields of any kind: it returns the raw values sel
// picks in [start, stop) as InfluxDB holds them, so that text fields
// (enumerations such as a pump's mode) can be read back too.
func (q *Querier) SeriesAny(ctx context.Context, sel Selector, start, stop time.Time) ([]AnySeries, error) {
	what := "influxdb: series " + sel.String()
	if err := checkRange(sel, start, stop); err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	return q.anySeries(ctx, what, seriesQuery(q.cfg.Bucket, sel, start, stop))
}

// anySeries runs a query whose rows carry _time, _value, _measurement,
// device and _field, and groups the rows into one series per field and
// device, values as InfluxDB holds them.
func (q *Querier) anySeries(ctx context.Context, what, query string) ([]AnySeries, error) {
	res, err := q.queryAPI().Query(ctx, query)
	if err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	defer res.Close()
	var out []AnySeries
	index := map[[3]string]int{}
	for res.Next() {
		r := res.Record()
		dev, _ := r.ValueByKey(DeviceTag).(string)
		key := [3]string{r.Measurement(), dev, r.Field()}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, AnySeries{Measurement: key[0], Device: key[1], Field: key[2]})
		}
		out[i].Values = append(out[i].Values, Value{Time: r.Time(), Value: r.Value()})
	}
	if err := res.Err(); err != nil {
		return nil, q.red.Error(fmt.Errorf("%s: %w", what, err))
	}
	return out, nil
}
