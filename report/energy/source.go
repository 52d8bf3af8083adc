package energy

import (
	"context"
	"slices"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// Source is what a report reads: consumption (a *usage.Engine has that
// method), outdoor temperatures for the baselines and the energy tickets.
type Source interface {
	Consumption(ctx context.Context, q usage.Query) (*usage.Report, error)
	// Temperatures are the hourly (or finer) outdoor temperatures, °C, of
	// building's weather over [from, to); nil when it has none.
	Temperatures(ctx context.Context, building string, from, to time.Time) ([]baseline.TempReading, error)
	// Tickets are the energy tickets (source energy), at least those open
	// at some time in [from, to); Build keeps only those.
	Tickets(ctx context.Context, from, to time.Time) ([]Ticket, error)
}

// Ticket is what a report shows of an energy ticket (tickets.Ticket with
// source energy).
type Ticket struct {
	ID    int64
	Title string
	// Site is the ticket's site; "" matches the device at any site.
	Site     string
	Device   string
	Status   string
	Priority string
	Created  time.Time
	Resolved time.Time
	Closed   time.Time
}

// Readings is a Source over readings held in memory — a simulated year, a
// test — computed with usage.FromPoints, the arithmetic the engine applies
// to what InfluxDB returns.
type Readings struct {
	Meters []*usage.Meter
	// Points are each meter's readings by meter id, oldest first.
	Points map[string][]usage.Reading
	// Temps are the temperatures (°C) by building; "" serves every
	// building without its own.
	Temps      map[string][]baseline.TempReading
	TicketList []Ticket
}

var _ Source = (*Readings)(nil)

// Consumption computes the meters q selects from their readings.
func (r *Readings) Consumption(_ context.Context, q usage.Query) (*usage.Report, error) {
	rep := &usage.Report{From: q.From, To: q.To, Interval: q.Interval}
	if q.Zone != nil {
		rep.Zone = q.Zone.String()
	}
	for _, m := range r.Meters {
		if q.Category != "" && m.Category != q.Category || q.Building != "" && m.Building != q.Building ||
			q.Site != "" && m.Site != q.Site || len(q.Meters) > 0 && !slices.Contains(q.Meters, m.ID) {
			continue
		}
		u, err := usage.FromPoints(m, r.Points[m.ID], q.From, q.To, q.Interval, q.Zone)
		if err != nil {
			return nil, err
		}
		rep.Meters = append(rep.Meters, u)
	}
	return rep, nil
}

// Temperatures returns the building's temperatures within [from, to).
func (r *Readings) Temperatures(_ context.Context, building string, from, to time.Time) ([]baseline.TempReading, error) {
	ts, ok := r.Temps[building]
	if !ok {
		ts = r.Temps[""]
	}
	var out []baseline.TempReading
	for _, t := range ts {
		if !t.Time.Before(from) && t.Time.Before(to) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Tickets returns TicketList; Build keeps those open at some time in the
// period.
func (r *Readings) Tickets(_ context.Context, from, to time.Time) ([]Ticket, error) {
	return r.TicketList, nil
}
