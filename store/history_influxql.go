package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// HistoryInfluxQL is History in InfluxQL (GROUP BY time on /query) for
// numeric fields: the same windows (HistoryStep, aligned to the epoch,
// each point at its window's start, the first clipped to start) and the
// same mean across tag changes. InfluxDB 1.8's Flux has no pushdown for
// aggregateWindow: it decodes every raw point in the Flux engine, about
// 170 s for 30 days of 1-second data on a small box, which InfluxQL
// averages in the storage engine in a fraction of a second.
// InfluxQL cannot average booleans: ask History for those.
func (q *Querier) HistoryInfluxQL(ctx context.Context, measurement, device string, fields []string, start, stop time.Time, maxPoints int) ([]Series, time.Duration, error) {
	what := fmt.Sprintf("influxdb: history of %s %q", measurement, device)
	if maxPoints <= 0 || maxPoints > MaxHistoryPoints {
		maxPoints = MaxHistoryPoints
	}
	if measurement == "" || device == "" || len(fields) == 0 {
		return nil, 0, fmt.Errorf("%s: want a measurement, a device and at least one field", what)
	}
	if !start.Before(stop) {
		return nil, 0, fmt.Errorf("%s: start %v is not before stop %v", what, start, stop)
	}
	every := HistoryStep(start, stop, maxPoints)
	out := make([]Series, len(fields))
	for i, f := range fields {
		out[i] = Series{Measurement: measurement, Device: device, Field: f}
	}
	err := q.QueryInfluxQL(ctx, historyInfluxQL(measurement, device, fields, start, stop, every), func(s InfluxQLSeries) error {
		for _, row := range s.Values {
			if len(row) != len(fields)+1 {
				return fmt.Errorf("a row of %d columns, want %d", len(row), len(fields)+1)
			}
			ns, ok := row[0].(json.Number)
			if !ok {
				return fmt.Errorf("time %v is not a number", row[0])
			}
			n, err := ns.Int64()
			if err != nil {
				return fmt.Errorf("time %v: %w", ns, err)
			}
			t := time.Unix(0, n).UTC()
			if t.Before(start) {
				t = start.UTC() // the window that holds start, as Flux's range clips it
			}
			for i := range fields {
				v, ok := row[i+1].(json.Number)
				if !ok {
					continue // no value of this field in the window
				}
				x, err := v.Float64()
				if err != nil {
					return fmt.Errorf("%s: %w", fields[i], err)
				}
				out[i].Points = append(out[i].Points, Point{Time: t, Value: x})
			}
		}
		return nil
	})
	if err != nil {
		return nil, every, fmt.Errorf("%s: %w", what, err)
	}
	for i := range out {
		slices.SortStableFunc(out[i].Points, func(a, b Point) int { return a.Time.Compare(b.Time) })
	}
	return out, every, nil
}

// historyInfluxQL is the statement of HistoryInfluxQL: one mean per field,
// named as the field, of every series of the device together.
func historyInfluxQL(measurement, device string, fields []string, start, stop time.Time, every time.Duration) string {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = fmt.Sprintf("mean(%s) AS %s", InfluxQLIdent(f), InfluxQLIdent(f))
	}
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND time >= %d AND time < %d GROUP BY time(%ds) fill(none)",
		strings.Join(cols, ", "), InfluxQLIdent(measurement), InfluxQLIdent(DeviceTag), InfluxQLString(device),
		start.UnixNano(), stop.UnixNano(), int64(every/time.Second))
}
