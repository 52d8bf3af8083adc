package usage

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

var _ Flux = (*store.Querier)(nil)

// synth is a generated series and its ground truth: what each step between
// consecutive readings must count, known from how it was made rather than
// read back from the readings.
type synth struct {
	meter  *Meter
	times  []time.Time
	values []float64
	counts []float64 // counts[i]: the step ending at reading i (0 for i = 0)
	events map[time.Time]EventKind
}

func (s *synth) add(t time.Time, v, counted float64) {
	if len(s.times) == 0 {
		counted = 0
	}
	s.times, s.values, s.counts = append(s.times, t), append(s.values, v), append(s.counts, counted)
}

// lineProtocol writes the series as the store does: measurement, tags site
// and device, one field.
func (s *synth) lineProtocol(b *bytes.Buffer) {
	for i, t := range s.times {
		fmt.Fprintf(b, "%s,device=%s,site=hq %s=%v %d\n", s.meter.Measurement, s.meter.Device, s.meter.Point(), s.values[i], t.Unix())
	}
}

// expected sums the ground truth into the slots of g.
func (s *synth) expected(g *grid) []float64 {
	out := make([]float64, g.slots())
	for i, t := range s.times {
		if j := g.slot(t); j >= 0 {
			out[j] += s.counts[i]
		}
	}
	return out
}

func makeSynth(sh *time.Location) []*synth {
	start := time.Date(2025, 1, 29, 23, 0, 0, 0, sh)
	end := time.Date(2025, 2, 2, 1, 0, 0, 0, sh)
	step := 5 * time.Minute
	meter := func(id string, rollover float64) *synth {
		return &synth{meter: &Meter{ID: id, Device: id, Measurement: "energy_meter", Counter: "import_energy", Unit: KWh,
			Category: Electricity, Site: "hq", Building: "A", PollInterval: step, Rollover: rollover}, events: map[time.Time]EventKind{}}
	}
	reset, roll, swap, gap := meter("m-reset", 0), meter("m-roll", 10000), meter("m-swap", 0), meter("m-gap", 0)
	main := meter("m-main", 0)
	// m-off and m-off2: readings stop and resume on the boundary of the
	// days the InfluxQL engine counts first (23:00 for the hourly query,
	// which reads from an hour before midnight; midnight for the daily
	// one), so that the day holding the reading after the gap is full.
	off, off2 := meter("m-off", 0), meter("m-off2", 0)
	offs := []struct {
		s        *synth
		from, to time.Time
		v        float64
	}{
		{off, time.Date(2025, 1, 30, 17, 0, 0, 0, sh), time.Date(2025, 1, 30, 23, 0, 0, 0, sh), 300},
		{off2, time.Date(2025, 1, 31, 12, 0, 0, 0, sh), time.Date(2025, 2, 1, 0, 0, 0, 0, sh), 400},
	}
	reset.meter.Parent, swap.meter.Parent = "m-main", "m-main"
	resetAt := time.Date(2025, 1, 31, 10, 0, 0, 0, sh)
	swapAt := time.Date(2025, 2, 1, 3, 0, 0, 0, sh)
	gapFrom, gapTo := time.Date(2025, 1, 31, 23, 10, 0, 0, sh), time.Date(2025, 2, 1, 2, 40, 0, 0, sh)
	var vr, vroll, vs, vg, vm = 5000.0, 9000.0, 7000.0, 100.0, 20000.0
	for i, t := 0, start; t.Before(end); i, t = i+1, t.Add(step) {
		use := 0.25 + 0.05*float64(i%7) // kWh in 5 minutes
		// m-reset restarts from zero and has counted 0.2 at the reading after.
		if t.Equal(resetAt) {
			vr = 0.2
			reset.add(t, vr, 0.2)
			reset.events[t] = Reset
		} else {
			vr += use
			reset.add(t, vr, use)
		}
		// m-roll wraps at 10000 (about 4 kWh an hour, so once).
		vroll += use * 5
		if vroll >= 10000 {
			vroll -= 10000
			roll.events[t] = Rollover
		}
		roll.add(t, vroll, use*5)
		// m-swap: a replacement meter reading 3000 from swapAt; the step
		// across the swap counts nothing.
		if t.Equal(swapAt) {
			vs = 3000
			swap.add(t, vs, 0)
			swap.events[t] = Swap
		} else {
			vs += use * 2
			swap.add(t, vs, use*2)
		}
		// m-gap: no readings in (gapFrom, gapTo); its rise counts at gapTo.
		vg += use
		switch {
		case t.After(gapFrom) && t.Before(gapTo):
		case t.Equal(gapTo):
			gap.add(t, vg, vg-gap.values[len(gap.values)-1])
			gap.events[t] = Gap
		default:
			gap.add(t, vg, use)
		}
		for k := range offs {
			o := &offs[k]
			o.v += use
			switch {
			case t.After(o.from) && t.Before(o.to):
			case t.Equal(o.to):
				o.s.add(t, o.v, o.v-o.s.values[len(o.s.values)-1])
				o.s.events[t] = Gap
			default:
				o.s.add(t, o.v, use)
			}
		}
		// m-main: the two sub-meters and 1 kWh of its own per step.
		vm += 1 + use + use*2
		main.add(t, vm, 1+use+use*2)
	}
	// The sub-meters' own losses at their events (the swap step, the
	// reset's lost rise) are part of the parent: keep main honest by
	// counting only what the children count plus 1.
	for i := range main.counts {
		if i > 0 {
			main.counts[i] = main.values[i] - main.values[i-1]
		}
	}
	return []*synth{reset, roll, swap, gap, main, off, off2}
}

func TestConsumptionInfluxd(t *testing.T) {
	inf := testenv.StartInfluxd(t)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	series := makeSynth(sh)
	var lp bytes.Buffer
	cfg := &Config{}
	for _, s := range series {
		s.lineProtocol(&lp)
		cfg.Meters = append(cfg.Meters, s.meter)
	}
	// A power meter: 3 kW to 5 kW ramps, every 5 minutes.
	pm := &Meter{ID: "p-1", Device: "p-1", Measurement: "energy_meter", Power: "total_power", Unit: W, Category: Electricity,
		SubItem: HVAC, Site: "hq", Building: "A", PollInterval: 5 * time.Minute}
	cfg.Meters = append(cfg.Meters, pm)
	var power []Reading
	for t := time.Date(2025, 1, 29, 23, 0, 0, 0, sh); t.Before(time.Date(2025, 2, 2, 1, 0, 0, 0, sh)); t = t.Add(5 * time.Minute) {
		w := 3000 + 2000*math.Abs(math.Sin(float64(t.Unix())/7200))
		power = append(power, Reading{t, w})
		fmt.Fprintf(&lp, "energy_meter,device=p-1,site=hq total_power=%v %d\n", w, t.Unix())
	}
	writeLP(t, inf, lp.Bytes())

	q, err := store.NewQuerier(store.Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	var first []Usage // of the first backend, that the second must equal
	for _, backend := range []Backend{InfluxQLBackend, FluxBackend} {
		t.Run(string(backend), func(t *testing.T) {
			cfg.Query = backend
			e := NewEngine(q, cfg)
			if e.Backend() != backend {
				t.Fatalf("engine backend %s, want %s", e.Backend(), backend)
			}
			got := checkConsumption(t, e, series, pm, power, sh)
			if first == nil {
				first = got
				return
			}
			sameUsage(t, first, got)
		})
	}
}

// checkConsumption runs the engine over four intervals and compares every
// slot with raw arithmetic; it returns the meters of every report, in
// order, for comparing backends.
func checkConsumption(t *testing.T, e *Engine, series []*synth, pm *Meter, power []Reading, sh *time.Location) []Usage {
	var all []Usage
	for _, c := range []struct {
		iv       Interval
		from, to time.Time
	}{
		{Quarter, time.Date(2025, 1, 31, 9, 0, 0, 0, sh), time.Date(2025, 1, 31, 11, 0, 0, 0, sh)},
		{Hour, time.Date(2025, 1, 30, 0, 0, 0, 0, sh), time.Date(2025, 2, 2, 0, 0, 0, 0, sh)},
		{Day, time.Date(2025, 1, 30, 0, 0, 0, 0, sh), time.Date(2025, 2, 2, 0, 0, 0, 0, sh)},
		{Month, time.Date(2025, 1, 1, 0, 0, 0, 0, sh), time.Date(2025, 3, 1, 0, 0, 0, 0, sh)},
	} {
		t.Run(string(c.iv), func(t *testing.T) {
			rep, err := e.Consumption(t.Context(), Query{From: c.from, To: c.to, Interval: c.iv, Zone: sh})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rep.Meters...)
			g, _ := newGrid(c.from, c.to, c.iv, sh)
			got := map[string]Usage{}
			for _, u := range rep.Meters {
				got[u.Meter] = u
			}
			for _, s := range series {
				u := got[s.meter.ID]
				want := s.expected(g)
				for i, sl := range u.Slots {
					if math.Abs(sl.Amount-want[i]) > 1e-6 {
						t.Errorf("%s slot %s: %.6f kWh, raw arithmetic says %.6f", s.meter.ID, sl.Start.In(sh).Format(time.DateTime), sl.Amount, want[i])
					}
				}
				for at, kind := range s.events {
					if g.slot(at) < 0 {
						continue
					}
					found := false
					for _, ev := range u.Events {
						found = found || (ev.Time.Equal(at) && ev.Kind == kind)
					}
					if !found {
						t.Errorf("%s: no %s event at %v in %+v", s.meter.ID, kind, at, u.Events)
					}
				}
			}
			// Power: the same trapezoids from the raw readings, in memory,
			// the first step of the range included (in the month query the
			// readings start inside it).
			raw := power
			mem, err := FromPoints(pm, raw, c.from, c.to, c.iv, sh)
			if err != nil {
				t.Fatal(err)
			}
			for i, sl := range got["p-1"].Slots {
				if math.Abs(sl.Amount-mem.Slots[i].Amount) > 1e-6 {
					t.Errorf("p-1 slot %s: %.6f kWh, raw trapezoids %.6f", sl.Start.In(sh).Format(time.DateTime), sl.Amount, mem.Slots[i].Amount)
				}
			}
			if r := got["m-main"].Remainder; r == nil || len(r.Children) != 2 {
				t.Errorf("m-main remainder = %+v, want one over its two sub-meters", r)
			}
			if c.iv == Month {
				jan, feb := got["m-gap"].Slots[0], got["m-gap"].Slots[1]
				if !jan.Start.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, sh)) || !feb.Start.Equal(time.Date(2025, 2, 1, 0, 0, 0, 0, sh)) {
					t.Errorf("months start %v and %v, want local midnights of Jan 1 and Feb 1", jan.Start, feb.Start)
				}
				if jan.CoveragePct >= 10 || feb.CoveragePct >= 10 {
					t.Errorf("coverage %v%%, %v%%: a month with 2 days of readings", jan.CoveragePct, feb.CoveragePct)
				}
			}
		})
	}
	return all
}

// sameUsage fails unless two backends' usage agree: slots, samples,
// coverage, totals, events and remainders, amounts to 1e-6.
func sameUsage(t *testing.T, a, b []Usage) {
	t.Helper()
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-6 }
	if len(a) != len(b) {
		t.Fatalf("%d usages against %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		what := fmt.Sprintf("usage %d (%s)", i, x.Meter)
		if x.Meter != y.Meter || !near(x.Total, y.Total) || x.CoveragePct != y.CoveragePct || x.PollInterval != y.PollInterval || len(x.Slots) != len(y.Slots) || len(x.Events) != len(y.Events) {
			t.Errorf("%s: total %v, coverage %v, poll %s, %d slots, %d events; against %s: %v, %v, %s, %d, %d",
				what, x.Total, x.CoveragePct, x.PollInterval, len(x.Slots), len(x.Events), y.Meter, y.Total, y.CoveragePct, y.PollInterval, len(y.Slots), len(y.Events))
			continue
		}
		for j, s := range x.Slots {
			if o := y.Slots[j]; !s.Start.Equal(o.Start) || !near(s.Amount, o.Amount) || s.Samples != o.Samples || s.CoveragePct != o.CoveragePct {
				t.Errorf("%s slot %d: %+v against %+v", what, j, s, o)
			}
		}
		for j, ev := range x.Events {
			o := y.Events[j]
			if !ev.Time.Equal(o.Time) || ev.Kind != o.Kind || !near(ev.Before, o.Before) || !near(ev.After, o.After) || !near(ev.Counted, o.Counted) ||
				(ev.Since == nil) != (o.Since == nil) || (ev.Since != nil && !ev.Since.Equal(*o.Since)) {
				t.Errorf("%s event %d: %+v against %+v", what, j, ev, o)
			}
		}
		if (x.Remainder == nil) != (y.Remainder == nil) || (x.Remainder != nil && !near(x.Remainder.Total, y.Remainder.Total)) {
			t.Errorf("%s remainder: %+v against %+v", what, x.Remainder, y.Remainder)
		}
	}
}

func writeLP(t testing.TB, inf *testenv.Influxd, body []byte) {
	t.Helper()
	resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=s", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
}
