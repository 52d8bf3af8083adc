package baseline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Calendar is a building's own calendar of days that do not follow the
// week: public holidays, kept as a Sunday, and make-up working days (调休,
// a Saturday or Sunday worked in lieu of a holiday's bridge day), kept as a
// Wednesday, an ordinary working day. The models that know the day of the
// week (the hourly and time-of-week models' hours of the week, the
// day-of-week profile) fit and predict such a day as the day it is kept
// as; CalTRACK's degree-day models have no day of the week and ignore it.
// The dates are calendar dates in the model's zone. A nil Calendar is the
// plain week.
type Calendar struct {
	holidays, workdays []int32 // sorted yyyymmdd
}

// Kept-as days of the week, Monday = 0.
const (
	holidayAs = 6 // Sunday
	workdayAs = 2 // Wednesday
)

// NewCalendar is the calendar of these holidays and make-up working days;
// it is an error for a date to be both.
func NewCalendar(holidays, workdays []time.Time) (*Calendar, error) {
	c := &Calendar{holidays: dayKeys(holidays), workdays: dayKeys(workdays)}
	for _, d := range c.holidays {
		if _, found := slices.BinarySearch(c.workdays, d); found {
			return nil, fmt.Errorf("%s is both a holiday and a working day", keyDate(d))
		}
	}
	return c, nil
}

func dayKeys(ts []time.Time) []int32 {
	out := make([]int32, 0, len(ts))
	for _, t := range ts {
		y, m, d := t.Date()
		out = append(out, int32(y*10000+int(m)*100+d))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func keyDate(k int32) string {
	return fmt.Sprintf("%04d-%02d-%02d", k/10000, k/100%100, k%100)
}

// Empty reports whether the calendar has no day that differs from the week.
func (c *Calendar) Empty() bool { return c == nil || len(c.holidays)+len(c.workdays) == 0 }

// Equal reports whether both calendars have the same days; nil is the
// empty calendar.
func (c *Calendar) Equal(o *Calendar) bool {
	if c.Empty() || o.Empty() {
		return c.Empty() && o.Empty()
	}
	return slices.Equal(c.holidays, o.holidays) && slices.Equal(c.workdays, o.workdays)
}

// Holiday reports whether t's date (in t's zone) is a holiday.
func (c *Calendar) Holiday(t time.Time) bool {
	if c == nil || len(c.holidays) == 0 {
		return false
	}
	_, found := slices.BinarySearch(c.holidays, key(t))
	return found
}

// Workday reports whether t's date is a make-up working day.
func (c *Calendar) Workday(t time.Time) bool {
	if c == nil || len(c.workdays) == 0 {
		return false
	}
	_, found := slices.BinarySearch(c.workdays, key(t))
	return found
}

func key(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(y*10000 + int(m)*100 + d)
}

// Weekend reports whether t's day is kept as a weekend: a Saturday or
// Sunday that is not a make-up working day, or a holiday.
func (c *Calendar) Weekend(t time.Time) bool {
	return c.dayOfWeek(t) >= 5
}

// dayOfWeek numbers the days Monday (0) to Sunday (6), a holiday as a
// Sunday and a make-up working day as a Wednesday, in t's zone.
func (c *Calendar) dayOfWeek(t time.Time) int {
	if c != nil {
		switch {
		case c.Holiday(t):
			return holidayAs
		case c.Workday(t):
			return workdayAs
		}
	}
	return (int(t.Weekday()) + 6) % 7
}

// hourOfWeek numbers the hours of the week from Monday 00:00 (0) to Sunday
// 23:00 (167), as CalTRACK does, in t's own zone, a holiday's hours as a
// Sunday's and a make-up working day's as a Wednesday's.
func (c *Calendar) hourOfWeek(t time.Time) int {
	return c.dayOfWeek(t)*24 + t.Hour()
}

type calendarJSON struct {
	Holidays []string `json:"holidays,omitempty"`
	Workdays []string `json:"workdays,omitempty"`
}

// MarshalJSON writes the dates as YYYY-MM-DD.
func (c *Calendar) MarshalJSON() ([]byte, error) {
	var j calendarJSON
	for _, k := range c.holidays {
		j.Holidays = append(j.Holidays, keyDate(k))
	}
	for _, k := range c.workdays {
		j.Workdays = append(j.Workdays, keyDate(k))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Calendar) UnmarshalJSON(b []byte) error {
	var j calendarJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	parse := func(ss []string) ([]time.Time, error) {
		var out []time.Time
		for _, s := range ss {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return nil, fmt.Errorf("calendar date %q: %w", s, err)
			}
			out = append(out, t)
		}
		return out, nil
	}
	h, err := parse(j.Holidays)
	if err != nil {
		return err
	}
	w, err := parse(j.Workdays)
	if err != nil {
		return err
	}
	cal, err := NewCalendar(h, w)
	if err != nil {
		return err
	}
	*c = *cal
	return nil
}

// ParseDays reads a list of dates and inclusive ranges, each
// YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, as written in a config or on a
// command line (comma-separated there); a range is at most 366 days.
func ParseDays(items []string) ([]time.Time, error) {
	var out []time.Time
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		a, b, isRange := strings.Cut(it, "..")
		from, err := time.Parse(time.DateOnly, strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("%q: write a date, YYYY-MM-DD, or a range, YYYY-MM-DD..YYYY-MM-DD", it)
		}
		to := from
		if isRange {
			if to, err = time.Parse(time.DateOnly, strings.TrimSpace(b)); err != nil {
				return nil, fmt.Errorf("%q: write a date, YYYY-MM-DD, or a range, YYYY-MM-DD..YYYY-MM-DD", it)
			}
			if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
				return nil, fmt.Errorf("%q: a range runs forward, over at most 366 days", it)
			}
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			out = append(out, d)
		}
	}
	return out, nil
}
