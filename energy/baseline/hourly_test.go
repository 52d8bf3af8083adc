package baseline

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
)

func TestHourlySample(t *testing.T) {
	meter, temps, loc, end := sample(t, "il-electricity-cdd-hdd-hourly.csv")
	from := end.AddDate(0, 0, -365)
	m, err := FitHourly(meter, temps, loc, from, end, HourlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hourly TOWT: n %d p %d R²adj %.4f RMSE %.4f CV(RMSE) %.2f %% NMBE %.4f %% fit for alarms %v %v",
		m.N, m.P, m.RSquaredAdj, m.RMSE, 100*m.CVRMSE, 100*m.NMBE, m.FitForAlarms, m.Reasons)
	tow, err := FitTOW(meter, Electricity, loc, from, end, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("time-of-week profile: n %d p %d R²adj %.4f CV(RMSE) %.2f %% NMBE %.4f %%", tow.N, tow.P, tow.RSquaredAdj, 100*tow.CVRMSE, 100*tow.NMBE)
	if m.N < 8000 || m.CVRMSE <= 0 || math.Abs(m.NMBE) > 0.01 {
		t.Errorf("unexpected fit: %+v", m.Stats)
	}
	// The model survives JSON and predicts the same after.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2016, 7, 12, 15, 0, 0, 0, loc)
	if a, b := m.Predict(at, 85), back.Predict(at, 85); a != b || math.IsNaN(a) {
		t.Errorf("predict %v, after JSON %v", a, b)
	}
}

func TestBinFeaturesSumToTemperature(t *testing.T) {
	ends := []float64{30, 45, 55, 65, 75, 90}
	for _, temp := range []float64{-10, 30, 44.5, 60, 90, 101} {
		var s float64
		for _, f := range binFeatures(nil, temp, ends) {
			s += f
		}
		if math.Abs(s-temp) > 1e-12 {
			t.Errorf("%g: features sum to %g", temp, s)
		}
	}
}

func TestFitBinsMergesSparseBins(t *testing.T) {
	var temps []float64
	for i := range 200 {
		temps = append(temps, 50+float64(i%20)) // 50..69: nothing below 45 or above 75
	}
	got := fitBins(temps, []float64{30, 45, 55, 65, 75, 90}, 20)
	if want := []float64{55, 65}; !slices.Equal(got, want) {
		t.Errorf("endpoints %v, want %v", got, want)
	}
}

func TestHourOfWeek(t *testing.T) {
	mon := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	var plain *Calendar
	if plain.hourOfWeek(mon) != 0 || plain.hourOfWeek(mon.Add(167*time.Hour)) != 167 || plain.hourOfWeek(mon.Add(25*time.Hour)) != 25 {
		t.Error("hour of week is not counted from Monday 00:00")
	}
}

func TestDailyModelJSONRoundTrip(t *testing.T) {
	hbp := 55.0
	m := &Model{Kind: KindDaily, Model: HDDOnly, TimeZone: "America/Chicago", Intercept: 10, BetaHDD: 2, HeatingBalancePoint: &hbp}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.Predict(time.Time{}, 45); got != 30 {
		t.Errorf("predict %v, want 10 + 2·10", got)
	}
	if back.CoolingBalancePoint != nil || back.Location().String() != "America/Chicago" {
		t.Errorf("decoded %+v", back)
	}
}
