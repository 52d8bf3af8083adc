package usage

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// readings returns one reading every 15 minutes from t0 - 15m, values as given.
func readings(vals ...float64) []Reading {
	rs := make([]Reading, len(vals))
	for i, v := range vals {
		rs[i] = Reading{Time: t0.Add(time.Duration(i-1) * 15 * time.Minute), Value: v}
	}
	return rs
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name          string
		m             Meter
		before, after float64
		kind          EventKind
		counted       float64
	}{
		{"rise", Meter{}, 10, 12, "", 2},
		{"flat", Meter{}, 10, 10, "", 0},
		{"reset to zero", Meter{}, 5000, 0, Reset, 0},
		{"reset, counted from zero", Meter{}, 5000, 3, Reset, 3},
		{"reset below declared", Meter{ResetBelow: 20}, 100, 15, Reset, 15},
		{"rollover", Meter{Rollover: 10000}, 9998, 3, Rollover, 5},
		{"rollover at the top exactly", Meter{Rollover: 10000}, 10000, 0, Rollover, 0},
		{"small drop with rollover is a swap", Meter{Rollover: 10000}, 6000, 5000, Swap, 0},
		{"reading above the rollover is no rollover", Meter{Rollover: 10000}, 12000, 500, Swap, 0},
		{"swap to a used meter", Meter{}, 5000, 800, Swap, 0},
		{"swap, 1 % default threshold", Meter{}, 5000, 51, Swap, 0},
		{"glitch down is a swap, never negative", Meter{}, 100, 99.5, Swap, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			kind, counted := classify(c.before, c.after, &c.m)
			if kind != c.kind || counted != c.counted {
				t.Errorf("classify(%v, %v) = %q, %v; want %q, %v", c.before, c.after, kind, counted, c.kind, c.counted)
			}
		})
	}
}

func TestFromPoints(t *testing.T) {
	type want struct {
		amounts  []float64 // per hour
		samples  []int
		coverage []float64
		events   []EventKind
	}
	counter := Meter{ID: "m", Device: "d", Counter: "kwh", Unit: KWh, Category: Electricity, PollInterval: 15 * time.Minute, Rollover: 1000}
	nan := math.NaN()
	for _, c := range []struct {
		name string
		vals []float64 // from t0 - 15m, every 15m; NaN: no reading
		want want
	}{
		{"steady", []float64{10, 11, 12, 13, 14, 15, 16, 17, 18},
			want{[]float64{4, 4}, []int{4, 4}, []float64{100, 100}, nil}},
		{"reset counts from zero", []float64{10, 11, 12, 0, 1, 2, 3, 4, 5},
			want{[]float64{3, 4}, []int{4, 4}, []float64{100, 100}, []EventKind{Reset}}},
		{"rollover adds the rollover", []float64{997, 998, 999, 1, 2, 3, 4, 5, 6},
			want{[]float64{5, 4}, []int{4, 4}, []float64{100, 100}, []EventKind{Rollover}}},
		{"swap splits the slot, nothing negative", []float64{500, 501, 502, 10, 11, 12, 13, 14, 15},
			want{[]float64{1 + 1 + 0 + 1, 4}, []int{4, 4}, []float64{100, 100}, []EventKind{Swap}}},
		{"gap: coverage marked, the rise counted after it", []float64{10, 11, nan, nan, nan, nan, nan, 17, 18},
			want{[]float64{1, 7}, []int{1, 2}, []float64{25, 50}, []EventKind{Gap}}},
		{"reset after a gap: both reported", []float64{500, 501, nan, nan, nan, nan, nan, 2, 3},
			want{[]float64{1, 2 + 1}, []int{1, 2}, []float64{25, 50}, []EventKind{Gap, Reset}}},
		{"no reading before the range: first step unknown", []float64{nan, 11, 12, 13, 14},
			want{[]float64{3, 0}, []int{4, 0}, []float64{100, 0}, nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rs []Reading
			for _, r := range readings(c.vals...) {
				if !math.IsNaN(r.Value) {
					rs = append(rs, r)
				}
			}
			u, err := FromPoints(&counter, rs, t0, t0.Add(2*time.Hour), Hour, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []EventKind
			for _, e := range u.Events {
				kinds = append(kinds, e.Kind)
				if e.Counted < 0 {
					t.Errorf("event %+v counts a negative amount", e)
				}
			}
			if len(kinds) != len(c.want.events) {
				t.Fatalf("events = %v, want %v", kinds, c.want.events)
			}
			for i := range kinds {
				if kinds[i] != c.want.events[i] {
					t.Errorf("events = %v, want %v", kinds, c.want.events)
				}
			}
			total := 0.0
			for i, s := range u.Slots {
				total += c.want.amounts[i]
				if math.Abs(s.Amount-c.want.amounts[i]) > 1e-9 || s.Samples != c.want.samples[i] || s.CoveragePct != c.want.coverage[i] {
					t.Errorf("slot %d = %+v, want amount %v, samples %d, coverage %v", i, s, c.want.amounts[i], c.want.samples[i], c.want.coverage[i])
				}
				if s.Amount < 0 {
					t.Errorf("slot %d is negative: %v", i, s.Amount)
				}
			}
			if math.Abs(u.Total-total) > 1e-9 {
				t.Errorf("total = %v, want %v", u.Total, total)
			}
		})
	}
}

func TestPowerIntegration(t *testing.T) {
	m := Meter{ID: "p", Device: "d", Power: "w", Unit: W, Category: Electricity, PollInterval: 15 * time.Minute}
	// 2 kW flat, then a ramp 2 → 4 kW over the second hour, one reading
	// missing in it (30 minutes between two readings: within max_gap 45m,
	// integrated as one trapezoid), then a 2-hour gap not integrated.
	rs := readings(2000, 2000, 2000, 2000, 2000, 2500, 3000 /* 3500 missing */, 4000)
	rs = append(rs[:7], Reading{Time: t0.Add(105 * time.Minute), Value: 4000})
	rs = append(rs, Reading{Time: t0.Add(225 * time.Minute), Value: 4000})
	u, err := FromPoints(&m, rs, t0, t0.Add(4*time.Hour), Hour, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	// Hour 1: four 15-minute steps at 2 kW. Hour 2: the steps ending at
	// 1:00 (2000→2500 W), 1:15 (2500→3000) and 1:45 (3000→4000 over 30m).
	// Hours 3 and 4: nothing across the gap from 1:45 to 3:45.
	want := []float64{4 * 2 * 0.25, 2.25*0.25 + 2.75*0.25 + 3.5*0.5, 0, 0}
	for i, s := range u.Slots {
		if math.Abs(s.Amount-want[i]) > 1e-9 {
			t.Errorf("slot %d = %v kWh, want %v", i, s.Amount, want[i])
		}
	}
	if len(u.Events) != 1 || u.Events[0].Kind != Gap || u.Events[0].Counted != 0 {
		t.Errorf("events = %+v, want one gap counting nothing", u.Events)
	}
}

func TestGridShanghaiMonths(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	g, err := newGrid(time.Date(2025, 1, 15, 0, 0, 0, 0, sh), time.Date(2025, 3, 1, 0, 0, 0, 0, sh), Month, sh)
	if err != nil {
		t.Fatal(err)
	}
	if g.slots() != 2 || !g.start().Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, sh)) || g.every != 24*time.Hour || g.offset != 16*time.Hour {
		t.Errorf("grid = %v every %v offset %v", g.bounds, g.every, g.offset)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	g, err = newGrid(time.Date(2025, 3, 1, 0, 0, 0, 0, ny), time.Date(2025, 4, 1, 0, 0, 0, 0, ny), Day, ny)
	if err != nil {
		t.Fatal(err)
	}
	if g.every != time.Hour || g.slots() != 31 {
		t.Errorf("across DST: every %v, %d slots; want hourly base windows, 31 days", g.every, g.slots())
	}
}

func TestRemainder(t *testing.T) {
	mk := func(id, parent string, sub SubItem, amounts ...float64) Usage {
		u := Usage{Meter: id, Parent: parent, Category: Electricity, SubItem: sub, Site: "hq", Building: "A", Unit: "kWh"}
		for i, a := range amounts {
			u.Slots = append(u.Slots, Slot{Start: t0.Add(time.Duration(i) * time.Hour), Amount: a, CoveragePct: 100})
			u.Total += a
		}
		return u
	}
	us := []Usage{mk("main", "", "", 10, 10), mk("hvac", "main", HVAC, 4, 7), mk("light", "main", LightingSockets, 3, 5)}
	warnings := remainders(us)
	r := us[0].Remainder
	if r == nil || r.Slots[0].Amount != 3 || r.Slots[1].Amount != -2 || r.Total != 1 {
		t.Fatalf("remainder = %+v", r)
	}
	if len(r.Negative) != 1 || len(warnings) != 1 {
		t.Errorf("negative = %v, warnings = %v: a negative remainder must be reported", r.Negative, warnings)
	}
	gs := groups(us)
	for _, g := range gs {
		if g.Level == "building" && g.Total != 20 {
			t.Errorf("building total = %v, want the main meter's 20 (each kWh once)", g.Total)
		}
		if g.Level == "sub_item" && g.SubItem == Unassigned && g.Total != 1 {
			t.Errorf("unassigned = %v, want the remainder 1", g.Total)
		}
	}
}
