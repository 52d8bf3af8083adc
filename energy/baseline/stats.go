package baseline

import (
	"fmt"
	"math"
)

var sprintf = fmt.Sprintf

// Stats are a model's fit statistics on its training data, in the ASHRAE
// Guideline 14 degrees-of-freedom forms, p counting the intercept.
type Stats struct {
	N           int     `json:"n"`             // observations used
	P           int     `json:"p"`             // parameters fitted
	MeanUsage   float64 `json:"mean_usage"`    // ȳ
	RSquaredAdj float64 `json:"r_squared_adj"` // 1 − (SSres/(n−p)) / (SStot/(n−1))
	RMSE        float64 `json:"rmse"`          // √(SSres/(n−p)), meter units per interval
	CVRMSE      float64 `json:"cvrmse"`        // RMSE / ȳ, a fraction
	NMBE        float64 `json:"nmbe"`          // Σ(y−ŷ) / ((n−p)·ȳ), a fraction
}

// fitStats computes Stats from observed and predicted values.
func fitStats(y, yhat []float64, p int) Stats {
	n := len(y)
	s := Stats{N: n, P: p}
	if n == 0 {
		return s
	}
	var sum float64
	for _, v := range y {
		sum += v
	}
	mean := sum / float64(n)
	var ssRes, ssTot, bias float64
	for i, v := range y {
		r := v - yhat[i]
		ssRes += r * r
		bias += r
		ssTot += (v - mean) * (v - mean)
	}
	s.MeanUsage = mean
	dof := float64(n - p)
	if dof <= 0 { // left at zero: JSON holds no NaN, and the gate refuses
		return s
	}
	s.RMSE = math.Sqrt(ssRes / dof)
	if mean != 0 {
		s.CVRMSE = s.RMSE / mean
		s.NMBE = bias / (dof * mean)
	}
	if ssTot > 0 {
		s.RSquaredAdj = 1 - (ssRes/dof)/(ssTot/float64(n-1))
	}
	if p == 1 {
		s.RSquaredAdj = 0 // an intercept explains nothing (as eemeter reports it)
	}
	return s
}

// Gate is an ASHRAE Guideline 14 calibration limit.
type Gate struct {
	Name      string  `json:"name"`
	MaxCVRMSE float64 `json:"max_cvrmse"` // a fraction
	MaxNMBE   float64 `json:"max_abs_nmbe"`
}

// The Guideline 14 limits. Guideline 14 states limits for monthly and
// hourly data only. A daily model is held to the monthly limits on its
// calendar-month totals (Model.Monthly), which is what the monthly criterion
// is about: day-to-day scatter that cancels within a month does not fail it,
// a model that is wrong by the month does.
var (
	GateHourly  = Gate{Name: "ASHRAE Guideline 14 hourly", MaxCVRMSE: 0.30, MaxNMBE: 0.10}
	GateMonthly = Gate{Name: "ASHRAE Guideline 14 monthly, on calendar-month totals", MaxCVRMSE: 0.15, MaxNMBE: 0.05}
)

// check returns why s fails g, or nothing.
func (g Gate) check(s Stats) []string {
	var why []string
	switch {
	case s.N <= s.P || s.MeanUsage <= 0:
		why = append(why, "CV(RMSE) undefined (too few observations or zero mean usage)")
	case s.CVRMSE > g.MaxCVRMSE:
		why = append(why, sprintf("CV(RMSE) %.1f %% > %.0f %% (%s)", 100*s.CVRMSE, 100*g.MaxCVRMSE, g.Name))
	}
	if math.Abs(s.NMBE) > g.MaxNMBE {
		why = append(why, sprintf("|NMBE| %.2f %% > %.0f %% (%s)", 100*math.Abs(s.NMBE), 100*g.MaxNMBE, g.Name))
	}
	return why
}
