package baseline

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestDailyGateMonthly: the daily model is gated on its calendar-month
// totals. The eemeter sample scatters by 25 % from day to day but its
// months are right within a few per cent, so it is fit for alarms; the
// monthly statistics match a recomputation from the days by hand.
func TestDailyGateMonthly(t *testing.T) {
	meter, temps, loc, end := sample(t, "il-electricity-cdd-hdd-daily.csv")
	from := end.AddDate(0, 0, -365)
	m, err := FitDaily(meter, temps, loc, from, end, DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("daily CV(RMSE) %.1f %% NMBE %.2f %%; monthly (n %d) CV(RMSE) %.1f %% NMBE %.2f %%",
		100*m.CVRMSE, 100*m.NMBE, m.Monthly.N, 100*m.Monthly.CVRMSE, 100*m.Monthly.NMBE)
	if m.CVRMSE <= GateMonthly.MaxCVRMSE {
		t.Errorf("daily CV(RMSE) %.3f: the sample was expected to scatter beyond 15 %% by day", m.CVRMSE)
	}
	if !m.FitForAlarms || m.Gate != GateMonthly {
		t.Errorf("not fit for alarms under %s: %v", m.Gate.Name, m.Reasons)
	}

	// By hand: sum each calendar month's valid days, scale to the month.
	type acc struct {
		n, days int
		y, yh   float64
	}
	months := map[string]*acc{}
	var keys []string
	for _, d := range DailyTable(meter, temps, Electricity, loc, from, end) {
		if !d.Valid() {
			continue
		}
		k := d.Date.Format("2006-01")
		if months[k] == nil {
			months[k] = &acc{days: time.Date(d.Date.Year(), d.Date.Month()+1, 0, 0, 0, 0, 0, loc).Day()}
			keys = append(keys, k)
		}
		a := months[k]
		a.n++
		a.y += d.Usage
		a.yh += m.Predict(d.Date, d.Temp)
	}
	var ys, rs []float64
	for _, k := range keys {
		a := months[k]
		if 2*a.n < a.days {
			continue
		}
		f := float64(a.days) / float64(a.n)
		ys = append(ys, a.y*f)
		rs = append(rs, (a.y-a.yh)*f)
	}
	var sy, ss, sr float64
	for i := range ys {
		sy += ys[i]
		ss += rs[i] * rs[i]
		sr += rs[i]
	}
	n, p := float64(len(ys)), float64(m.P)
	mean := sy / n
	cv, nmbe := math.Sqrt(ss/(n-p))/mean, sr/((n-p)*mean)
	if m.Monthly.N != len(ys) || m.Monthly.P != m.P || math.Abs(m.Monthly.CVRMSE-cv) > 1e-9 || math.Abs(m.Monthly.NMBE-nmbe) > 1e-9 {
		t.Errorf("monthly n %d p %d CV(RMSE) %.6f NMBE %.6f; by hand n %d CV(RMSE) %.6f NMBE %.6f",
			m.Monthly.N, m.Monthly.P, m.Monthly.CVRMSE, m.Monthly.NMBE, len(ys), cv, nmbe)
	}
}

// TestDailyGateMonthlyFails: a meter whose use moves with the month for a
// reason the weather does not explain fails the monthly gate, though each
// day is unremarkable.
func TestDailyGateMonthlyFails(t *testing.T) {
	loc := time.UTC
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
	var days []Day
	for d := from; d.Year() == 2024; d = d.AddDate(0, 0, 1) {
		usage := 100.0
		if d.Month()%2 == 0 {
			usage = 150 // a tenant who comes every other month
		}
		days = append(days, Day{Date: d, Usage: usage + float64(d.Day()%3), Coverage: 1, Temp: 60, TempN: 24})
	}
	m, err := FitDailyTable(days, loc, from, from.AddDate(1, 0, 0), DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.FitForAlarms || m.Monthly == nil || m.Monthly.N != 12 || !strings.Contains(strings.Join(m.Reasons, "; "), "calendar-month totals") {
		t.Errorf("fit %v, monthly %+v, reasons %v", m.FitForAlarms, m.Monthly, m.Reasons)
	}
}
