package inspections

import "time"

// Calendar arithmetic on day numbers: days since 1970-01-01 of a date in
// the plan's zone. Counting days, never hours, keeps due dates on calendar
// days whatever daylight saving does; a due date is the start of its day.

func daysFromCivil(y int, m time.Month, d int) int {
	return floorDiv(int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()), 86400)
}

func civil(n int) (int, time.Month, int) {
	return time.Unix(int64(n)*86400, 0).UTC().Date()
}

// dayOf is the day number of t's date in loc.
func dayOf(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return daysFromCivil(y, m, d)
}

// midnight is the start of day n in loc. A day that starts in a gap of
// daylight saving starts at the first time that exists.
func midnight(n int, loc *time.Location) time.Time {
	y, m, d := civil(n)
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func dateOf(n int) Date {
	y, m, d := civil(n)
	return Date{y, m, d}
}

func (d Date) day() int { return daysFromCivil(d.Year, d.Month, d.Day) }

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMonths adds months to a date whose intended day is d, keeping the
// day or, in a shorter month, taking its last day: Jan 31 + 1mo is Feb 28,
// + 2mo Mar 31 (counted from the same start, never from a clamped date).
func addMonths(y int, m time.Month, d, months int) int {
	total := y*12 + int(m) - 1 + months
	ty, tm := floorDiv(total, 12), time.Month(total-floorDiv(total, 12)*12+1)
	return daysFromCivil(ty, tm, min(d, daysIn(ty, tm)))
}

// add adds k spans to day n.
func (s Span) add(n, k int) int {
	if s.Unit == Months {
		y, m, d := civil(n)
		return addMonths(y, m, d, k*s.N)
	}
	return n + k*s.N
}

// cycle is the k-th due day of a fixed schedule anchored at a.
func cycle(a Date, every Span, k int) int {
	if every.Unit == Months {
		return addMonths(a.Year, a.Month, a.Day, k*every.N)
	}
	return a.day() + k*every.N
}

// nextCycle is the first due day of the fixed schedule anchored at a that
// is after ref (or on it, with onRef).
func nextCycle(a Date, every Span, ref int, onRef bool) int {
	if every.N <= 0 {
		return ref
	}
	var k int
	if every.Unit == Months {
		y, m, _ := civil(ref)
		k = floorDiv((y*12+int(m))-(a.Year*12+int(a.Month)), every.N) - 1
	} else {
		k = floorDiv(ref-a.day(), every.N) - 1
	}
	for {
		d := cycle(a, every, k)
		if d > ref || onRef && d == ref {
			return d
		}
		k++
	}
}
