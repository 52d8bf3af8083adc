package baseline

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Day is one calendar day of a daily table: the usage and the mean outdoor
// temperature. A day the model may not use has NaN in Usage or Temp.
type Day struct {
	Date time.Time // midnight, in the table's zone
	// Usage is the day's total in the meter's unit. When some intervals
	// are missing but at least half of the day is covered, it is the
	// covered usage scaled to the whole day (CalTRACK 2.2.2); Coverage says
	// how much was measured.
	Usage float64
	// Coverage is the fraction of the day covered by readings present;
	// above 1 when the readings of another day fell into it (the meter's
	// days are not the table's: a wrong time zone).
	Coverage float64
	Temp     float64 // mean of the day's hourly temperatures
	TempN    int     // how many temperature samples the mean has
}

// Valid reports whether the day has both usage and temperature.
func (d Day) Valid() bool { return !math.IsNaN(d.Usage) && !math.IsNaN(d.Temp) }

// minDayCoverage is the share of a day's readings (and of its hourly
// temperatures) that must be present for the day to count (CalTRACK
// 2.2.2.1 and 2.2.3.3).
const minDayCoverage = 0.5

// DailyTable builds the calendar days of loc in [from, to) from meter
// readings of any interval up to a day and hourly (or finer) temperatures.
// A reading covers from its start to the next one's; the last covers as
// long as the one before it. A reading is counted in the day of its start.
func DailyTable(meter []Reading, temps []TempReading, fuel Fuel, loc *time.Location, from, to time.Time) []Day {
	from = midnight(from, loc)
	var days []Day
	index := map[time.Time]int{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		index[d] = len(days)
		days = append(days, Day{Date: d})
	}
	covered := make([]time.Duration, len(days))
	usage := make([]float64, len(days))
	for i, r := range meter {
		var dur time.Duration
		switch {
		case i+1 < len(meter):
			dur = meter[i+1].Start.Sub(r.Start)
		case i > 0:
			dur = r.Start.Sub(meter[i-1].Start)
		default:
			dur = 24 * time.Hour
		}
		if dur > 24*time.Hour+time.Hour { // a longer gap is not one reading's span
			dur = 24 * time.Hour
		}
		k, ok := index[midnight(r.Start, loc)]
		if !ok || fuel.missing(r.Usage) {
			continue
		}
		covered[k] += dur
		usage[k] += r.Usage
	}
	tempSum := make([]float64, len(days))
	for _, t := range temps {
		if math.IsNaN(t.Temp) {
			continue
		}
		if k, ok := index[midnight(t.Time, loc)]; ok {
			tempSum[k] += t.Temp
			days[k].TempN++
		}
	}
	for k := range days {
		length := days[k].Date.AddDate(0, 0, 1).Sub(days[k].Date)
		days[k].Coverage = float64(covered[k]) / float64(length)
		days[k].Usage = math.NaN()
		if days[k].Coverage >= minDayCoverage {
			days[k].Usage = usage[k] / min(1, days[k].Coverage)
		}
		days[k].Temp = math.NaN()
		if float64(days[k].TempN) >= minDayCoverage*length.Hours() {
			days[k].Temp = tempSum[k] / float64(days[k].TempN)
		}
	}
	return days
}

// midnight is the start of t's calendar day in loc.
func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Sufficiency is CalTRACK's verdict on whether a baseline has enough data
// (CalTRACK 2.1 and 2.2).
type Sufficiency struct {
	Sufficient bool     `json:"sufficient"`
	Days       int      `json:"days"`       // calendar days in the window
	ValidDays  int      `json:"valid_days"` // days with usage and temperature
	Coverage   float64  `json:"coverage"`   // ValidDays / Days
	Problems   []string `json:"problems,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// CalTRACK's data sufficiency limits for a baseline.
const (
	baselineDays    = 365
	minCoverage     = 0.9 // CalTRACK 2.2.1.2: at most 37 of 365 days missing
	extremeIQRRange = 3   // CalTRACK 2.3.6: flag values above median + 3 IQR
)

// CheckSufficiency applies CalTRACK's sufficiency rules to a daily table: a
// 365-day baseline (shorter is a problem, longer a warning), at least 90 %
// of the days with usage and temperature, no negative usage (net metering),
// and a warning for extreme values.
func CheckSufficiency(days []Day) Sufficiency {
	s := Sufficiency{Days: len(days)}
	var vals []float64
	negative, overfull := 0, 0
	for _, d := range days {
		if d.Coverage > 1.01 {
			overfull++
		}
		if d.Valid() {
			s.ValidDays++
			vals = append(vals, d.Usage)
			if d.Usage < 0 {
				negative++
			}
		}
	}
	if s.Days > 0 {
		s.Coverage = float64(s.ValidDays) / float64(s.Days)
	}
	switch {
	case s.Days < baselineDays:
		s.Problems = append(s.Problems, sprintf("baseline has %d days: CalTRACK wants 365 (2.2.1.1)", s.Days))
	case s.Days > baselineDays:
		s.Warnings = append(s.Warnings, sprintf("baseline has %d days: CalTRACK uses the 365 before the intervention (2.2.1.1)", s.Days))
	}
	if s.Coverage < minCoverage {
		s.Problems = append(s.Problems, sprintf("%d of %d days have usage and temperature (%.1f %%): CalTRACK wants 90 %% (2.2.1.2)", s.ValidDays, s.Days, 100*s.Coverage))
	}
	if overfull > 0 {
		s.Problems = append(s.Problems, sprintf("%d days hold more than a day of readings: the meter's days are not calendar days of this time zone (give the meter's zone, e.g. --tz America/Chicago)", overfull))
	}
	if negative > 0 {
		s.Problems = append(s.Problems, sprintf("%d days of negative usage, a sign of net metering (2.3.5)", negative))
	}
	if len(vals) >= 4 {
		med, q1, q3 := quantile(vals, 0.5), quantile(vals, 0.25), quantile(vals, 0.75)
		limit := med + extremeIQRRange*(q3-q1)
		n := 0
		for _, v := range vals {
			if v > limit {
				n++
			}
		}
		if n > 0 {
			s.Warnings = append(s.Warnings, sprintf("%d days above median + 3 IQR (%.4g): check them (2.3.6)", n, limit))
		}
	}
	s.Sufficient = len(s.Problems) == 0
	return s
}

// quantile is the linear-interpolation quantile (as pandas computes it).
func quantile(vals []float64, q float64) float64 {
	v := slices.Clone(vals)
	sort.Float64s(v)
	pos := q * float64(len(v)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(v) {
		return v[lo]
	}
	return v[lo] + (pos-float64(lo))*(v[lo+1]-v[lo])
}
