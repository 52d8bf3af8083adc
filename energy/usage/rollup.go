package usage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/store"
)

// The rollup: what InfluxDB computes of a meter's readings, kept quarter
// hour by quarter hour so that a long range is not computed again from the
// raw readings each time it is asked for.
//
// A consumption query over raw readings costs influxd about 2.5 µs a
// reading (the drops pass reads every reading: see influxql.go), so a year
// of 1-minute readings of 200 meters is minutes of its CPU. The daemon
// rolls each settled quarter hour once (Engine.Roll) and writes, per meter
// and UTC day, one row of measurement RollupMeasurement: what the engine's
// query returned for that day's quarters — each quarter's reading count and
// sum (the counter's rise or the power's energy, drops as they are) and the
// day's drops and gaps with their readings. A query (Engine.Consumption on
// an engine with UseRollup) reads those rows for the part of its range they
// cover and the raw readings only for the rest, usually the last hour, and
// assembles both as one series: slots, coverage, events, remainders and
// groups are computed from them exactly as from a raw answer, at any
// interval, since every interval's slot is a whole number of quarters (in
// zones whose offset is a multiple of 15 minutes; in others the rollup is
// not used).
//
// A row is one string field: a year of 200 meters is 73,000 rows, and
// influxd's cost of an InfluxQL answer goes by its rows, not their width.
// Rows are written again whole when a day gains quarters or its readings
// change (late data: see Engine.Stale), which overwrites them.

// RollupMeasurement is the measurement of the rollup's rows. Their tags are
// site and device, the device being the meter's id; the fields are q (the
// packed quarters, see encodeRollup), quarters (how many of the day's
// quarters, from its start, the row holds) and samples (their readings).
const RollupMeasurement = "energy_rollup"

// The rollup's fields.
const (
	RollupDataField     = "q"
	RollupHoursField    = "h"
	RollupQuartersField = "quarters"
	RollupSamplesField  = "samples"
)

// quarter is the rollup's window; quartersPerDay those of a UTC day.
const (
	quarter        = 15 * time.Minute
	quartersPerDay = int(day / quarter)
)

// rollLookback is how far before a rolled range the roll reads, so that a
// gap of up to a day across the range's start is seen whole, as a query
// over a longer range sees it.
const rollLookback = 25 * time.Hour

// RollupRow is one meter's rolled quarters of one UTC day.
type RollupRow struct {
	Meter, Site string
	Day         time.Time // UTC midnight
	// Quarters is how many of the day's quarters the row holds, from its
	// start; Samples their readings.
	Quarters int
	Samples  int
	// Data is the packed quarters and steps (encodeRollup); Hours the same
	// by whole hours (Quarters/4 of them), what queries of hours, days and
	// months read: a quarter of the text to send and decode.
	Data  string
	Hours string
}

// rolledDay is a decoded row.
type rolledDay struct {
	day     time.Time
	windows int           // how many windows of unit, from the day's start, the row holds
	unit    time.Duration // quarter (field q) or hour (field h)
	samples int
	s       series
}

// until is the end of the windows the day holds.
func (d rolledDay) until() time.Time { return d.day.Add(time.Duration(d.windows) * d.unit) }

// rollupVersion starts every packed row; a row of another version is not
// used (its quarters are computed from the readings).
const rollupVersion = "r1"

// encodeRollup packs the part of s in [day, day+n·unit), s's windows being
// of unit:
//
//	r1;WINDOWS;STEPS
//	WINDOWS  index:count:sum,…   the quarters with readings
//	STEPS    kind:ns:delta:after:elapsed_ns,…   kind d (drop) or g (gap)
//
// Floats are written in the shortest form that reads back exactly.
func encodeRollup(s series, day time.Time, n int, unit time.Duration) (data string, samples int) {
	end := day.Add(time.Duration(n) * unit)
	var b strings.Builder
	b.WriteString(rollupVersion)
	b.WriteByte(';')
	first := true
	for _, w := range s.Windows {
		if w.Start.Before(day) || !w.Start.Before(end) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Itoa(int(w.Start.Sub(day) / unit)))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(w.Count))
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(w.Sum, 'g', 12, 64)) // 12 digits: kWh to 1e-12 of the figure, half the text
		samples += w.Count
	}
	b.WriteByte(';')
	first = true
	for _, k := range []struct {
		kind  string
		steps []step
	}{{"d", s.Drops}, {"g", s.Gaps}} {
		for _, st := range k.steps {
			if st.Time.Before(day) || !st.Time.Before(end) {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(k.kind)
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(st.Time.UnixNano(), 10))
			b.WriteByte(':')
			b.WriteString(strconv.FormatFloat(st.Delta, 'g', -1, 64))
			b.WriteByte(':')
			b.WriteString(strconv.FormatFloat(st.After, 'g', -1, 64))
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(int64(st.Elapsed), 10))
		}
	}
	return b.String(), samples
}

// decodeRollup reads a row packed by encodeRollup. It scans the text in
// place: a year of 200 meters is 73,000 rows of some 100 numbers each.
func decodeRollup(data string, day time.Time, n int, unit time.Duration) (rolledDay, error) {
	d := rolledDay{day: day, windows: n, unit: unit}
	bad := func(what string) (rolledDay, error) {
		return d, fmt.Errorf("rollup row of %s: bad %s", day.Format(time.DateOnly), what)
	}
	head, rest, ok := strings.Cut(data, ";")
	if !ok || head != rollupVersion {
		return d, fmt.Errorf("rollup row of %s: not of version %s", day.Format(time.DateOnly), rollupVersion)
	}
	windows, steps, ok := strings.Cut(rest, ";")
	if !ok || strings.Contains(steps, ";") {
		return bad("layout")
	}
	// field returns the text up to sep (or the end), and what follows.
	field := func(s string, sep byte) (string, string) {
		if k := strings.IndexByte(s, sep); k >= 0 {
			return s[:k], s[k+1:]
		}
		return s, ""
	}
	if windows != "" {
		d.s.Windows = make([]windowAgg, 0, strings.Count(windows, ",")+1)
	}
	for windows != "" {
		var w, fi, fn, fs string
		w, windows = field(windows, ',')
		fi, w = field(w, ':')
		fn, fs = field(w, ':')
		i, err1 := strconv.Atoi(fi)
		n, err2 := strconv.Atoi(fn)
		sum, err3 := strconv.ParseFloat(fs, 64)
		if err1 != nil || err2 != nil || err3 != nil || strings.IndexByte(fs, ':') >= 0 || i < 0 || i >= d.windows || n < 0 {
			return bad("window")
		}
		d.s.Windows = append(d.s.Windows, windowAgg{Start: day.Add(time.Duration(i) * unit), Count: n, Sum: sum})
		d.samples += n
	}
	for steps != "" {
		var x, kind, f1, f2, f3, f4 string
		x, steps = field(steps, ',')
		kind, x = field(x, ':')
		f1, x = field(x, ':')
		f2, x = field(x, ':')
		f3, f4 = field(x, ':')
		if kind != "d" && kind != "g" {
			return bad("step kind")
		}
		ns, err1 := strconv.ParseInt(f1, 10, 64)
		delta, err2 := strconv.ParseFloat(f2, 64)
		after, err3 := strconv.ParseFloat(f3, 64)
		el, err4 := strconv.ParseInt(f4, 10, 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return bad("step")
		}
		st := step{Time: time.Unix(0, ns).UTC(), Delta: delta, After: after, Elapsed: time.Duration(el)}
		if kind == "d" {
			d.s.Drops = append(d.s.Drops, st)
		} else {
			d.s.Gaps = append(d.s.Gaps, st)
		}
	}
	return d, nil
}

// utcDay is the UTC midnight at or before t.
func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// quarterAligned reports whether t is on a quarter hour.
func quarterAligned(t time.Time) bool { return t.UnixNano()%int64(quarter) == 0 }

// UseRollup makes Consumption read the rollup's rows where they cover its
// range (InfluxQL only: the rows are read with InfluxQL). It returns e.
func (e *Engine) UseRollup() *Engine {
	e.rollup = e.ql != nil
	return e
}

// Roll computes the quarters of [from, to) (moved out to quarter hours) of
// the meters with ids (every meter when ids is empty) and returns one row
// per meter and UTC day the range touches, each holding the day's quarters
// from its start to the range's end: from should be a UTC midnight or the
// end of what an earlier roll of that day held, since a row replaces the
// day's row whole. Meters without readings in the range give no rows.
func (e *Engine) Roll(ctx context.Context, from, to time.Time, ids ...string) ([]RollupRow, error) {
	if e.err != nil {
		return nil, e.err
	}
	from, to = utcDay(from), ceilQuarter(to)
	if !from.Before(to) {
		return nil, nil
	}
	g, err := newGrid(from, to, Quarter, time.UTC)
	if err != nil {
		return nil, badQuery(err)
	}
	g.back = rollLookback
	var meters []*Meter
	for _, m := range e.meters {
		if len(ids) == 0 || slices.Contains(ids, m.ID) {
			meters = append(meters, m)
		}
	}
	var (
		mu   sync.Mutex
		rows []RollupRow
	)
	err = e.eachBatch(ctx, meters, func(b batch) error {
		got, err := e.query(ctx, b, g)
		if err != nil {
			return err
		}
		var out []RollupRow
		for _, m := range b.meters {
			s := got[m.Device]
			if len(s.Windows) == 0 && len(s.Gaps) == 0 {
				continue
			}
			hourly := s
			hourly.Windows = byHour(s.Windows)
			for d := from; d.Before(to); d = d.Add(day) {
				q := min(quartersPerDay, int(to.Sub(d)/quarter))
				data, n := encodeRollup(s, d, q, quarter)
				hours, _ := encodeRollup(hourly, d, q/4, time.Hour)
				out = append(out, RollupRow{Meter: m.ID, Site: m.Site, Day: d, Quarters: q, Samples: n, Data: data, Hours: hours})
			}
		}
		mu.Lock()
		rows = append(rows, out...)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(rows, func(a, b RollupRow) int { return cmp.Or(cmp.Compare(a.Meter, b.Meter), a.Day.Compare(b.Day)) })
	return rows, err
}

// byHour sums windows of quarters (in time order) into hours.
func byHour(ws []windowAgg) []windowAgg {
	var out []windowAgg
	for _, w := range ws {
		h := w.Start.Truncate(time.Hour)
		if n := len(out); n > 0 && out[n-1].Start.Equal(h) {
			out[n-1].Count += w.Count
			out[n-1].Sum += w.Sum
			continue
		}
		out = append(out, windowAgg{Start: h, Count: w.Count, Sum: w.Sum})
	}
	return out
}

// ceilQuarter is the quarter hour at or after t.
func ceilQuarter(t time.Time) time.Time {
	f := t.Truncate(quarter)
	if f.Before(t) {
		f = f.Add(quarter)
	}
	return f.UTC()
}

// RolledDays returns what the rollup holds of the meters with ids (every
// meter when empty) for the UTC days of [from, to): per meter id, per day
// (UTC midnight), the quarters and readings of its row.
func (e *Engine) RolledDays(ctx context.Context, from, to time.Time, ids ...string) (map[string]map[time.Time][2]int, error) {
	if e.ql == nil {
		return nil, errors.New("energy: the rollup needs the influxql query backend")
	}
	var meters []*Meter
	for _, m := range e.meters {
		if len(ids) == 0 || slices.Contains(ids, m.ID) {
			meters = append(meters, m)
		}
	}
	out := map[string]map[time.Time][2]int{}
	var mu sync.Mutex
	err := e.eachBatch(ctx, meters, func(b batch) error {
		devices := make([]string, len(b.meters))
		for i, m := range b.meters {
			devices[i] = `"device" = ` + store.InfluxQLString(m.ID)
		}
		q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s(%s) AND time >= %d AND time < %d GROUP BY "device"`,
			RollupQuartersField, RollupSamplesField, store.InfluxQLIdent(RollupMeasurement), b.influxQLSite(), strings.Join(devices, " OR "),
			utcDay(from).UnixNano(), to.UnixNano())
		return e.ql.QueryInfluxQL(ctx, q, func(s store.InfluxQLSeries) error {
			mu.Lock()
			defer mu.Unlock()
			m := map[time.Time][2]int{}
			for _, row := range s.Values {
				if len(row) != 3 {
					continue
				}
				t, okT := rowTime(row[0])
				nq, okQ := number(row[1])
				ns, okS := number(row[2])
				if okT && okQ && okS {
					m[t.UTC()] = [2]int{int(nq), int(ns)}
				}
			}
			out[s.Tags["device"]] = m
			return nil
		})
	})
	return out, err
}

// DayCounts returns the readings of each UTC day of [from, to) per meter id
// (every meter when ids is empty), counted by InfluxDB: what Stale compares
// the rollup's rows with.
func (e *Engine) DayCounts(ctx context.Context, from, to time.Time, ids ...string) (map[string]map[time.Time]int, error) {
	if e.ql == nil {
		return nil, errors.New("energy: the rollup needs the influxql query backend")
	}
	from, to = utcDay(from), utcDay(to.Add(day-1))
	var meters []*Meter
	for _, m := range e.meters {
		if len(ids) == 0 || slices.Contains(ids, m.ID) {
			meters = append(meters, m)
		}
	}
	out := map[string]map[time.Time]int{}
	var mu sync.Mutex
	err := e.eachBatch(ctx, meters, func(b batch) error {
		devices := make([]string, len(b.meters))
		byDevice := map[string]string{}
		for i, m := range b.meters {
			devices[i] = `"device" = ` + store.InfluxQLString(m.Device)
			byDevice[m.Device] = m.ID
		}
		q := fmt.Sprintf(`SELECT count(%s) FROM %s WHERE %s(%s) AND time >= %d AND time < %d GROUP BY time(1d), "device" fill(0)`,
			store.InfluxQLIdent(b.point), store.InfluxQLIdent(b.measurement), b.influxQLSite(), strings.Join(devices, " OR "), from.UnixNano(), to.UnixNano())
		return e.ql.QueryInfluxQL(ctx, q, func(s store.InfluxQLSeries) error {
			id, ok := byDevice[s.Tags["device"]]
			if !ok {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			m := out[id]
			if m == nil {
				m = map[time.Time]int{}
				out[id] = m
			}
			for _, row := range s.Values {
				t, okT := rowTime(row[0])
				n, okN := number(row[len(row)-1])
				if okT && okN {
					m[utcDay(t)] = int(n)
				}
			}
			return nil
		})
	})
	return out, err
}

// Stale returns, per meter id, the whole UTC days of [from, to) whose row
// holds another count of readings than InfluxDB now has (late readings, a
// replayed spool), or which have readings and no whole row: the days to
// roll again.
func (e *Engine) Stale(ctx context.Context, from, to time.Time, ids ...string) (map[string][]time.Time, error) {
	counts, err := e.DayCounts(ctx, from, to, ids...)
	if err != nil {
		return nil, err
	}
	rolled, err := e.RolledDays(ctx, from, to, ids...)
	if err != nil {
		return nil, err
	}
	out := map[string][]time.Time{}
	for id, days := range counts {
		for d, n := range days {
			if !d.Add(day).After(to) && d.Before(to) && !d.Before(utcDay(from)) {
				r, ok := rolled[id][d]
				if (n > 0 && !ok) || (ok && (r[1] != n || r[0] != quartersPerDay)) {
					out[id] = append(out[id], d)
				}
			}
		}
		slices.SortFunc(out[id], time.Time.Compare)
	}
	return out, nil
}

// readRollup reads the rows of the batch's meters for the UTC days of
// [from, to), per meter id in day order. A row that cannot be read is left
// out (its quarters are computed from the readings) unless strict.
func (e *Engine) readRollup(ctx context.Context, b batch, from, to time.Time, unit time.Duration, strict bool) (map[string][]rolledDay, error) {
	field, per := RollupDataField, 1
	if unit == time.Hour {
		field, per = RollupHoursField, 4
	}
	devices := make([]string, len(b.meters))
	for i, m := range b.meters {
		devices[i] = `"device" = ` + store.InfluxQLString(m.ID)
	}
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s(%s) AND time >= %d AND time < %d GROUP BY "device"`,
		field, RollupQuartersField, store.InfluxQLIdent(RollupMeasurement), b.influxQLSite(), strings.Join(devices, " OR "), from.UnixNano(), to.UnixNano())
	out := map[string][]rolledDay{}
	var errs []error
	err := e.ql.QueryInfluxQL(ctx, q, func(s store.InfluxQLSeries) error {
		id := s.Tags["device"]
		iq, iData, iQuarters := -1, -1, -1
		for i, c := range s.Columns {
			switch c {
			case "time":
				iq = i
			case field:
				iData = i
			case RollupQuartersField:
				iQuarters = i
			}
		}
		if iq < 0 || iData < 0 || iQuarters < 0 {
			return fmt.Errorf("rollup rows of %q: columns %v", id, s.Columns)
		}
		for _, row := range s.Values {
			t, okT := rowTime(row[iq])
			data, okD := row[iData].(string)
			n, okN := number(row[iQuarters])
			if !okT || !okD || !okN || n < 0 || n > float64(quartersPerDay) {
				errs = append(errs, fmt.Errorf("rollup row of %q: %v", id, row))
				continue
			}
			d, err := decodeRollup(data, t.UTC(), int(n)/per, unit)
			if err != nil {
				errs = append(errs, fmt.Errorf("meter %q: %w", id, err))
				continue
			}
			out[id] = append(out[id], d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if strict && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// rowTime reads an InfluxQL time column (RFC 3339 or epoch nanoseconds).
func rowTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	default:
		if n, ok := number(v); ok {
			return time.Unix(0, int64(n)), true
		}
	}
	return time.Time{}, false
}

// span is [from, to).
type span struct{ from, to time.Time }

// seriesWithRollup is the batch's series over g: the rollup's rows where
// they hold a meter's quarters, the readings (at quarter hours, over runs
// of quarters some meter's rows lack) elsewhere.
func (e *Engine) seriesWithRollup(ctx context.Context, b batch, g *grid) (_ map[string]series, whole bool, _ error) {
	start, stop := g.start(), g.stop()
	// Hours where g's slots are whole hours (hours, days and months in a
	// zone of whole hours), else quarters.
	unit := quarter
	if g.iv != Quarter && g.start().Truncate(time.Hour).Equal(g.start()) && g.stop().Truncate(time.Hour).Equal(g.stop()) {
		unit = time.Hour
	}
	days, err := e.readRollup(ctx, b, utcDay(start), stop, unit, false)
	if err != nil {
		return nil, false, err
	}
	if len(days) == 0 {
		s, err := e.query(ctx, b, g) // nothing rolled
		return s, false, err
	}
	// covered: per meter, the whole slots of g its rows hold, so that the
	// rest is read at g's own slots (cheaper than quarters).
	covered := map[string][]span{}
	var missing []span
	for _, m := range b.meters {
		var cs []span
		for _, d := range days[m.ID] {
			sp := g.inner(later(d.day, start), earlier(d.until(), stop))
			if !sp.from.Before(sp.to) {
				continue
			}
			if n := len(cs); n > 0 && !cs[n-1].to.Before(sp.from) {
				cs[n-1].to = later(cs[n-1].to, sp.to)
			} else {
				cs = append(cs, sp)
			}
		}
		covered[m.ID] = cs
		missing = append(missing, gaps(cs, start, stop)...)
	}
	missing = g.pieces(union(missing), rollupPiece)
	raw := make([]map[string]series, len(missing))
	for i, sp := range missing {
		rg, err := newGrid(sp.from, sp.to, g.iv, g.loc)
		if err != nil {
			return nil, false, err
		}
		rg.back = rollLookback
		if raw[i], err = e.query(ctx, b, rg); err != nil {
			return nil, false, err
		}
	}
	out := make(map[string]series, len(b.meters))
	for _, m := range b.meters {
		in := func(t time.Time) bool {
			for _, sp := range covered[m.ID] {
				if !t.Before(sp.from) && t.Before(sp.to) {
					return true
				}
			}
			return false
		}
		s := series{every: unit}
		for _, d := range days[m.ID] {
			if in(d.day) && in(d.until().Add(-1)) && len(covered[m.ID]) == 1 {
				s.Windows = append(s.Windows, d.s.Windows...) // the whole day is in the one span
			} else {
				for _, w := range d.s.Windows {
					if in(w.Start) {
						s.Windows = append(s.Windows, w)
					}
				}
			}
			s.Drops = append(s.Drops, filterSteps(d.s.Drops, in)...)
			s.Gaps = append(s.Gaps, filterSteps(d.s.Gaps, in)...)
		}
		for i, sp := range missing {
			r := raw[i][m.Device]
			inRaw := func(t time.Time) bool { return !t.Before(sp.from) && t.Before(sp.to) && !in(t) }
			for _, w := range r.Windows {
				if inRaw(w.Start) {
					s.Windows = append(s.Windows, w)
				}
			}
			s.Drops = append(s.Drops, filterSteps(r.Drops, inRaw)...)
			s.Gaps = append(s.Gaps, filterSteps(r.Gaps, inRaw)...)
		}
		if len(missing) > 0 { // the days' windows come in order; the readings' were added after them
			slices.SortStableFunc(s.Windows, func(a, b windowAgg) int { return a.Start.Compare(b.Start) })
		}
		slices.SortStableFunc(s.Drops, func(a, b step) int { return a.Time.Compare(b.Time) })
		slices.SortStableFunc(s.Gaps, func(a, b step) int { return a.Time.Compare(b.Time) })
		out[m.Device] = s
	}
	return out, len(missing) == 0, nil
}

// filterSteps returns the steps whose time keep takes.
func filterSteps(steps []step, keep func(time.Time) bool) []step {
	var out []step
	for _, st := range steps {
		if keep(st.Time) {
			out = append(out, st)
		}
	}
	return out
}

// gaps returns the parts of [start, stop) that the sorted, disjoint spans
// do not hold.
func gaps(spans []span, start, stop time.Time) []span {
	var out []span
	at := start
	for _, sp := range spans {
		if at.Before(sp.from) {
			out = append(out, span{at, sp.from})
		}
		at = later(at, sp.to)
	}
	if at.Before(stop) {
		out = append(out, span{at, stop})
	}
	return out
}

// rollupPiece bounds the readings one query reads where the rollup has no
// rows: a grid of quarters holds at most maxSlots.
const rollupPiece = 90 * day

// pieces cuts spans longer than most into pieces of about most, cut at
// slot bounds of g.
func (g *grid) pieces(spans []span, most time.Duration) []span {
	var out []span
	for _, sp := range spans {
		for sp.to.Sub(sp.from) > most {
			cut := g.inner(sp.from, sp.from.Add(most)).to
			if !cut.After(sp.from) {
				break // slots longer than most: one piece
			}
			out = append(out, span{sp.from, cut})
			sp.from = cut
		}
		out = append(out, sp)
	}
	return out
}

// inner is the span of g's whole slots inside [from, to).
func (g *grid) inner(from, to time.Time) span {
	i, _ := slices.BinarySearchFunc(g.bounds, from, time.Time.Compare)
	j, found := slices.BinarySearchFunc(g.bounds, to, time.Time.Compare)
	if !found {
		j--
	}
	if i >= len(g.bounds) || j < 0 || j <= i {
		return span{}
	}
	return span{g.bounds[i], g.bounds[j]}
}

// union merges overlapping or touching spans.
func union(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && !out[n-1].to.Before(sp.from) {
			out[n-1].to = later(out[n-1].to, sp.to)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// LineProtocol is the row as an InfluxDB line, newline included.
func (r RollupRow) LineProtocol() string {
	var b strings.Builder
	b.WriteString(RollupMeasurement)
	b.WriteString(",device=")
	b.WriteString(lpTag(r.Meter))
	if r.Site != "" {
		b.WriteString(",site=")
		b.WriteString(lpTag(r.Site))
	}
	fmt.Fprintf(&b, " %s=%q,%s=%q,%s=%di,%s=%di %d\n", RollupDataField, r.Data, RollupHoursField, r.Hours, RollupQuartersField, r.Quarters, RollupSamplesField, r.Samples, r.Day.UnixNano())
	return b.String()
}

// lpTag escapes a tag key or value of line protocol.
func lpTag(s string) string { return strings.NewReplacer(",", `\,`, "=", `\=`, " ", `\ `).Replace(s) }
