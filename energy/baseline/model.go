package baseline

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind is the family of a model.
type Kind string

// The model kinds.
const (
	KindDaily  Kind = "daily"  // CalTRACK daily degree-day model
	KindHourly Kind = "hourly" // CalTRACK time-of-week-and-temperature
	KindTOW    Kind = "tow"    // time-of-week profile, no temperature
)

// The daily model types, named as the CLI prints them.
const (
	InterceptOnly = "intercept_only"
	HDDOnly       = "hdd_only"
	CDDOnly       = "cdd_only"
	HDDCDD        = "hdd_cdd"
	TOWT          = "towt"
	TOWProfile    = "tow"
)

// Model is a fitted baseline with its training window, how it was chosen,
// its fit statistics and whether it may raise alarms. It round-trips through
// JSON; Predict works on a decoded one.
type Model struct {
	Kind     Kind     `json:"kind"`
	Model    string   `json:"model"`
	Fuel     Fuel     `json:"fuel"`
	TempUnit TempUnit `json:"temperature_unit,omitempty"`
	TimeZone string   `json:"time_zone"`
	// TrainingFrom and TrainingTo bound the training window [from, to).
	TrainingFrom time.Time `json:"training_from"`
	TrainingTo   time.Time `json:"training_to"`

	// Daily model: usage per day = Intercept + BetaHDD·HDD + BetaCDD·CDD,
	// degree days from the day's mean temperature and the balance points
	// (in TempUnit; null when the term is not in the model).
	Intercept           float64  `json:"intercept"`
	BetaHDD             float64  `json:"beta_hdd"`
	BetaCDD             float64  `json:"beta_cdd"`
	HeatingBalancePoint *float64 `json:"heating_balance_point"`
	CoolingBalancePoint *float64 `json:"cooling_balance_point"`

	// Stats are the fit statistics at the model's resolution: days for a
	// daily model, hours for the others.
	Stats
	// Monthly, for a daily model, are the statistics of its calendar-month
	// totals (actual against predicted, over the valid days), on which the
	// Guideline 14 monthly gate is applied; n counts the months.
	Monthly *Stats `json:"monthly,omitempty"`
	// Selection says how the model was chosen.
	Selection   string       `json:"selection"`
	Sufficiency *Sufficiency `json:"sufficiency,omitempty"`
	Gate        Gate         `json:"gate"`
	// FitForAlarms is false when the data are insufficient or the fit
	// fails the gate; Reasons says why. Such a model is reported, never
	// alarmed on.
	FitForAlarms bool     `json:"fit_for_alarms"`
	Reasons      []string `json:"reasons,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`

	Hourly *HourlyParams `json:"hourly,omitempty"`
	// Profile is the time-of-week model: the mean usage of each hour of
	// the week, Monday 00:00 first.
	Profile []float64 `json:"profile,omitempty"`
	// DayProfile is the intercept of each day of the week, Monday first, of
	// a day-of-week daily model (DayOfWeek; Intercept is 0).
	DayProfile []float64 `json:"day_profile,omitempty"`
	// Fallback, on a daily model fitted in place of an hourly or
	// time-of-week one, is the model it replaces and why (FitDailyFallback).
	Fallback *Rejected `json:"fallback_for,omitempty"`
	// Calendar is the building's holidays and make-up working days, which
	// the hour-of-week and day-of-week terms fit and predict as the day
	// they are kept as (a Sunday, a Wednesday); nil for the plain week.
	Calendar *Calendar `json:"calendar,omitempty"`

	loc *time.Location
}

// UnmarshalJSON decodes a model and resolves its time zone.
func (m *Model) UnmarshalJSON(b []byte) error {
	type plain Model
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return fmt.Errorf("model time_zone %q: %w", p.TimeZone, err)
	}
	*m = Model(p)
	m.loc = loc
	return nil
}

// Location is the zone whose calendar days and hours of the week the model
// uses.
func (m *Model) Location() *time.Location {
	if m.loc == nil {
		return time.UTC
	}
	return m.loc
}

// Predict returns the expected usage: for a daily model, of the day that t
// falls in given that day's mean temperature (and, for a day-of-week
// profile, its day of the week); for an hourly model, of the hour starting
// at t given that hour's temperature; for a time-of-week profile, of the
// hour at t (temp is ignored). It is NaN when the model
// cannot say (a missing temperature).
func (m *Model) Predict(t time.Time, temp float64) float64 {
	switch m.Kind {
	case KindDaily:
		y := m.predictDaily(temp)
		if strings.HasPrefix(m.Model, DayOfWeek) {
			if len(m.DayProfile) != 7 {
				return math.NaN()
			}
			y += m.DayProfile[m.Calendar.dayOfWeek(t.In(m.Location()))] // in place of the intercept, 0
		}
		return y
	case KindHourly:
		if m.Hourly == nil {
			return math.NaN()
		}
		return m.Hourly.predict(t.In(m.Location()), temp, m.Calendar)
	case KindTOW:
		if len(m.Profile) != hoursPerWeek {
			return math.NaN()
		}
		return m.Profile[m.Calendar.hourOfWeek(t.In(m.Location()))]
	}
	return math.NaN()
}

func (m *Model) predictDaily(temp float64) float64 {
	y := m.Intercept
	if m.HeatingBalancePoint != nil {
		y += m.BetaHDD * math.Max(0, *m.HeatingBalancePoint-temp)
	}
	if m.CoolingBalancePoint != nil {
		y += m.BetaCDD * math.Max(0, temp-*m.CoolingBalancePoint)
	}
	return y
}

// HeatingExpected reports whether a daily model expects heating load at
// this daily mean temperature: false for a model without a heating term.
func (m *Model) HeatingExpected(temp float64) bool {
	return m.HeatingBalancePoint != nil && m.BetaHDD > 0 && temp < *m.HeatingBalancePoint
}

// gate sets FitForAlarms and Reasons from the sufficiency and the gate
// applied to s.
func (m *Model) gate(g Gate, s Stats) {
	m.Gate = g
	if m.Sufficiency != nil && !m.Sufficiency.Sufficient {
		m.Reasons = append(m.Reasons, m.Sufficiency.Problems...)
	}
	m.Reasons = append(m.Reasons, g.check(s)...)
	m.FitForAlarms = len(m.Reasons) == 0
}

// hoursPerWeek is the number of time-of-week bins.
const hoursPerWeek = 168
