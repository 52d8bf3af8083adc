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
// InfluxQL does fast (aggregates and raw filters, some 0.3 µs a reading) and
// slow (every window of every device, about 10 µs, and every transformation
// pass over the readings, about 3 µs a reading). The statements, in this
// order:
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
//
// When the batch's poll interval divides a day and the base window, the
// readings are counted a day at a time first (days: 24 h windows from the
// start of the range, cheap), and the two costly statements run only where
// a day is not as expected: count per window, and the elapsed pass for
// gaps, over each run of such days and the day either side (where a gap
// that ends or starts on a day boundary has its other reading). Drops are
// still found over the whole range (drops: d < 0, one pass). This rests on
// one premise: a day that holds exactly the readings its poll interval
// expects has them spread at that interval, each base window its expected
// count and no step longer than max_gap. A lost reading, a gap or a
// reading too many makes its day irregular and it is then read exactly; a
// day that loses readings and gains as many elsewhere in it would not be.
// For a month of hourly slots this takes the cost from about 1.9 s to about
// 1.0 s of influxd's time per 50 meters.
//
// What is left, per 50 meters × a month of 15-minute readings (influxd CPU,
// 1.8.10, shared box): last per hour 0.4–0.6 s (36,050 windows, ~10 µs a
// window), drops 0.3–0.45 s, days 0.08 s, first 0.02 s. The drops pass
// costs the subquery, not difference: a subquery over the raw readings
// with the same outer filter costs as much (~2.5 µs an inner point), while
// a raw read filtered to nothing costs 0.06 s. What did not help: several
// aggregates in one statement (they cost additively: last+count 2×,
// first+last+min+max 4× last), reading the raw readings instead of last
// and drops (0.8 s: ~5 µs a row emitted, whatever the format: chunked or
// not, epoch=s, msgpack, csv), max for last, batches of 25 or 100. No
// aggregate can stand in for the drops pass exactly: they see the ends and
// the extremes of a window, not the order of what lies between (1,3,5,6
// and 1,5,3,6 agree on first, last, count, min and max and their times,
// sum, spread, integral, distinct count), so a drop that recovers inside a
// window of more than three readings is seen only by a pass over the steps.

// statement kinds, in the order influxQL writes them for a counter and for
// a power meter, reading every window (exact) or counting days first.
var (
	counterStatements = []string{"first", "count", "last", "steps"}
	powerStatements   = []string{"first", "count", "energy", "steps"}
	counterByDays     = []string{"first", "days", "last", "drops"}
	powerByDays       = []string{"first", "days", "energy"}
)

// day is the length of the windows byDays counts readings in first.
const day = 24 * time.Hour

// byDays reports whether the batch counts its readings a day at a time
// first: its poll interval is known and divides a day and the base window.
func (b batch) byDays(g *grid) bool {
	return b.poll > 0 && day%b.poll == 0 && g.every%b.poll == 0
}

func (b batch) statements(g *grid) []string {
	switch {
	case b.byDays(g) && b.power:
		return powerByDays
	case b.byDays(g):
		return counterByDays
	case b.power:
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
	where := b.influxQLSite() + "(" + strings.Join(devices, " OR ") + ") AND " + span
	field, from := store.InfluxQLIdent(b.point), store.InfluxQLIdent(b.measurement)
	byTime := fmt.Sprintf(`GROUP BY time(%s, %s), "device"`, influxQLDuration(g.every), influxQLDuration(g.offset))
	gapMS := b.maxGap.Milliseconds()
	var q []string
	for _, kind := range b.statements(g) {
		switch kind {
		case "days":
			q = append(q, fmt.Sprintf(`SELECT count(%s) FROM %s WHERE %s GROUP BY time(24h, %s), "device" fill(0)`,
				field, from, where, influxQLDuration(g.dayOffset())))
		case "drops":
			q = append(q, fmt.Sprintf(`SELECT d FROM (SELECT difference(%[1]s) AS d FROM %[2]s WHERE %[3]s GROUP BY "device") WHERE d < 0 GROUP BY "device"`,
				field, from, where))
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
		q[i] = fmt.Sprintf(`SELECT last(%s) FROM %s WHERE %s"device" = %s AND time = %d`, field, from, b.influxQLSite(), store.InfluxQLString(s.device), s.Time.UnixNano())
	}
	return strings.Join(q, "; ")
}

// dayOffset aligns the days of byDays to the start of the range read.
func (g *grid) dayOffset() time.Duration {
	off := g.start().Add(-g.lookback()).UnixNano() % int64(day)
	if off < 0 {
		off += int64(day)
	}
	return time.Duration(off)
}

// dayRun is a device's run of irregular days, [from, to).
type dayRun struct {
	device   string
	from, to time.Time
}

// irregular returns the runs of days whose count is not the one the poll
// interval expects, per device in the order of the batch's meters; runs
// closer than two days apart are one, so that the day either side of each
// is read once.
func (rs *qlRows) irregular(g *grid) []dayRun {
	begin, stop := g.start().Add(-g.lookback()), g.stop()
	var out []dayRun
	for _, m := range rs.b.meters {
		days := rs.days[m.Device]
		if days == nil {
			continue // no readings at all
		}
		var cur *dayRun
		for t := begin; t.Before(stop); t = t.Add(day) {
			end := t.Add(day)
			if end.After(stop) {
				end = stop
			}
			if n, ok := days[t.UnixNano()]; ok && n == int(end.Sub(t)/rs.b.poll) {
				continue
			}
			if cur != nil && t.Sub(cur.to) <= 2*day {
				cur.to = end
				continue
			}
			out = append(out, dayRun{m.Device, t, end})
			cur = &out[len(out)-1]
		}
	}
	return out
}

// spanQuery is the statements that read a run of irregular days exactly:
// the counts of its base windows that are not the expected one (unless the
// base window is the day), then the steps longer than max_gap over the run
// and the day either side.
func (b batch) spanQuery(g *grid, sp dayRun) []string {
	field, from := store.InfluxQLIdent(b.point), store.InfluxQLIdent(b.measurement)
	dev := b.influxQLSite() + `"device" = ` + store.InfluxQLString(sp.device)
	var q []string
	if g.every < day {
		within := fmt.Sprintf("time >= %d AND time < %d", sp.from.UnixNano(), sp.to.UnixNano())
		q = append(q, fmt.Sprintf(`SELECT c FROM (SELECT count(%s) AS c FROM %s WHERE %s AND %s GROUP BY time(%s, %s) fill(0)) WHERE %s AND c <> %d`,
			field, from, dev, within, influxQLDuration(g.every), influxQLDuration(g.offset), within, b.expected(g)))
	}
	lo, hi := sp.from.Add(-day), sp.to.Add(day)
	if begin := g.start().Add(-g.lookback()); lo.Before(begin) {
		lo = begin
	}
	if hi.After(g.stop()) {
		hi = g.stop()
	}
	q = append(q, fmt.Sprintf(`SELECT d, e FROM (SELECT difference(%[1]s) AS d, elapsed(%[1]s, 1ms) AS e FROM %[2]s WHERE %[3]s AND time >= %[4]d AND time < %[5]d) WHERE e > %[6]d`,
		field, from, dev, lo.UnixNano(), hi.UnixNano(), b.maxGap.Milliseconds()))
	return q
}

// devStep is a step of one device, its reading after still unknown: a drop
// of a counter, a gap, or both.
type devStep struct {
	device    string
	drop, gap bool
	step
}

// qlRows is a batch's InfluxQL answer as it arrives, per device.
type qlRows struct {
	b        batch
	kinds    []string
	first    map[string]float64
	counts   map[string]map[int64]int // device → window start (ns) → count
	days     map[string]map[int64]int // device → day start (ns) → count
	lasts    map[string][]windowAgg   // Sum holds the last reading
	energies map[string][]windowAgg
	steps    []devStep
}

func newQLRows(b batch, g *grid) *qlRows {
	return &qlRows{b: b, kinds: b.statements(g), first: map[string]float64{}, counts: map[string]map[int64]int{},
		days: map[string]map[int64]int{}, lasts: map[string][]windowAgg{}, energies: map[string][]windowAgg{}}
}

// add adds the rows of one series of the batch's answer.
func (rs *qlRows) add(s store.InfluxQLSeries) error {
	if s.Statement < 0 || s.Statement >= len(rs.kinds) {
		return fmt.Errorf("influxql answer for statement %d of %d", s.Statement, len(rs.kinds))
	}
	return rs.addAs(rs.kinds[s.Statement], s.Tags["device"], s)
}

// addAs adds the rows of one series of a statement of kind about dev.
func (rs *qlRows) addAs(kind, dev string, s store.InfluxQLSeries) error {
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
		case "count", "days":
			m := rs.counts
			if kind == "days" {
				m = rs.days
			}
			if m[dev] == nil {
				m[dev] = map[int64]int{}
			}
			m[dev][ns] = int(v)
		case "last":
			rs.lasts[dev] = append(rs.lasts[dev], windowAgg{Start: t, Sum: v})
		case "energy":
			rs.energies[dev] = append(rs.energies[dev], windowAgg{Start: t, Sum: v})
		case "drops":
			rs.steps = append(rs.steps, devStep{device: dev, drop: true, step: step{Time: t, Delta: v}})
		case "steps", "gaps":
			d, ok1 := get(row, "d")
			e, ok2 := get(row, "e")
			if !ok2 || (!ok1 && !rs.b.power) {
				return fmt.Errorf("steps row of %q at %v: values %v are not numbers", dev, t, row)
			}
			el := time.Duration(e) * time.Millisecond
			// Of a gaps statement (byDays) only the gap: its drop, if
			// any, came with the drops.
			drop := kind == "steps" && !rs.b.power && d < 0
			rs.steps = append(rs.steps, devStep{device: dev, drop: drop, gap: el > rs.b.maxGap, step: step{Time: t, Delta: d, Elapsed: el}})
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
	if rs.b.byDays(g) && g.every == day {
		counts = rs.days[dev] // the days are the base windows
	}
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
		if st.drop {
			s.Drops = append(s.Drops, st.step)
		}
		if st.gap {
			s.Gaps = append(s.Gaps, st.step)
		}
	}
	// The drops and the gaps came in different statements: in time order.
	slices.SortStableFunc(s.Drops, func(a, b step) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(s.Gaps, func(a, b step) int { return a.Time.Compare(b.Time) })
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

// queryInfluxQL runs the batch's statements, then (byDays) the exact
// statements of its irregular days, and, when there are drops or gaps,
// reads the readings after them; it returns each device's series.
func (b batch) queryInfluxQL(ctx context.Context, ql InfluxQL, g *grid) (map[string]series, error) {
	rs := newQLRows(b, g)
	if err := ql.QueryInfluxQL(ctx, b.influxQL(g), rs.add); err != nil {
		return nil, err
	}
	if b.byDays(g) {
		if err := b.querySpans(ctx, ql, g, rs); err != nil {
			return nil, err
		}
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

// querySpans reads the irregular days of the batch exactly, at most
// maxAfter statements a request.
func (b batch) querySpans(ctx context.Context, ql InfluxQL, g *grid, rs *qlRows) error {
	type stmt struct{ kind, device string }
	var stmts []stmt
	var texts []string
	for _, sp := range rs.irregular(g) {
		q := b.spanQuery(g, sp)
		if len(q) == 2 {
			stmts = append(stmts, stmt{"count", sp.device})
		}
		stmts = append(stmts, stmt{"gaps", sp.device})
		texts = append(texts, q...)
	}
	for i := 0; i < len(texts); i += maxAfter {
		j := min(i+maxAfter, len(texts))
		err := ql.QueryInfluxQL(ctx, strings.Join(texts[i:j], "; "), func(s store.InfluxQLSeries) error {
			if s.Statement < 0 || i+s.Statement >= j {
				return fmt.Errorf("influxql answer for statement %d of %d", s.Statement, j-i)
			}
			st := stmts[i+s.Statement]
			return rs.addAs(st.kind, st.device, s)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// maxAfter bounds the statements of one request for the readings after
// steps, and for the irregular days.
const maxAfter = 500
