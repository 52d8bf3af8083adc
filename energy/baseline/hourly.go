package baseline

import (
	"math"
	"slices"
	"time"
)

// HourlyOptions tune the hourly model; the zero value is CalTRACK 2.0.
type HourlyOptions struct {
	Fuel     Fuel
	TempUnit TempUnit // default F
	// BinEndpoints are the candidate temperature bin edges; default 30, 45,
	// 55, 65, 75, 90 °F (converted for °C).
	BinEndpoints []float64
	MinBinHours  int     // a bin with fewer hours is merged; default 20
	Occupancy    float64 // share of under-predicted hours that marks an hour of week occupied; default 0.65
	// Calendar maps holidays and make-up working days to the day of the
	// week they are kept as; nil for the plain week.
	Calendar *Calendar
}

func (o HourlyOptions) withDefaults() HourlyOptions {
	if o.Fuel == "" {
		o.Fuel = Electricity
	}
	if o.TempUnit == "" {
		o.TempUnit = Fahrenheit
	}
	if o.BinEndpoints == nil {
		for _, f := range []float64{30, 45, 55, 65, 75, 90} {
			o.BinEndpoints = append(o.BinEndpoints, FromFahrenheit(f, o.TempUnit))
		}
	}
	if o.MinBinHours == 0 {
		o.MinBinHours = 20
	}
	if o.Occupancy == 0 {
		o.Occupancy = 0.65
	}
	return o
}

// HourlyParams are the twelve monthly models of the CalTRACK hourly method.
type HourlyParams struct {
	Segments []Segment `json:"segments"`
}

// Segment is the model of one calendar month, fitted on that month at
// weight 1 and its two neighbours at weight 0.5 (CalTRACK 3.6).
type Segment struct {
	Month        int       `json:"month"`
	BinEndpoints []float64 `json:"bin_endpoints"`
	Occupied     []bool    `json:"occupied"` // per hour of week
	TOW          []float64 `json:"tow"`      // per hour of week
	// Unfitted lists hours of week with no training data; they predict NaN.
	Unfitted      []int     `json:"unfitted,omitempty"`
	BinOccupied   []float64 `json:"bin_occupied"`
	BinUnoccupied []float64 `json:"bin_unoccupied"`
}

// binFeatures writes the piecewise-linear temperature features of temp for
// the endpoints: each bin holds the part of temp within it, so that they
// sum to temp (CalTRACK 3.7.2).
func binFeatures(dst []float64, temp float64, ends []float64) []float64 {
	dst = dst[:0]
	if len(ends) == 0 {
		return append(dst, temp)
	}
	dst = append(dst, math.Min(temp, ends[0]))
	for i := 1; i < len(ends); i++ {
		dst = append(dst, math.Max(0, math.Min(temp, ends[i])-ends[i-1]))
	}
	return append(dst, math.Max(0, temp-ends[len(ends)-1]))
}

// fitBins merges temperature bins with fewer than minHours hours, from the
// outside in (CalTRACK 3.7.1), over bins closed on the right.
func fitBins(temps []float64, ends []float64, minHours int) []float64 {
	ends = slices.Clone(ends)
	slices.Sort(ends)
	for len(ends) > 0 {
		counts := make([]int, len(ends)+1)
		for _, t := range temps {
			i, _ := slices.BinarySearch(ends, t) // t ≤ ends[i]: bin i
			counts[i]++
		}
		drop := map[float64]bool{}
		if counts[0] < minHours {
			drop[ends[0]] = true
		}
		if counts[len(counts)-1] < minHours {
			drop[ends[len(ends)-1]] = true
		}
		if len(drop) == 0 {
			for i := 1; i < len(counts)-1; i++ {
				if counts[i] < minHours {
					drop[ends[i]] = true
				}
			}
		}
		if len(drop) == 0 {
			break
		}
		ends = slices.DeleteFunc(ends, func(e float64) bool { return drop[e] })
	}
	return ends
}

// segmentWeight is the weight of month m in the model of segment month s.
func segmentWeight(s, m time.Month) float64 {
	d := (int(m) - int(s) + 12) % 12
	switch d {
	case 0:
		return 1
	case 1, 11:
		return 0.5
	}
	return 0
}

// FitHourly fits the CalTRACK hourly time-of-week-and-temperature model on
// the hours of [from, to) in loc and checks the Guideline 14 hourly gate.
func FitHourly(meter []Reading, temps []TempReading, loc *time.Location, from, to time.Time, opts HourlyOptions) (*Model, error) {
	o := opts.withDefaults()
	return FitHourlyTable(HourlyTable(meter, temps, o.Fuel, loc, from, to), loc, from, to, o)
}

// FitHourlyTable is FitHourly over an hourly table already built.
func FitHourlyTable(hours []Hour, loc *time.Location, from, to time.Time, opts HourlyOptions) (*Model, error) {
	o := opts.withDefaults()
	var obs []Hour
	for _, h := range hours {
		if !math.IsNaN(h.Usage) && !math.IsNaN(h.Temp) {
			obs = append(obs, h)
		}
	}
	if len(obs) == 0 {
		return nil, ErrNoData
	}
	suff := hourlySufficiency(hours, true)
	params := &HourlyParams{}
	maxP := 0
	for s := time.January; s <= time.December; s++ {
		seg, p := fitSegment(obs, s, o)
		params.Segments = append(params.Segments, seg)
		maxP = max(maxP, p)
	}
	m := &Model{
		Kind: KindHourly, Model: TOWT, Fuel: o.Fuel, TempUnit: o.TempUnit,
		TimeZone: loc.String(), TrainingFrom: hourStart(from, loc), TrainingTo: to,
		Sufficiency: &suff, Warnings: suff.Warnings, Hourly: params, loc: loc,
		Calendar: o.Calendar,
	}
	y := make([]float64, 0, len(obs))
	yhat := make([]float64, 0, len(obs))
	for _, h := range obs {
		if v := params.predict(h.Start, h.Temp, o.Calendar); !math.IsNaN(v) {
			y = append(y, h.Usage)
			yhat = append(yhat, v)
		}
	}
	m.Stats = fitStats(y, yhat, maxP)
	m.Selection = sprintf("CalTRACK hourly: 12 monthly models (month weight 1, neighbours 0.5), 168 hour-of-week terms, temperature bins from %v merged below %d hours, occupied where > %.0f %% of hours are under-predicted by a 50/65 °F degree-hour model; p = %d, the largest segment's", o.BinEndpoints, o.MinBinHours, 100*o.Occupancy, maxP)
	m.gate(GateHourly, m.Stats)
	return m, nil
}

// fitSegment fits the model of month s; p is its number of fitted
// parameters.
func fitSegment(obs []Hour, s time.Month, o HourlyOptions) (Segment, int) {
	seg := Segment{Month: int(s)}
	var rows []int
	var w, segTemps []float64
	for i, h := range obs {
		if wt := segmentWeight(s, h.Start.Month()); wt > 0 {
			rows = append(rows, i)
			w = append(w, wt)
			segTemps = append(segTemps, h.Temp)
		}
	}
	seg.Occupied = occupancy(obs, rows, w, o)
	seg.BinEndpoints = fitBins(segTemps, o.BinEndpoints, o.MinBinHours)
	nb := len(seg.BinEndpoints) + 1
	p := hoursPerWeek + 2*nb
	ne := newNormal(p)
	idx := make([]int, 0, nb+1)
	vals := make([]float64, 0, nb+1)
	var feat []float64
	for k, i := range rows {
		h := obs[i]
		tow := o.Calendar.hourOfWeek(h.Start)
		off := hoursPerWeek
		if !seg.Occupied[tow] {
			off += nb
		}
		idx, vals = append(idx[:0], tow), append(vals[:0], 1)
		feat = binFeatures(feat, h.Temp, seg.BinEndpoints)
		for j, f := range feat {
			if f != 0 {
				idx, vals = append(idx, off+j), append(vals, f)
			}
		}
		ne.addSparse(idx, vals, h.Usage, w[k])
	}
	beta, dropped := ne.solve()
	seg.TOW = beta[:hoursPerWeek]
	seg.BinOccupied = beta[hoursPerWeek : hoursPerWeek+nb]
	seg.BinUnoccupied = beta[hoursPerWeek+nb:]
	fitted := 0
	for i, d := range dropped {
		if !d {
			fitted++
		} else if i < hoursPerWeek {
			seg.Unfitted = append(seg.Unfitted, i)
		}
	}
	return seg, fitted
}

// occupancy marks the hours of the week in which more than o.Occupancy of
// the segment's hours lie above a weighted fit of usage on CDD(65 °F) and
// HDD(50 °F) degree hours (CalTRACK 3.8).
func occupancy(obs []Hour, rows []int, w []float64, o HourlyOptions) []bool {
	hb, cb := FromFahrenheit(50, o.TempUnit), FromFahrenheit(65, o.TempUnit)
	ne := newNormal(3)
	for k, i := range rows {
		t := obs[i].Temp
		ne.addSparse([]int{0, 1, 2}, []float64{1, math.Max(0, t-cb), math.Max(0, hb-t)}, obs[i].Usage, w[k])
	}
	b, _ := ne.solve()
	var above, total [hoursPerWeek]int
	for _, i := range rows {
		t := obs[i].Temp
		pred := b[0] + b[1]*math.Max(0, t-cb) + b[2]*math.Max(0, hb-t)
		tow := o.Calendar.hourOfWeek(obs[i].Start)
		total[tow]++
		if obs[i].Usage-pred > 0 {
			above[tow]++
		}
	}
	occ := make([]bool, hoursPerWeek)
	for t := range occ {
		occ[t] = total[t] > 0 && float64(above[t])/float64(total[t]) > o.Occupancy
	}
	return occ
}

// predict is the usage of the hour starting at t (in the model's zone).
func (p *HourlyParams) predict(t time.Time, temp float64, cal *Calendar) float64 {
	if math.IsNaN(temp) || len(p.Segments) != 12 {
		return math.NaN()
	}
	seg := &p.Segments[t.Month()-1]
	tow := cal.hourOfWeek(t)
	if slices.Contains(seg.Unfitted, tow) {
		return math.NaN()
	}
	coef := seg.BinOccupied
	if !seg.Occupied[tow] {
		coef = seg.BinUnoccupied
	}
	var buf [8]float64
	y := seg.TOW[tow]
	for j, f := range binFeatures(buf[:0], temp, seg.BinEndpoints) {
		y += coef[j] * f
	}
	return y
}
