package store

import (
	"slices"
	"testing"
	"time"
)

func TestCounterIncrease(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	pts := func(vs ...float64) []Point {
		out := make([]Point, len(vs))
		for i, v := range vs {
			out[i] = Point{Time: t0.Add(time.Duration(i) * time.Minute), Value: v}
		}
		return out
	}
	const r32 = 1 << 32
	cases := []struct {
		name              string
		points            []Point
		opts              CounterOptions
		total             float64
		resets, rollovers int
	}{
		{"empty", nil, CounterOptions{}, 0, 0, 0},
		{"one value", pts(5), CounterOptions{}, 0, 0, 0},
		{"rising", pts(10, 12, 12, 15.5), CounterOptions{}, 5.5, 0, 0},
		{"reset", pts(100, 110, 3, 8), CounterOptions{}, 10 + 3 + 5, 1, 0},
		{"reset to zero", pts(100, 0, 4), CounterOptions{}, 4, 1, 0},
		{"wrap", pts(r32-10, r32-2, 5, 9), CounterOptions{Rollover: r32}, 8 + 7 + 4, 0, 1},
		{"reset with rollover set", pts(1000, 1100, 7), CounterOptions{Rollover: r32}, 100 + 7, 1, 0},
		{"wrap without rollover is a reset", pts(r32-10, 5), CounterOptions{}, 5, 1, 0},
		{"16-bit wrap", pts(65530, 65535, 4), CounterOptions{Rollover: 1 << 16}, 5 + 5, 0, 1},
	}
	for _, c := range cases {
		got := CounterIncrease(c.points, t0, t0.Add(time.Hour), c.opts)
		if got.Total != c.total || got.Resets != c.resets || got.Rollovers != c.rollovers || got.Windows != nil {
			t.Errorf("%s: %+v, want total %v, %d resets, %d rollovers", c.name, got, c.total, c.resets, c.rollovers)
		}
	}

	// Windows: a rise counts in the window of its later value; every window
	// of the range is there, empty ones as 0.
	got := CounterIncrease(pts(0, 1, 3, 6, 2, 4), t0, t0.Add(8*time.Minute), CounterOptions{Every: 2 * time.Minute})
	var vals []float64
	for i, w := range got.Windows {
		if !w.Time.Equal(t0.Add(time.Duration(i) * 2 * time.Minute)) {
			t.Errorf("window %d starts %v", i, w.Time)
		}
		vals = append(vals, w.Value)
	}
	if want := []float64{1, 5, 4, 0}; !slices.Equal(vals, want) || got.Total != 10 {
		t.Errorf("windows %v (total %v), want %v (10)", vals, got.Total, want)
	}
}
