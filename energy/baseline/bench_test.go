package baseline

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// synthetic makes hourly temperatures with seasons and daily cycles and a
// meter whose load follows them, over days days.
func synthetic(days int, daily bool) ([]Reading, []TempReading) {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	var temps []TempReading
	var meter []Reading
	for h := range days * 24 {
		t := start.Add(time.Duration(h) * time.Hour)
		doy := float64(h) / 24
		temp := 55 - 25*math.Cos(2*math.Pi*doy/365) - 8*math.Cos(2*math.Pi*float64(h%24)/24) + 3*r.NormFloat64()
		temps = append(temps, TempReading{Time: t, Temp: temp})
		if !daily {
			use := 1 + 0.05*math.Max(0, 55-temp) + 0.08*math.Max(0, temp-68) + 0.3*r.NormFloat64()
			meter = append(meter, Reading{Start: t, Usage: math.Max(0.01, use)})
		}
	}
	if daily {
		for d := range days {
			mean := 0.0
			for _, tr := range temps[d*24 : d*24+24] {
				mean += tr.Temp / 24
			}
			use := 20 + 1.1*math.Max(0, 55-mean) + 2*math.Max(0, mean-68) + 4*r.NormFloat64()
			meter = append(meter, Reading{Start: start.AddDate(0, 0, d), Usage: math.Max(0.1, use)})
		}
	}
	return meter, temps
}

// BenchmarkFitDaily2Years fits the daily model over 730 days (target < 50 ms).
func BenchmarkFitDaily2Years(b *testing.B) {
	meter, temps := synthetic(730, true)
	from := meter[0].Start
	to := from.AddDate(0, 0, 730)
	b.ResetTimer()
	for b.Loop() {
		if _, err := FitDaily(meter, temps, time.UTC, from, to, DailyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fit")
}

// BenchmarkFitHourly1Year fits the hourly TOWT model over 365 days
// (target < 1 s).
func BenchmarkFitHourly1Year(b *testing.B) {
	meter, temps := synthetic(365, false)
	from := meter[0].Start
	to := from.AddDate(0, 0, 365)
	b.ResetTimer()
	for b.Loop() {
		if _, err := FitHourly(meter, temps, time.UTC, from, to, HourlyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fit")
}

// BenchmarkAnomalyCheck1000Meters checks one new hour on 1,000 meters:
// each meter's model predicts the hour, then the residual, CUSUM,
// base-load and leak detectors run over its last week (target < 100 ms).
func BenchmarkAnomalyCheck1000Meters(b *testing.B) {
	meter, temps := synthetic(365, false)
	from := meter[0].Start
	m, err := FitHourly(meter, temps, time.UTC, from, from.AddDate(0, 0, 365), HourlyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const meters, week = 1000, 168
	windows := make([][]Point, meters)
	for i := range windows {
		windows[i] = make([]Point, week)
		off := (i * 7) % (len(meter) - week - 1)
		for j := range week {
			windows[i][j] = Point{Start: meter[off+j].Start, Actual: meter[off+j].Usage, Predicted: m.Predict(meter[off+j].Start, temps[off+j].Temp), Sigma: m.RMSE}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for i := range windows {
			w := windows[i]
			last := &w[week-1]
			last.Predicted = m.Predict(last.Start, temps[i%len(temps)].Temp) // the new hour
			Residual(w, 3, 3)
			CUSUM(w, CUSUMOptions{})
			BaseLoad(w, BaseLoadOptions{})
			WaterLeak(w[week-24:], LeakOptions{})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/check")
}
