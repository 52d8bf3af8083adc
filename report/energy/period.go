package energy

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// PeriodKind is how a period was named.
type PeriodKind string

// The kinds of period.
const (
	Month   PeriodKind = "month"
	Week    PeriodKind = "week"
	Quarter PeriodKind = "quarter"
	Year    PeriodKind = "year"
	Range   PeriodKind = "range"
)

// Period is the span a report covers, [From, To), in local calendar terms.
type Period struct {
	Kind PeriodKind
	// Name is as written: 2026-11, 2026-W47, 2026-Q4, 2026, or the range.
	Name     string
	From, To time.Time
}

var (
	reMonth   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	reWeek    = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
	reQuarter = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
	reYear    = regexp.MustCompile(`^(\d{4})$`)
)

// ParsePeriod reads a month (2026-11), an ISO week (2026-W47), a quarter
// (2026-Q4) or a year (2026) in loc.
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	atoi := func(x string) int { v, _ := strconv.Atoi(x); return v }
	switch {
	case reMonth.MatchString(s):
		m := reMonth.FindStringSubmatch(s)
		mo := atoi(m[2])
		if mo < 1 || mo > 12 {
			break
		}
		from := time.Date(atoi(m[1]), time.Month(mo), 1, 0, 0, 0, 0, loc)
		return Period{Month, s, from, from.AddDate(0, 1, 0)}, nil
	case reWeek.MatchString(s):
		m := reWeek.FindStringSubmatch(s)
		y, w := atoi(m[1]), atoi(m[2])
		from := isoWeekStart(y, w, loc)
		if y2, w2 := from.ISOWeek(); y2 != y || w2 != w {
			return Period{}, fmt.Errorf("period %q: %d has no week %d", s, y, w)
		}
		return Period{Week, s, from, from.AddDate(0, 0, 7)}, nil
	case reQuarter.MatchString(s):
		m := reQuarter.FindStringSubmatch(s)
		from := time.Date(atoi(m[1]), time.Month(3*(atoi(m[2])-1)+1), 1, 0, 0, 0, 0, loc)
		return Period{Quarter, s, from, from.AddDate(0, 3, 0)}, nil
	case reYear.MatchString(s):
		from := time.Date(atoi(s), 1, 1, 0, 0, 0, 0, loc)
		return Period{Year, s, from, from.AddDate(1, 0, 0)}, nil
	}
	return Period{}, fmt.Errorf("period %q: write a month (2026-11), an ISO week (2026-W47), a quarter (2026-Q4) or a year (2026), or use --from and --to", s)
}

// NewRange is the period [from, to).
func NewRange(from, to time.Time) (Period, error) {
	if !to.After(from) {
		return Period{}, fmt.Errorf("period: --to %s must be after --from %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	return Period{Range, from.Format(time.DateOnly) + " – " + to.Add(-time.Nanosecond).Format(time.DateOnly), from, to}, nil
}

// isoWeekStart is the Monday of ISO week w of year y: week 1 holds 4 January.
func isoWeekStart(y, w int, loc *time.Location) time.Time {
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, loc)
	mon := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	return mon.AddDate(0, 0, 7*(w-1))
}

// Previous is the period before p, of the same kind and length in calendar
// terms (the month before, the week before, ...).
func (p Period) Previous() Period {
	q := p
	switch p.Kind {
	case Month:
		q.From, q.To = p.From.AddDate(0, -1, 0), p.From
		q.Name = q.From.Format("2006-01")
	case Week:
		q.From, q.To = p.From.AddDate(0, 0, -7), p.From
		y, w := q.From.ISOWeek()
		q.Name = fmt.Sprintf("%d-W%02d", y, w)
	case Quarter:
		q.From, q.To = p.From.AddDate(0, -3, 0), p.From
		q.Name = fmt.Sprintf("%d-Q%d", q.From.Year(), (int(q.From.Month())-1)/3+1)
	case Year:
		q.From, q.To = p.From.AddDate(-1, 0, 0), p.From
		q.Name = strconv.Itoa(q.From.Year())
	default:
		days := int(p.To.Sub(p.From).Hours()/24 + 0.5)
		q.From, q.To = p.From.AddDate(0, 0, -days), p.From
		q.Name = q.From.Format(time.DateOnly) + " – " + q.To.Add(-time.Nanosecond).Format(time.DateOnly)
	}
	return q
}

// LastYear is the same period a year earlier (for a week: the same ISO
// week, so that weekdays line up).
func (p Period) LastYear() Period {
	q := p
	switch p.Kind {
	case Week:
		y, w := p.From.ISOWeek()
		q.From = isoWeekStart(y-1, w, p.From.Location())
		if y2, w2 := q.From.ISOWeek(); y2 != y-1 || w2 != w { // week 53
			q.From = isoWeekStart(y-1, w-1, p.From.Location())
		}
		q.To = q.From.AddDate(0, 0, 7)
		y, w = q.From.ISOWeek()
		q.Name = fmt.Sprintf("%d-W%02d", y, w)
	default:
		q.From, q.To = p.From.AddDate(-1, 0, 0), p.To.AddDate(-1, 0, 0)
		switch p.Kind {
		case Month:
			q.Name = q.From.Format("2006-01")
		case Quarter:
			q.Name = fmt.Sprintf("%d-Q%d", q.From.Year(), (int(q.From.Month())-1)/3+1)
		case Year:
			q.Name = strconv.Itoa(q.From.Year())
		default:
			q.Name = q.From.Format(time.DateOnly) + " – " + q.To.Add(-time.Nanosecond).Format(time.DateOnly)
		}
	}
	return q
}

// Before is the last full period of kind (day, week, month, quarter or
// year) that ends at or before now, in loc: the month before now's, the
// ISO week before now's, and so on. A scheduled report covers it.
func Before(kind string, now time.Time, loc *time.Location) (Period, error) {
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	var cur Period
	switch kind {
	case "day":
		p, err := NewRange(today.AddDate(0, 0, -1), today)
		p.Name = p.From.Format(time.DateOnly)
		return p, err
	case "week":
		y, w := now.ISOWeek()
		cur = Period{Kind: Week, From: isoWeekStart(y, w, loc)}
		cur.To = cur.From.AddDate(0, 0, 7)
	case "month":
		cur = Period{Kind: Month, From: time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)}
		cur.To = cur.From.AddDate(0, 1, 0)
	case "quarter":
		cur = Period{Kind: Quarter, From: time.Date(now.Year(), time.Month(3*((int(now.Month())-1)/3)+1), 1, 0, 0, 0, 0, loc)}
		cur.To = cur.From.AddDate(0, 3, 0)
	case "year":
		cur = Period{Kind: Year, From: time.Date(now.Year(), 1, 1, 0, 0, 0, 0, loc)}
		cur.To = cur.From.AddDate(1, 0, 0)
	default:
		return Period{}, fmt.Errorf("period: unknown kind %q: use day, week, month, quarter or year", kind)
	}
	return cur.Previous(), nil
}
