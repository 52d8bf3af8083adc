// Package inspections is preventive maintenance: plans that fall due by the
// calendar and by a device's counters (run hours, trips, starts), whichever
// comes first, and the pure scheduling over tickets.InspectionState that
// decides when an inspection ticket opens, when it is due and overdue, and
// how a completion advances a plan and the plans it includes.
//
// Plans are parsed apart from evaluation (ParseFile, ParseSection), checked
// against the devices they match (Check), and evaluated by Plan.Eval, a pure
// step over (state, counters, now) that reads no clock. The Engine runs that
// step over every plan × device pair on a tick and hands the result to a
// Store, which applies state changes and ticket creation in one transaction.
//
// An inspection file holds a list of plans:
//
//	inspections:
//	  - name: elevator_half_monthly
//	    description: 半月保养 half-monthly maintenance
//	    match: {type: elevator}
//	    every: 15d                 # 15d, 2w, 3mo, 6mo, 1y, or {day: 10}
//	    counters: [{point: trips, every: 5000, lead_units: 250}]
//	    schedule: floating         # or fixed, from anchor: 2026-01-01
//	    lead: 3d                   # the ticket opens this long before due
//	    grace: 2d                  # then, past the due day, overdue
//	    includes: []               # plans a completion of this one completes
//	    checklist:
//	      - {text: "轿厢照明、风扇、应急照明 / car lighting, fan, emergency light", required: true}
//	      - {text: "制动器间隙 / brake gap", evidence: reading, unit: mm, min: 0.2, max: 0.7}
//	    ticket: {priority: P3, category: lifts, assignee: lift-contractor}
package inspections

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/tickets"
)

// Status is where a plan stands for one device: one explicit enum, stored
// as tickets.InspectionState.Status.
type Status string

// The statuses, in the order a cycle goes through them.
const (
	StatusOK      Status = tickets.InspectionOK
	StatusDueSoon Status = tickets.InspectionDueSoon // within lead: the ticket is open
	StatusDue     Status = tickets.InspectionDue
	StatusOverdue Status = tickets.InspectionOverdue // past the due day + grace
	StatusSkipped Status = tickets.InspectionSkipped // this cycle skipped, with a reason
)

// open reports whether the status asks for an open ticket.
func (s Status) open() bool { return s == StatusDueSoon || s == StatusDue || s == StatusOverdue }

// Schedule says where the next calendar due date counts from.
type Schedule string

// Schedules.
const (
	// Floating counts the next due date from the actual completion.
	Floating Schedule = "floating"
	// Fixed keeps the cycle of an anchor date: a late (or early)
	// completion does not shift the next due date.
	Fixed Schedule = "fixed"
)

// Unit is the unit of a calendar Span.
type Unit uint8

// Span units. Weeks are 7 days and years 12 months.
const (
	Days Unit = iota + 1
	Months
)

// Span is a calendar length: N days or N months, counted in the plan's
// time zone, so that a month is a calendar month and a day is a calendar day
// whatever daylight saving does. The zero Span is no length.
type Span struct {
	N    int
	Unit Unit
}

// IsZero reports whether the span is empty.
func (s Span) IsZero() bool { return s.N == 0 }

// approxDays is the span in days, months counted as 30 days: only to compare
// a lead with an interval.
func (s Span) approxDays() int {
	if s.Unit == Months {
		return s.N * 30
	}
	return s.N
}

// String writes the span as ParseSpan reads it.
func (s Span) String() string {
	switch {
	case s.N == 0:
		return "0d"
	case s.Unit == Months && s.N%12 == 0:
		return strconv.Itoa(s.N/12) + "y"
	case s.Unit == Months:
		return strconv.Itoa(s.N) + "mo"
	case s.N%7 == 0:
		return strconv.Itoa(s.N/7) + "w"
	}
	return strconv.Itoa(s.N) + "d"
}

// spanHint is what to write instead of a bad span.
const spanHint = "write a whole number with d, w, mo or y, such as 15d, 2w, 3mo or 1y"

// ParseSpan reads a calendar span: a whole number of days (d), weeks (w),
// months (mo) or years (y), such as 15d, 2w, 3mo, 6mo or 1y.
func ParseSpan(s string) (Span, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || i > 5 {
		return Span{}, fmt.Errorf("cannot use %q as a calendar span: %s", s, spanHint)
	}
	switch s[i:] {
	case "d":
		return Span{n, Days}, nil
	case "w":
		return Span{n * 7, Days}, nil
	case "mo":
		return Span{n, Months}, nil
	case "y":
		return Span{n * 12, Months}, nil
	}
	return Span{}, fmt.Errorf("cannot use %q as a calendar span: %s", s, spanHint)
}

// Date is a calendar day, without a time zone: anchors are days in the
// plan's zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// String formats the date as 2006-01-02.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Counter is one counter rule of a plan: the plan falls due every Every
// units of Point (a counter point of the device's profile).
type Counter struct {
	Point string
	Every float64
	// LeadUnits opens the ticket this many units before the counter falls
	// due (Maximo's tolerance). Without it, the plan's lead applies to the
	// date estimated from the counter's daily use.
	LeadUnits float64
}

// TicketSpec is how an inspection ticket is filed.
type TicketSpec struct {
	Priority string // P1..P4
	Category string
	Assignee string
}

// Plan is one preventive-maintenance plan, applied to every device it
// matches.
type Plan struct {
	// Name identifies the plan (letters, digits, _ and -); with a device it
	// identifies the inspection: ticket key inspection:PLAN:DEVICE.
	Name string
	// Description is the plan's title in tickets and calendars.
	Description string
	Match       rules.Match
	// Every is the calendar interval (zero: the plan has none). DayOfMonth,
	// when set, pins a fixed schedule to that day of every Every months.
	Every      Span
	DayOfMonth int
	Counters   []Counter
	Schedule   Schedule
	// Anchor is a due date of a fixed schedule: its cycles are Anchor ±
	// k × Every. Zero: the first evaluation's day.
	Anchor Date
	// Lead opens the ticket this long before the due date; Grace is how
	// long after the due day the inspection becomes overdue.
	Lead, Grace Span
	// Includes names the plans that a completion of this one completes too
	// (the quarterly service includes the half-monthly one).
	Includes  []string
	Checklist []tickets.ChecklistItem
	Ticket    TicketSpec
	// Zone is the time zone of the plan's calendar days; nil is time.Local.
	Zone *time.Location

	pos map[string]rules.Pos
	// closure is every plan included, directly or not (set by Check).
	closure []*Plan
}

// Pos returns where the plan (field "") or one of its fields (by YAML key,
// e.g. "every", "counters[0].point", "includes") was written.
func (p *Plan) Pos(field string) rules.Pos {
	if pos, ok := p.pos[field]; ok {
		return pos
	}
	return p.pos[""]
}

// String names the plan for messages.
func (p *Plan) String() string { return fmt.Sprintf("plan %q", p.Name) }

// Title is what the plan's tickets and calendar events are called.
func (p *Plan) Title() string {
	if p.Description != "" {
		return p.Description
	}
	return p.Name
}

// Interval says when the plan falls due, e.g. "every 15d or 5000 trips".
func (p *Plan) Interval() string {
	var parts []string
	switch {
	case p.DayOfMonth > 0 && p.Every.N == 1:
		parts = append(parts, fmt.Sprintf("monthly on day %d", p.DayOfMonth))
	case p.DayOfMonth > 0:
		parts = append(parts, fmt.Sprintf("every %s on day %d", p.Every, p.DayOfMonth))
	case !p.Every.IsZero():
		parts = append(parts, "every "+p.Every.String())
	}
	for _, c := range p.Counters {
		parts = append(parts, strconv.FormatFloat(c.Every, 'f', -1, 64)+" "+c.Point)
	}
	s := strings.Join(parts, " or ")
	if len(p.Counters) > 0 && p.Every.IsZero() {
		s = "every " + s
	}
	if p.Schedule == Fixed && p.DayOfMonth == 0 && !p.Every.IsZero() {
		s += " (fixed)"
	}
	return s
}

// Includes reports whether a completion of p completes q, directly or
// through another plan. Valid after Check.
func (p *Plan) includes(q *Plan) bool {
	for _, c := range p.closure {
		if c == q {
			return true
		}
	}
	return false
}

func (p *Plan) zone() *time.Location {
	if p.Zone == nil {
		return time.Local
	}
	return p.Zone
}

// Key is the ticket key of a plan's inspection of a device.
func Key(plan, device string) string { return "inspection:" + plan + ":" + device }
