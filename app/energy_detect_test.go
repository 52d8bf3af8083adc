package app

import (
	"math"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/rules"
)

// TestDetectGate: a baseline that fails the Guideline 14 gate raises no
// alarm however far the meter is above it — except the water leak check,
// which needs no fit model.
func TestDetectGate(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	from := time.Date(2025, 11, 1, 0, 0, 0, 0, loc)
	split := from.AddDate(0, 0, 365)
	end := split.AddDate(0, 0, 7)
	var meter []baseline.Reading
	for h := range int(end.Sub(from).Hours()) {
		u := 10 + math.Sin(float64(h)*0.7)
		if l := from.Add(time.Duration(h) * time.Hour); l.Hour() < 6 {
			u = 0 // still nights
		}
		meter = append(meter, baseline.Reading{Start: from.Add(time.Duration(h) * time.Hour), Usage: u})
	}
	m, err := baseline.FitTOW(meter, baseline.Water, loc, from, split)
	if err != nil {
		t.Fatal(err)
	}
	// The last week: a leak of 5 an hour, night and day, and 3× the use.
	for i := range meter {
		if !meter[i].Start.Before(split) {
			meter[i].Usage = meter[i].Usage*3 + 5
		}
	}
	in := &energyInputs{fuel: baseline.Water, loc: loc, to: end, hours: baseline.HourlyTable(meter, nil, baseline.Water, loc, split, end)}
	residual := &rules.Rule{Name: "water_overuse", Kind: rules.KindEnergy, Energy: &rules.EnergySpec{Detector: rules.DetectResidual}}
	leak := &rules.Rule{Name: "water_leak", Kind: rules.KindEnergy, Energy: &rules.EnergySpec{Detector: rules.DetectLeak}}
	fit := &storedBaseline{Meter: "w", Model: m}
	if !m.FitForAlarms {
		t.Fatalf("the fit model fails the gate: %v", m.Reasons)
	}
	if st, as := detect(residual, fit, in); st != rules.EnergyAnomaly || len(as) == 0 || !(as[0].Excess > 0) {
		t.Errorf("fit model: %s %+v, want an anomaly with an excess", st, as)
	}
	unfit := *m
	unfit.FitForAlarms, unfit.Reasons = false, []string{"CV(RMSE) 45 % > 30 %"}
	if st, as := detect(residual, &storedBaseline{Meter: "w", Model: &unfit}, in); st != rules.EnergyUnfit || len(as) != 0 {
		t.Errorf("unfit model: %s %+v, want unfit and no anomaly", st, as)
	}
	if st, as := detect(residual, nil, in); st != rules.EnergyUnfit || len(as) != 0 {
		t.Errorf("no model: %s %+v, want unfit", st, as)
	}
	// The leak check needs no fit model, nor any model.
	for name, b := range map[string]*storedBaseline{"unfit": {Model: &unfit}, "none": nil} {
		st, as := detect(leak, b, in)
		if st != rules.EnergyAnomaly || len(as) == 0 || !(as[len(as)-1].Excess > 0) || math.IsNaN(as[len(as)-1].Excess) {
			t.Errorf("leak on %s model: %s %+v, want an anomaly with an excess", name, st, as)
		}
	}
}
