package baseline

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC) // a Monday

// series builds hourly points from actual values, predicted 10 and σ 1.
func series(actual ...float64) []Point {
	pts := make([]Point, len(actual))
	for i, a := range actual {
		pts[i] = Point{Start: t0.Add(time.Duration(i) * time.Hour), Actual: a, Predicted: 10, Sigma: 1}
	}
	return pts
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func cat(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type want struct {
	kind       string
	start, end int // hours from t0
	excess     float64
	open       bool
}

func check(t *testing.T, got []Anomaly, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d anomalies %+v, want %d %+v", len(got), got, len(wants), wants)
	}
	for i, w := range wants {
		g := got[i]
		ws, we := t0.Add(time.Duration(w.start)*time.Hour), t0.Add(time.Duration(w.end)*time.Hour)
		if g.Kind != w.kind || !g.Start.Equal(ws) || !g.End.Equal(we) || math.Abs(g.Excess-w.excess) > 1e-9 || g.Open != w.open {
			t.Errorf("anomaly %d = %s %s–%s excess %g open %v, want %s %s–%s excess %g open %v",
				i, g.Kind, g.Start.Format("Mon 15h"), g.End.Format("Mon 15h"), g.Excess, g.Open,
				w.kind, ws.Format("Mon 15h"), we.Format("Mon 15h"), w.excess, w.open)
		}
	}
}

func TestResidual(t *testing.T) {
	for _, c := range []struct {
		name   string
		actual []float64
		k      float64
		n      int
		want   []want
	}{
		{"on baseline", repeat(10, 10), 3, 2, nil},
		{"one spike is not enough", cat(repeat(10, 3), []float64{20}, repeat(10, 3)), 3, 2, nil},
		{"run of three", cat(repeat(10, 3), repeat(14, 3), repeat(10, 3)), 3, 2, []want{{KindResidualHigh, 3, 6, 12, false}}},
		{"exactly k is not beyond", cat(repeat(13, 5)), 3, 2, nil},
		{"low run open at the end", cat(repeat(10, 2), repeat(5, 3)), 3, 3, []want{{KindResidualLow, 2, 5, -15, true}}},
		{"a gap ends the run", cat(repeat(14, 2), []float64{math.NaN()}, repeat(14, 2)), 3, 3, nil},
		{"high then low", cat(repeat(15, 2), repeat(5, 2)), 3, 2, []want{{KindResidualHigh, 0, 2, 10, false}, {KindResidualLow, 2, 4, -10, true}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, Residual(series(c.actual...), c.k, c.n), c.want) })
	}
}

func TestCUSUM(t *testing.T) {
	for _, c := range []struct {
		name   string
		actual []float64
		want   []want
	}{
		{"noise within k never alarms", cat(repeat(10.4, 50), repeat(9.6, 50)), nil},
		// +1σ drift: S⁺ grows 0.5 an hour and passes 5 at the 11th hour;
		// the anomaly starts at the onset and ends when S⁺ is back to 0.
		// Three hours at −2σ bring it from 10 down 2.5 an hour, then 0.5 an
		// hour on baseline: zero again at hour 32. S⁻ reaches only 4.5.
		{"drift of one sigma", cat(repeat(10, 5), repeat(11, 20), repeat(8, 3), repeat(10, 7)), []want{{KindCUSUMHigh, 5, 32, 20 - 6, false}}},
		{"short drift below h", cat(repeat(10, 5), repeat(11, 8), repeat(10, 5)), nil},
		{"downward drift still open", cat(repeat(10, 3), repeat(8, 6)), []want{{KindCUSUMLow, 3, 9, -12, true}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, CUSUM(series(c.actual...), CUSUMOptions{}), c.want) })
	}
	// With Recover 5 the alarm ends where the meter came back: the three
	// hours at −2σ give the recovery sum 2.5 an hour, past 5 at the third,
	// so the drift is [5, 25) and S⁺ restarts.
	check(t, CUSUM(series(cat(repeat(10, 5), repeat(11, 20), repeat(8, 3), repeat(10, 7))...), CUSUMOptions{Recover: 5}),
		[]want{{KindCUSUMHigh, 5, 25, 20, false}})
	// S⁺ after 20 h at +1σ then 3 h at −2σ: 20·0.5 = 10, then 10−2.5·3 = 2.5, …
	var s CUSUMState
	for range 20 {
		s = s.Step(1, 0.5)
	}
	if s.High != 10 || s.Low != 0 {
		t.Fatalf("state %+v, want High 10", s)
	}
	if s = s.Step(math.NaN(), 0.5); s.High != 10 {
		t.Fatalf("a gap moved the CUSUM: %+v", s)
	}
}

func TestBaseLoad(t *testing.T) {
	// Three days; nights 01–05. Day 2's night minimum is 14 against a
	// predicted 10: excess 4 over each of its 4 night hours.
	actual := repeat(20, 72)
	for d := range 3 {
		for h := 1; h < 5; h++ {
			actual[d*24+h] = 10
			if d == 1 {
				actual[d*24+h] = 14
			}
		}
	}
	pts := series(actual...)
	check(t, BaseLoad(pts, BaseLoadOptions{}), []want{{KindBaseLoad, 24, 48, 16, false}})
	// Within tolerance (10 %) nothing fires.
	for i := range pts {
		if pts[i].Actual == 14 {
			pts[i].Actual = 10.5
		}
	}
	check(t, BaseLoad(pts, BaseLoadOptions{K: 0.1}), nil)
}

func TestWaterLeak(t *testing.T) {
	for _, c := range []struct {
		name   string
		actual []float64
		o      LeakOptions
		want   []want
	}{
		{"still every night", cat(repeat(0, 2), repeat(3, 20), repeat(0, 4), repeat(3, 20)), LeakOptions{}, nil},
		{"never still for 30 h", cat(repeat(0, 2), repeat(1, 30), repeat(0, 2)), LeakOptions{}, []want{{KindLeak, 2, 32, 30 - 300, false}}},
		{"23 h is not a leak", cat(repeat(0, 1), repeat(1, 23), repeat(0, 1)), LeakOptions{}, nil},
		{"a small flow counts as still", cat(repeat(1, 30)), LeakOptions{ZeroFlow: 1}, nil},
		{"burst", cat(repeat(10, 2), repeat(50, 3), repeat(0, 1)), LeakOptions{BurstFlow: 40, BurstIntervals: 3}, []want{{KindBurst, 2, 5, 120, false}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, WaterLeak(series(c.actual...), c.o), c.want) })
	}
}

func TestGasOffSeason(t *testing.T) {
	pts := series(cat(repeat(15, 4), repeat(15, 4), repeat(10, 2))...)
	heating := cat8(true, 4, false, 6)
	check(t, GasOffSeason(pts, heating, 3, 3), []want{{KindGasNoHeating, 4, 8, 20, false}})
}

func cat8(a bool, n int, b bool, m int) []bool {
	out := make([]bool, 0, n+m)
	for range n {
		out = append(out, a)
	}
	for range m {
		out = append(out, b)
	}
	return out
}
