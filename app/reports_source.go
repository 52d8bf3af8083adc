package app

import (
	"context"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	energyreport "github.com/facilityd/facilityd/report/energy"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// ReportSource brings the energy report its consumption from the usage
// engine, the weather point's hourly means from InfluxDB and the energy
// tickets from ListTickets (none when nil): the daemon's scheduled and
// on-demand reports and the CLI's.
type ReportSource struct {
	Engine      *usage.Engine
	Q           *store.Querier
	Energy      *config.Energy
	ListTickets func(ctx context.Context) ([]tickets.Ticket, error)
}

var _ energyreport.Source = (*ReportSource)(nil)

// NewReportSource is the source of cfg's meters over q.
func NewReportSource(cfg *config.Config, q *store.Querier, ts func(ctx context.Context) ([]tickets.Ticket, error)) *ReportSource {
	e := usage.NewEngine(q, cfg.Energy.Usage)
	if !cfg.Energy.Rollup.Disabled {
		e.UseRollup() // the daemon's rows, where it has written them
	}
	return &ReportSource{Engine: e, Q: q, Energy: cfg.Energy, ListTickets: ts}
}

// Consumption implements energyreport.Source.
func (s *ReportSource) Consumption(ctx context.Context, q usage.Query) (*usage.Report, error) {
	return s.Engine.Consumption(ctx, q)
}

// Temperatures are the hourly means of the energy section's temperature
// point (one weather point serves every building); none without one.
func (s *ReportSource) Temperatures(ctx context.Context, _ string, from, to time.Time) ([]baseline.TempReading, error) {
	if s.Energy.Temperature == "" {
		return nil, nil
	}
	return HourlyTemperatures(ctx, s.Q, s.Engine.Backend(), s.Energy, from, to)
}

// Tickets implements energyreport.Source: the store's energy tickets.
func (s *ReportSource) Tickets(ctx context.Context, _, _ time.Time) ([]energyreport.Ticket, error) {
	if s.ListTickets == nil {
		return nil, nil
	}
	ts, err := s.ListTickets(ctx)
	if err != nil {
		return nil, fmt.Errorf("tickets: %w", err)
	}
	out := make([]energyreport.Ticket, 0, len(ts))
	for _, t := range ts {
		out = append(out, energyreport.Ticket{ID: t.ID, Title: t.Title, Device: t.Device, Status: string(t.Status), Priority: t.Priority,
			Created: t.CreatedAt, Resolved: t.ResolvedAt, Closed: t.ClosedAt})
	}
	return out, nil
}
