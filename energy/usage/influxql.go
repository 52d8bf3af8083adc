package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/store"
)

// InfluxQL is what the engine needs of InfluxDB to aggregate with InfluxQL:
// a way to run statements and read their series. *store.Querier has it
// (1.8's /query, or the v1-compatible /query of 2.x and Cloud).
type InfluxQL interface {
	QueryInfluxQL(ctx context.Context, query string, fn func(store.InfluxQLSeries) error) error
}

// The InfluxQL of one batch: the same aggregates as the Flux of flux.go,
// with GROUP BY time(every, offset) for the windows. One subquery yields the
// steps between consecutive readings of a device (its series merged, as
// Flux's group(columns: ["device"]) does):
//
//	d = difference(v)         the step, later − earlier
//	e = elapsed(v, 1ms)       its length
//	a = moving_average(v, 2)  the mean of the two readings
//
// and the reading after a step is a + d/2. InfluxQL cannot select a raw
// field next to a transformation, and moving_average(v, 2) is both the
// trapezoid's height and, with d, the reading after. The statements, in
// this order:
//
//	count   count(v) per window
//	rise    sum(d) per window (counters)
//	energy  sum(a·e) per window over steps not longer than max_gap (power)
//	drop    d and the reading after, where d < 0 (counters)
//	gap     d, the reading after and e, where e > max_gap
//
// Windows without readings are left out (fill(none)), as Flux leaves them.

// statement kinds, in the order influxQL writes them for a counter and for
// a power meter.
var (
	counterStatements = []string{"count", "rise", "drop", "gap"}
	powerStatements   = []string{"count", "energy", "gap"}
)

func (b batch) statements() []string {
	if b.power {
		return powerStatements
	}
	return counterStatements
}

func (b batch) influxQL(g *grid) string {
	devices := make([]string, len(b.meters))
	for i, m := range b.meters {
		devices[i] = `"device" = ` + store.InfluxQLString(m.Device)
	}
	span := fmt.Sprintf("time >= %d AND time < %d", g.start().Add(-g.lookback()).UnixNano(), g.stop().UnixNano())
	where := "(" + strings.Join(devices, " OR ") + ") AND " + span
	field, from := store.InfluxQLIdent(b.point), store.InfluxQLIdent(b.measurement)
	win := fmt.Sprintf(`GROUP BY time(%s, %s), "device" fill(none)`, influxQLDuration(g.every), influxQLDuration(g.offset))
	steps := fmt.Sprintf(`(SELECT difference(%[1]s) AS d, elapsed(%[1]s, 1ms) AS e, moving_average(%[1]s, 2) AS a FROM %[2]s WHERE %[3]s GROUP BY "device")`,
		field, from, where)
	gapMS := b.maxGap.Milliseconds()
	var q []string
	for _, kind := range b.statements() {
		switch kind {
		case "count":
			q = append(q, fmt.Sprintf(`SELECT count(%s) FROM %s WHERE %s %s`, field, from, where, win))
		case "rise":
			q = append(q, fmt.Sprintf(`SELECT sum(d) FROM %s WHERE %s %s`, steps, span, win))
		case "energy":
			q = append(q, fmt.Sprintf(`SELECT sum(x) FROM (SELECT a * e / 3600000 AS x FROM %s WHERE e <= %d) WHERE %s %s`, steps, gapMS, span, win))
		case "drop":
			q = append(q, fmt.Sprintf(`SELECT d, a + d / 2 AS v FROM %s WHERE d < 0 GROUP BY "device"`, steps))
		case "gap":
			q = append(q, fmt.Sprintf(`SELECT d, a + d / 2 AS v, e FROM %s WHERE e > %d GROUP BY "device"`, steps, gapMS))
		}
	}
	return strings.Join(q, "; ")
}

// influxQLDuration writes d in the largest unit that holds it exactly.
func influxQLDuration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// addInfluxQL adds the rows of one series of the batch's answer.
func (rs *rows) addInfluxQL(b batch, s store.InfluxQLSeries) error {
	kinds := b.statements()
	if s.Statement < 0 || s.Statement >= len(kinds) {
		return fmt.Errorf("influxql answer for statement %d of %d", s.Statement, len(kinds))
	}
	kind, dev := kinds[s.Statement], s.Tags["device"]
	c := rs.byDevice[dev]
	if c == nil {
		return nil // a device no meter of the batch reads: cannot happen with the filter
	}
	col := map[string]int{}
	for i, name := range s.Columns {
		col[name] = i
	}
	get := func(row []any, name string) (float64, bool) {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return 0, false
		}
		return number(row[i])
	}
	for _, row := range s.Values {
		ns, ok := nanos(row)
		if !ok {
			return fmt.Errorf("%s row of %q: time %v is not integer nanoseconds", kind, dev, row)
		}
		t := time.Unix(0, ns)
		switch kind {
		case "count", "rise", "energy":
			v, ok := get(row, s.Columns[len(s.Columns)-1])
			if !ok {
				return fmt.Errorf("%s row of %q at %v: value %v is not a number", kind, dev, t, row)
			}
			c.addWindow(kind, t, v)
		case "drop", "gap":
			d, ok1 := get(row, "d")
			after, ok2 := get(row, "v")
			if !ok1 || !ok2 {
				return fmt.Errorf("%s row of %q at %v: values %v are not numbers", kind, dev, t, row)
			}
			st := step{Time: t, Delta: d, After: after}
			if ms, ok := get(row, "e"); ok {
				st.Elapsed = time.Duration(ms) * time.Millisecond
			}
			c.addStep(kind, st)
		}
	}
	return nil
}

// nanos reads a row's time (its first column) as epoch=ns writes it.
func nanos(row []any) (int64, bool) {
	if len(row) == 0 {
		return 0, false
	}
	n, ok := row[0].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}
