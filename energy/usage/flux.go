package usage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/facilityd/facilityd/store"
)

// The Flux of one batch of meters that share a measurement, a point and a
// kind (counter or power), over the grid's base windows. InfluxDB returns,
// per meter:
//
//   - count: the readings of each base window (coverage);
//   - rise (counters): the sum of difference(nonNegative: false) per
//     window, drops included as they are;
//   - drop (counters): each step whose difference is negative, with the
//     reading after it (column v) — the reading before is v − difference.
//     Drops are rare, so these rows are few; Go classifies each as a reset,
//     rollover or swap and corrects its window's sum (assemble.go);
//   - energy (power): the trapezoids between readings, summed per window,
//     steps longer than max_gap left out;
//   - gap: each step longer than max_gap, with its length.
//
// difference(keepFirst: true) keeps a first row without a value, so that
// elapsed(), which drops the first row it sees, drops that one and every
// step keeps its length (the first step of the range included).
//
// Flux 0.65 (influxd 1.8) cannot carry the previous reading into a
// classification without a map() over every reading, nor count a rollover
// in a reduce() cheaply; the drop rows give Go the two readings of every
// drop instead, so no raw readings are downloaded.

// batch is the meters of one query.
type batch struct {
	measurement, point string
	power              bool
	maxGap             time.Duration
	poll               time.Duration // of every meter, or 0 (unknown or mixed)
	// site is the site tag every meter of the batch reads, or "" for a
	// batch of meters without a site: a bucket that many sites share holds
	// a device id once per site.
	site   string
	meters []*Meter
}

// fluxSite is the Flux condition on the batch's site tag, and " and ", or
// "" without a site.
func (b batch) fluxSite() string {
	if b.site == "" {
		return ""
	}
	return "r.site == " + store.FluxString(b.site) + " and "
}

// influxQLSite is the InfluxQL condition on the batch's site tag, and
// " AND ", or "" without a site.
func (b batch) influxQLSite() string {
	if b.site == "" {
		return ""
	}
	return `"site" = ` + store.InfluxQLString(b.site) + " AND "
}

func (b batch) query(bucket string, g *grid) string {
	devices := make([]string, len(b.meters))
	for i, m := range b.meters {
		devices[i] = "r.device == " + store.FluxString(m.Device)
	}
	win := fmt.Sprintf("window(every: %s, offset: %s)", store.FluxDuration(g.every), store.FluxDuration(g.offset))
	var q strings.Builder
	fmt.Fprintf(&q, `data = from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r._field == %s and %s(%s))
  |> group(columns: ["device"])
  |> sort(columns: ["_time"])
data |> %s |> count() |> keep(columns: ["_start", "device", "_value"]) |> yield(name: "count")
all = data |> duplicate(column: "_value", as: "v") |> difference(nonNegative: false, keepFirst: true)
steps = all |> filter(fn: (r) => exists r._value)
`, store.FluxString(bucket), store.FluxTime(g.start().Add(-g.lookback())), store.FluxTime(g.stop()),
		store.FluxString(b.measurement), store.FluxString(b.point), b.fluxSite(), strings.Join(devices, " or "), win)
	gapMS := b.maxGap.Milliseconds()
	if b.power {
		fmt.Fprintf(&q, `timed = all |> elapsed(unit: 1ms)
timed
  |> map(fn: (r) => ({r with _value: if r.elapsed > %d then 0.0 else (float(v: r.v) - float(v: r._value) / 2.0) * float(v: r.elapsed) / 3600000.0}))
  |> %s |> sum() |> keep(columns: ["_start", "device", "_value"]) |> yield(name: "energy")
`, gapMS, win)
	} else {
		fmt.Fprintf(&q, `steps |> %s |> sum() |> keep(columns: ["_start", "device", "_value"]) |> yield(name: "rise")
steps |> filter(fn: (r) => float(v: r._value) < 0.0) |> keep(columns: ["_time", "device", "_value", "v"]) |> yield(name: "drop")
timed = all |> elapsed(unit: 1ms)
`, win)
	}
	fmt.Fprintf(&q, `timed |> filter(fn: (r) => r.elapsed > %d) |> keep(columns: ["_time", "device", "_value", "v", "elapsed"]) |> yield(name: "gap")
`, gapMS)
	return q.String()
}

// rows collects the rows of a batch's query into one series per device.
type rows struct {
	byDevice map[string]*collected
}

// collected is one device's series as its rows arrive, with its windows
// indexed by start.
type collected struct {
	series
	index map[int64]int
}

func newRows(b batch) *rows {
	rs := &rows{byDevice: map[string]*collected{}}
	for _, m := range b.meters {
		rs.byDevice[m.Device] = &collected{index: map[int64]int{}}
	}
	return rs
}

func (rs *rows) add(row map[string]any) error {
	dev, _ := row["device"].(string)
	s := rs.byDevice[dev]
	if s == nil {
		return nil // a device no meter of the batch reads: cannot happen with the filter
	}
	result, _ := row["result"].(string)
	switch result {
	case "count", "rise", "energy":
		start, ok := row["_start"].(time.Time)
		if !ok {
			return fmt.Errorf("%s row without _start", result)
		}
		v, ok := number(row["_value"])
		if !ok {
			return fmt.Errorf("%s row of %q: value %v is not a number", result, dev, row["_value"])
		}
		s.addWindow(result, start, v)
	case "drop", "gap":
		t, _ := row["_time"].(time.Time)
		d, ok1 := number(row["_value"])
		after, ok2 := number(row["v"])
		if !ok1 || !ok2 {
			return fmt.Errorf("%s row of %q at %v: values %v, %v are not numbers", result, dev, t, row["_value"], row["v"])
		}
		st := step{Time: t, Delta: d, After: after}
		if ms, ok := number(row["elapsed"]); ok {
			st.Elapsed = time.Duration(ms) * time.Millisecond
		}
		s.addStep(result, st)
	}
	return nil
}

// addWindow records a window's count, or its sum (rise, energy).
func (c *collected) addWindow(kind string, start time.Time, v float64) {
	w := c.window(start)
	if kind == "count" {
		w.Count = int(v)
	} else {
		w.Sum = v
	}
}

// addStep records a drop or a gap.
func (c *collected) addStep(kind string, st step) {
	if kind == "drop" {
		c.Drops = append(c.Drops, st)
	} else {
		c.Gaps = append(c.Gaps, st)
	}
}

// series returns each device's series.
func (rs *rows) series() map[string]series {
	out := make(map[string]series, len(rs.byDevice))
	for dev, c := range rs.byDevice {
		out[dev] = c.series
	}
	return out
}

// window returns the window starting at start, added when new.
func (c *collected) window(start time.Time) *windowAgg {
	i, ok := c.index[start.UnixNano()]
	if !ok {
		i = len(c.Windows)
		c.index[start.UnixNano()] = i
		c.Windows = append(c.Windows, windowAgg{Start: start})
	}
	return &c.Windows[i]
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}
