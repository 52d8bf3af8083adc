package baseline

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseDaysAndCalendar(t *testing.T) {
	days, err := ParseDays([]string{"2026-01-01", " 2026-10-01..2026-10-07 ", ""})
	if err != nil || len(days) != 8 || days[7].Format(time.DateOnly) != "2026-10-07" {
		t.Fatalf("%v %v", days, err)
	}
	for _, bad := range []string{"2026-13-01", "2026-10-07..2026-10-01", "2026-01-01..2027-06-01", "1.10.2026", "2026-10-01..x"} {
		if _, err := ParseDays([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
	work := []time.Time{time.Date(2026, 9, 26, 0, 0, 0, 0, time.UTC)}
	cal, err := NewCalendar(days, work)
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		at                        time.Time
		holiday, workday, weekend bool
		dow                       int
	}{
		{time.Date(2026, 10, 1, 10, 0, 0, 0, loc), true, false, true, 6},   // a Thursday, National Day
		{time.Date(2026, 9, 26, 10, 0, 0, 0, loc), false, true, false, 2},  // a Saturday worked
		{time.Date(2026, 10, 8, 10, 0, 0, 0, loc), false, false, false, 3}, // a plain Thursday
		{time.Date(2026, 10, 10, 0, 0, 0, 0, loc), false, false, true, 5},  // a plain Saturday
	} {
		if cal.Holiday(c.at) != c.holiday || cal.Workday(c.at) != c.workday || cal.Weekend(c.at) != c.weekend || cal.dayOfWeek(c.at) != c.dow {
			t.Errorf("%s: holiday %v workday %v weekend %v day %d, want %v %v %v %d", c.at, cal.Holiday(c.at), cal.Workday(c.at), cal.Weekend(c.at), cal.dayOfWeek(c.at), c.holiday, c.workday, c.weekend, c.dow)
		}
	}
	if _, err := NewCalendar(days, days[:1]); err == nil || !strings.Contains(err.Error(), "2026-01-01") {
		t.Errorf("a date both a holiday and a working day: %v", err)
	}
	b, err := json.Marshal(cal)
	if err != nil {
		t.Fatal(err)
	}
	var back Calendar
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(cal) || !strings.Contains(string(b), `"workdays":["2026-09-26"]`) {
		t.Errorf("%s → %+v, %v", b, back, err)
	}
	var none *Calendar
	if !none.Equal(&Calendar{}) || none.Equal(cal) || !none.Empty() {
		t.Error("nil is the empty calendar")
	}
}

// office is a year of an office's hourly electricity from from: 10 kWh an
// hour in working hours (08–18) of working days, 2 otherwise, ±3 %; the
// holidays are days off, and the make-up working days are worked.
func office(from time.Time, days int, holiday, workday func(time.Time) bool) []Reading {
	rng := rand.New(rand.NewPCG(3, 5))
	var meter []Reading
	for h := range days * 24 {
		t := from.Add(time.Duration(h) * time.Hour)
		l := t.In(from.Location())
		working := l.Weekday() != time.Saturday && l.Weekday() != time.Sunday
		if holiday(l) {
			working = false
		}
		if workday(l) {
			working = true
		}
		u := 2.0
		if working && l.Hour() >= 8 && l.Hour() < 18 {
			u = 10
		}
		meter = append(meter, Reading{Start: t, Usage: u * (1 + 0.03*rng.NormFloat64())})
	}
	return meter
}

// TestCalendarModels: an office that closes for the National Day and
// Labour Day weeks and works a Saturday in lieu. Without its calendar, a
// time-of-week profile predicts office hours on the holidays and a closed
// office on the Saturday worked; with it, each is predicted as the day it
// is kept as — in the profile, in the hourly model and in the day-of-week
// fallback — and the fit is better for it.
func TestCalendarModels(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2025, 1, 6, 0, 0, 0, 0, loc) // a Monday
	to := from.AddDate(0, 0, 365)
	hol, err := ParseDays([]string{"2025-05-01..2025-05-05", "2025-10-01..2025-10-07"})
	if err != nil {
		t.Fatal(err)
	}
	work := []time.Time{time.Date(2025, 9, 28, 0, 0, 0, 0, time.UTC), time.Date(2025, 10, 11, 0, 0, 0, 0, time.UTC)} // a Sunday and a Saturday
	cal, err := NewCalendar(hol, work)
	if err != nil {
		t.Fatal(err)
	}
	meter := office(from, 365, func(t time.Time) bool { return cal.Holiday(t) }, func(t time.Time) bool { return cal.Workday(t) })
	var temps []TempReading
	for h := range 365 * 24 {
		at := from.Add(time.Duration(h) * time.Hour)
		temps = append(temps, TempReading{Time: at, Temp: 15 + 10*math.Sin(2*math.Pi*float64(h)/(365*24))})
	}
	holidayAt := time.Date(2025, 10, 2, 11, 0, 0, 0, loc) // a Thursday, closed
	workedAt := time.Date(2025, 10, 11, 11, 0, 0, 0, loc) // a Saturday, worked
	plain, err := FitTOW(meter, Electricity, loc, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := FitTOW(meter, Electricity, loc, from, to, cal)
	if err != nil {
		t.Fatal(err)
	}
	hourly, err := FitHourly(meter, temps, loc, from, to, HourlyOptions{TempUnit: Celsius, Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("time-of-week CV(RMSE) %.1f %% without the calendar, %.1f %% with it; hourly with it %.1f %%", 100*plain.CVRMSE, 100*kept.CVRMSE, 100*hourly.CVRMSE)
	if !(kept.CVRMSE < plain.CVRMSE*0.8) {
		t.Errorf("CV(RMSE) %.3f with the calendar, %.3f without: want it clearly better", kept.CVRMSE, plain.CVRMSE)
	}
	if p := plain.Predict(holidayAt, 0); math.Abs(p-10) > 1 {
		t.Errorf("without the calendar the holiday's 11:00 is a Thursday's, %.2f: want about 10", p)
	}
	for name, m := range map[string]*Model{"tow": kept, "hourly": hourly} {
		if p := m.Predict(holidayAt, 20); math.Abs(p-2) > 0.5 {
			t.Errorf("%s: holiday 11:00 predicted %.2f, want a Sunday's 2", name, p)
		}
		if p := m.Predict(workedAt, 20); math.Abs(p-10) > 1 {
			t.Errorf("%s: Saturday worked, 11:00 predicted %.2f, want a working day's 10", name, p)
		}
	}
	// The model carries its calendar through JSON: the daemon stores it.
	b, err := json.Marshal(kept)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil || back.Predict(holidayAt, 0) != kept.Predict(holidayAt, 0) || !back.Calendar.Equal(cal) {
		t.Errorf("decoded model: %v, predicts %v for the holiday", err, back.Predict(holidayAt, 0))
	}

	// The day-of-week fallback keeps the days too.
	plain.FitForAlarms = false
	plain.Gate = GateHourly
	daily, err := FitDailyFallback(plain, meter, nil, loc, from, to, DailyOptions{Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 10, 2, 0, 0, 0, 0, loc)
	if !strings.HasPrefix(daily.Model, DayOfWeek) || math.Abs(daily.Predict(day, math.NaN())-24*2) > 3 {
		t.Errorf("fallback %s predicts %.1f for the holiday, want a Sunday's 48", daily.Model, daily.Predict(day, math.NaN()))
	}
}

// FuzzParseDays: any text either fails with an error naming it or gives
// days, each one of the text's dates or within its range.
func FuzzParseDays(f *testing.F) {
	for _, s := range []string{"2026-01-01", "2026-10-01..2026-10-07", "2026-10-07..2026-10-01", "x..y", "2024-02-29", "2026-01-01..2027-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		days, err := ParseDays([]string{s})
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(strings.TrimSpace(s))) {
				t.Errorf("%q: %v does not name it", s, err)
			}
			return
		}
		if len(days) > 367 {
			t.Errorf("%q: %d days", s, len(days))
		}
		for i := 1; i < len(days); i++ {
			if days[i].Sub(days[i-1]) != 24*time.Hour {
				t.Errorf("%q: %s then %s", s, days[i-1], days[i])
			}
		}
		if _, err := NewCalendar(days, nil); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	})
}
