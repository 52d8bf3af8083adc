package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxHistoryPoints is the most points History returns per series, whatever
// the range: a chart is never more than a couple of thousand pixels wide.
const MaxHistoryPoints = 2000

// HistoryStep returns the aggregation window that keeps [start, stop) within
// maxPoints windows: aggregateWindow aligns windows to the epoch, so a range
// of n steps can touch n+1 of them, hence maxPoints-1. It is never below a
// second, the fastest poll.
func HistoryStep(start, stop time.Time, maxPoints int) time.Duration {
	if maxPoints < 2 {
		maxPoints = 2
	}
	span := stop.Sub(start)
	every := (span + time.Duration(maxPoints-2)) / time.Duration(maxPoints-1) // ceil
	every = (every + time.Second - 1) / time.Second * time.Second             // whole seconds, up
	return max(every, time.Second)
}

// History returns the mean of each field of device in measurement over
// windows of HistoryStep(start, stop, maxPoints) in [start, stop), one
// Series per field in the order asked, downsampled by InfluxDB
// (aggregateWindow), so a year of 1-second data comes back as at most
// maxPoints points. Booleans count as 0 and 1 (the mean is the share of time
// true); a text field is an error (the caller knows the points' kinds and
// should not ask for one). A field without data gives an empty
// Series. maxPoints ≤ 0 means MaxHistoryPoints.
func (q *Querier) History(ctx context.Context, measurement, device string, fields []string, start, stop time.Time, maxPoints int) ([]Series, time.Duration, error) {
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
	got, err := q.series(ctx, what, historyQuery(q.cfg.Bucket, measurement, device, fields, start, stop, every))
	if err != nil {
		return nil, every, err
	}
	out := make([]Series, len(fields))
	for i, f := range fields {
		out[i] = Series{Measurement: measurement, Device: device, Field: f}
		for _, s := range got {
			if s.Field == f {
				out[i].Points = append(out[i].Points, s.Points...)
			}
		}
		slices.SortStableFunc(out[i].Points, func(a, b Point) int { return a.Time.Compare(b.Time) })
		// Flux 0.65 (InfluxDB 1.8) can give the first window twice.
		out[i].Points = slices.CompactFunc(out[i].Points, func(a, b Point) bool { return a.Time.Equal(b.Time) })
	}
	return out, every, nil
}

// historyQuery is the Flux of History: the fields of one device, as floats,
// averaged per window across tag changes, with the window's start as its
// time (so a point sits where its data began, not after it).
func historyQuery(bucket, measurement, device string, fields []string, start, stop time.Time, every time.Duration) string {
	conds := make([]string, len(fields))
	for i, f := range fields {
		conds[i] = "r._field == " + fluxString(f)
	}
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> %s
  |> filter(fn: (r) => %s)
  |> group(columns: ["_start", "_stop", "_measurement", %q, "_field"])
  |> toFloat()
  |> aggregateWindow(every: %s, fn: mean, timeSrc: "_start", createEmpty: false)`,
		fluxString(bucket), fluxTime(start), fluxTime(stop), fluxFilter(measurement, device),
		strings.Join(conds, " or "), DeviceTag, fluxDuration(every)) + seriesColumns
}

// AlertEvent is one change of an alert's state, as the alerts measurement
// holds it.
type AlertEvent struct {
	Time     time.Time `json:"time"`
	Device   string    `json:"device"`
	Rule     string    `json:"rule"`
	State    string    `json:"state"`
	Severity string    `json:"severity,omitempty"`
}

// AlertHistory returns the alert state changes in [start, stop) of one
// device (every device when empty), newest first, at most limit of them.
// The measurement holds one field per rule (the state) and <rule>_severity.
func (q *Querier) AlertHistory(ctx context.Context, measurement, device string, start, stop time.Time, limit int) ([]AlertEvent, error) {
	all, err := q.SeriesAny(ctx, Selector{Measurement: measurement, Device: device}, start, stop)
	if err != nil {
		return nil, err
	}
	type key struct {
		t            int64
		device, rule string
	}
	severity := map[key]string{}
	for _, s := range all {
		if rule, ok := strings.CutSuffix(s.Field, "_severity"); ok {
			for _, v := range s.Values {
				sv, _ := v.Value.(string)
				severity[key{v.Time.UnixNano(), s.Device, rule}] = sv
			}
		}
	}
	var out []AlertEvent
	for _, s := range all {
		if strings.HasSuffix(s.Field, "_severity") {
			continue
		}
		for _, v := range s.Values {
			st, ok := v.Value.(string)
			if !ok {
				continue
			}
			out = append(out, AlertEvent{Time: v.Time, Device: s.Device, Rule: s.Field, State: st,
				Severity: severity[key{v.Time.UnixNano(), s.Device, s.Field}]})
		}
	}
	slices.SortFunc(out, func(a, b AlertEvent) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
