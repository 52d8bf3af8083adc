package baseline

import (
	"math"
	"time"
)

// Hour is one hour of an hourly table, in the table's zone.
type Hour struct {
	Start time.Time
	Usage float64 // NaN when less than half the hour was read
	Temp  float64 // mean of the hour's temperature samples; NaN if none
}

// hourStart is the start of t's hour in loc (zones with half-hour offsets
// included).
func hourStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
}

// HourlyTable builds the hours of [from, to) from meter readings of an
// hour or less and temperatures of any frequency up to hourly. Readings of
// shorter intervals are summed into their hour, scaled when at least half
// of it is covered (as DailyTable does for days).
func HourlyTable(meter []Reading, temps []TempReading, fuel Fuel, loc *time.Location, from, to time.Time) []Hour {
	from = hourStart(from, loc)
	n := int(to.Sub(from) / time.Hour)
	if n <= 0 {
		return nil
	}
	hours := make([]Hour, n)
	usage := make([]float64, n)
	covered := make([]time.Duration, n)
	tsum := make([]float64, n)
	tn := make([]int, n)
	idx := func(t time.Time) int {
		k := int(t.Sub(from) / time.Hour)
		if t.Before(from) || k >= n {
			return -1
		}
		return k
	}
	for i, r := range meter {
		k := idx(r.Start)
		if k < 0 || fuel.missing(r.Usage) {
			continue
		}
		dur := time.Hour
		if i+1 < len(meter) {
			dur = min(time.Hour, meter[i+1].Start.Sub(r.Start))
		}
		usage[k] += r.Usage
		covered[k] += dur
	}
	for _, t := range temps {
		if k := idx(t.Time); k >= 0 && !math.IsNaN(t.Temp) {
			tsum[k] += t.Temp
			tn[k]++
		}
	}
	for k := range hours {
		hours[k] = Hour{Start: from.Add(time.Duration(k) * time.Hour).In(loc), Usage: math.NaN(), Temp: math.NaN()}
		if c := float64(covered[k]) / float64(time.Hour); c >= minDayCoverage {
			hours[k].Usage = usage[k] / min(1, c)
		}
		if tn[k] > 0 {
			hours[k].Temp = tsum[k] / float64(tn[k])
		}
	}
	return hours
}

// hourlySufficiency applies CalTRACK's baseline rules to an hourly table:
// 365 days, and 90 % of the hours with usage (and temperature, when the
// model uses it).
func hourlySufficiency(hours []Hour, needTemp bool) Sufficiency {
	s := Sufficiency{Days: len(hours) / 24}
	valid := 0
	for _, h := range hours {
		if !math.IsNaN(h.Usage) && (!needTemp || !math.IsNaN(h.Temp)) {
			valid++
		}
	}
	s.ValidDays = valid / 24
	if len(hours) > 0 {
		s.Coverage = float64(valid) / float64(len(hours))
	}
	switch {
	case s.Days < baselineDays:
		s.Problems = append(s.Problems, sprintf("baseline has %d days: CalTRACK wants 365 (2.2.1.1)", s.Days))
	case s.Days > baselineDays:
		s.Warnings = append(s.Warnings, sprintf("baseline has %d days: CalTRACK uses the 365 before the intervention (2.2.1.1)", s.Days))
	}
	if s.Coverage < minCoverage {
		s.Problems = append(s.Problems, sprintf("%.1f %% of the hours have data: CalTRACK wants 90 %% (2.2.1.2)", 100*s.Coverage))
	}
	s.Sufficient = len(s.Problems) == 0
	return s
}
