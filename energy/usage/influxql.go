package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
// with GROUP BY time(every, offset) for the windows, shaped for what 1.8's
// InfluxQL does fast (aggregates and raw filters) and slow (every output row,
// about 3 µs, and every transformation over every reading, about 1.5 µs).
// The statements, in this order:
//
//	first   the first reading of each device in the range, with its time
//	count   count(v) per window, only where it differs from the batch's
//	        expected count (fill(0), so empty windows come back as 0): the
//	        answer is small when readings are regular
//	last    last(v) per window (counters): the rise of a window is its last
//	        less the last of the window before with readings (the first
//	        reading for the first), which is the sum of its differences
//	energy  sum(a·e) per window over steps not longer than max_gap, with
//	        a = moving_average(v, 2) the trapezoid's height (power)
//	steps   d = difference(v) and e = elapsed(v, 1ms) where d < 0 (counters)
//	        or e > max_gap: drops and gaps, few
//
// and then, for those steps only, the readings after them (InfluxQL cannot
// select a raw field next to a transformation, nor OR two times), one
// statement each. A device's series are merged (GROUP BY "device"), as
// Flux's group(columns: ["device"]) does.

// statement kinds, in the order influxQL writes them for a counter and for
// a power meter.
var (
	counterStatements = []string{"first", "count", "last", "steps"}
	powerStatements   = []string{"first", "count", "energy", "steps"}
)

func (b batch) statements() []string {
	if b.power {
		return powerStatements
	}
	return counterStatements
}

// expected is the count of a full base window, the one the count statement
// leaves out; 0 when the poll interval is unknown.
func (b batch) expected(g *grid) int {
	if b.poll <= 0 {
		return 0
	}
	return int(g.every / b.poll)
}

func (b batch) influxQL(g *grid) string {
	devices := make([]string, len(b.meters))
	for i, m := range b.meters {
		devices[i] = `"device" = ` + store.InfluxQLString(m.Device)
	}
	span := fmt.Sprintf("time >= %d AND time < %d", g.start().Add(-g.lookback()).UnixNano(), g.stop().UnixNano())
	where := "(" + strings.Join(devices, " OR ") + ") AND " + span
	field, from := store.InfluxQLIdent(b.point), store.InfluxQLIdent(b.measurement)
	byTime := fmt.Sprintf(`GROUP BY time(%s, %s), "device"`, influxQLDuration(g.every), influxQLDuration(g.offset))
	gapMS := b.maxGap.Milliseconds()
	var q []string
	for _, kind := range b.statements() {
		switch kind {
		case "first":
			q = append(q, fmt.Sprintf(`SELECT first(%s) FROM %s WHERE %s GROUP BY "device"`, field, from, where))
		case "count":
			q = append(q, fmt.Sprintf(`SELECT c FROM (SELECT count(%s) AS c FROM %s WHERE %s %s fill(0)) WHERE %s AND c <> %d GROUP BY "device"`,
				field, from, where, byTime, span, b.expected(g)))
		case "last":
			q = append(q, fmt.Sprintf(`SELECT last(%s) FROM %s WHERE %s %s fill(none)`, field, from, where, byTime))
		case "energy":
			q = append(q, fmt.Sprintf(`SELECT sum(x) FROM (SELECT moving_average(%[1]s, 2) * elapsed(%[1]s, 1ms) / 3600000 AS x, elapsed(%[1]s, 1ms) AS e FROM %[2]s WHERE %[3]s GROUP BY "device") WHERE %[4]s AND e <= %[5]d %[6]s fill(none)`,
				field, from, where, span, gapMS, byTime))
		case "steps":
			cond := fmt.Sprintf("e > %d", gapMS)
			if !b.power {
				cond = "d < 0 OR " + cond
			}
			q = append(q, fmt.Sprintf(`SELECT d, e FROM (SELECT difference(%[1]s) AS d, elapsed(%[1]s, 1ms) AS e FROM %[2]s WHERE %[3]s GROUP BY "device") WHERE %[4]s GROUP BY "device"`,
				field, from, where, cond))
		}
	}
	return strings.Join(q, "; ")
}

// afterQuery is the statements that read the reading after each step of
// the batch, in the order of steps.
func (b batch) afterQuery(steps []devStep) string {
	field, from := store.InfluxQLIdent(b.point), store.InfluxQLIdent(b.measurement)
	q := make([]string, len(steps))
	for i, s := range steps {
		q[i] = fmt.Sprintf(`SELECT last(%s) FROM %s WHERE "device" = %s AND time = %d`, field, from, store.InfluxQLString(s.device), s.Time.UnixNano())
	}
	return strings.Join(q, "; ")
}

// devStep is a step of one device, its reading after still unknown.
type devStep struct {
	device string
	step
}

// qlRows is a batch's InfluxQL answer as it arrives, per device.
type qlRows struct {
	b        batch
	first    map[string]float64
	counts   map[string]map[int64]int // device → window start (ns) → count
	lasts    map[string][]windowAgg   // Sum holds the last reading
	energies map[string][]windowAgg
	steps    []devStep
}

func newQLRows(b batch) *qlRows {
	return &qlRows{b: b, first: map[string]float64{}, counts: map[string]map[int64]int{},
		lasts: map[string][]windowAgg{}, energies: map[string][]windowAgg{}}
}

// add adds the rows of one series of the batch's answer.
func (rs *qlRows) add(s store.InfluxQLSeries) error {
	kinds := rs.b.statements()
	if s.Statement < 0 || s.Statement >= len(kinds) {
		return fmt.Errorf("influxql answer for statement %d of %d", s.Statement, len(kinds))
	}
	kind, dev := kinds[s.Statement], s.Tags["device"]
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
	value := s.Columns[len(s.Columns)-1]
	for _, row := range s.Values {
		ns, ok := nanos(row)
		if !ok {
			return fmt.Errorf("%s row of %q: time %v is not integer nanoseconds", kind, dev, row)
		}
		t := time.Unix(0, ns)
		v, ok := get(row, value)
		if !ok {
			return fmt.Errorf("%s row of %q at %v: value %v is not a number", kind, dev, t, row)
		}
		switch kind {
		case "first":
			rs.first[dev] = v
		case "count":
			if rs.counts[dev] == nil {
				rs.counts[dev] = map[int64]int{}
			}
			rs.counts[dev][ns] = int(v)
		case "last":
			rs.lasts[dev] = append(rs.lasts[dev], windowAgg{Start: t, Sum: v})
		case "energy":
			rs.energies[dev] = append(rs.energies[dev], windowAgg{Start: t, Sum: v})
		case "steps":
			d, ok1 := get(row, "d")
			e, ok2 := get(row, "e")
			if !ok2 || (!ok1 && !rs.b.power) {
				return fmt.Errorf("steps row of %q at %v: values %v are not numbers", dev, t, row)
			}
			rs.steps = append(rs.steps, devStep{dev, step{Time: t, Delta: d, Elapsed: time.Duration(e) * time.Millisecond}})
		}
	}
	return nil
}

// series puts together the series of dev over g: every window's count
// (the expected one unless the answer said otherwise), its sum, and the
// steps, whose readings after are known by now.
func (rs *qlRows) series(dev string, g *grid) series {
	var s series
	if _, ok := rs.first[dev]; !ok {
		return s // no readings at all
	}
	sums := map[int64]float64{}
	if rs.b.power {
		for _, w := range rs.energies[dev] {
			sums[w.Start.UnixNano()] = w.Sum
		}
	} else {
		// The first window holds the first reading; each later one rises
		// from the window before.
		prev := rs.first[dev]
		for _, w := range rs.lasts[dev] {
			sums[w.Start.UnixNano()] = w.Sum - prev
			prev = w.Sum
		}
	}
	full, counts := rs.b.expected(g), rs.counts[dev]
	for t := g.start().Add(-g.lookback()); t.Before(g.stop()); t = t.Add(g.every) {
		n, ok := counts[t.UnixNano()]
		if !ok {
			n = full
		}
		if n == 0 {
			continue
		}
		s.Windows = append(s.Windows, windowAgg{Start: t, Count: n, Sum: sums[t.UnixNano()]})
	}
	for _, st := range rs.steps {
		if st.device != dev {
			continue
		}
		if !rs.b.power && st.Delta < 0 {
			s.Drops = append(s.Drops, st.step)
		}
		if st.Elapsed > rs.b.maxGap {
			s.Gaps = append(s.Gaps, st.step)
		}
	}
	return s
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

// queryInfluxQL runs the batch's statements and, when there are drops or
// gaps, reads the readings after them; it returns each device's series.
func (b batch) queryInfluxQL(ctx context.Context, ql InfluxQL, g *grid) (map[string]series, error) {
	rs := newQLRows(b)
	if err := ql.QueryInfluxQL(ctx, b.influxQL(g), rs.add); err != nil {
		return nil, err
	}
	for chunk := range slices.Chunk(rs.steps, maxAfter) {
		found := make([]bool, len(chunk))
		err := ql.QueryInfluxQL(ctx, b.afterQuery(chunk), func(s store.InfluxQLSeries) error {
			if s.Statement < 0 || s.Statement >= len(chunk) || len(s.Values) == 0 {
				return fmt.Errorf("influxql answer for reading %d of %d", s.Statement, len(chunk))
			}
			row := s.Values[0]
			v, ok := number(row[len(row)-1])
			if !ok {
				return fmt.Errorf("reading of %q at %v: %v is not a number", chunk[s.Statement].device, chunk[s.Statement].Time, row)
			}
			chunk[s.Statement].After, found[s.Statement] = v, true
			return nil
		})
		if err != nil {
			return nil, err
		}
		if i := slices.Index(found, false); i >= 0 {
			return nil, fmt.Errorf("no reading of %q at %v after its step", chunk[i].device, chunk[i].Time)
		}
	}
	out := make(map[string]series, len(b.meters))
	for _, m := range b.meters {
		out[m.Device] = rs.series(m.Device, g)
	}
	return out, nil
}

// maxAfter bounds the statements of one request for the readings after
// steps.
const maxAfter = 500
