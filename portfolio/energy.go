package portfolio

import (
	"context"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

// Energy is what the portfolio reads of the meters: the consumption of
// the meters of q.Site (a *usage.Engine per site has it; see NewEnergy).
type Energy interface {
	Consumption(ctx context.Context, q usage.Query) (*usage.Report, error)
}

// siteEngines routes a query to its site's engine: meter ids repeat from
// site to site, so each site has its own.
type siteEngines map[string]*usage.Engine

// influxEnergy is the sites' meters in one InfluxDB: their consumption
// and their daemons' expectations.
type influxEnergy struct {
	engines siteEngines
	src     usage.Flux
}

var _ Energy = influxEnergy{}

// NewEnergy returns the consumption of cfg's sites' meters in the InfluxDB
// that src reads (a *store.Querier), and what their daemons' baselines
// expected of them (Expectations).
func NewEnergy(cfg *Config, src usage.Flux) Energy {
	e := influxEnergy{engines: siteEngines{}, src: src}
	for _, s := range cfg.Sites {
		e.engines[s.ID] = usage.NewEngine(src, s.Meters)
	}
	return e
}

// Consumption implements Energy.
func (e influxEnergy) Consumption(ctx context.Context, q usage.Query) (*usage.Report, error) {
	eng := e.engines[q.Site]
	if eng == nil {
		return nil, fmt.Errorf("no site %q", q.Site)
	}
	return eng.Consumption(ctx, q)
}

// siteEnergy is site's electricity over this and last, and a year before.
func siteEnergy(ctx context.Context, en Energy, s *Site, this, last Span) (*EnergyView, error) {
	v := &EnergyView{Meters: billedMeters(s)}
	var err error
	// Whole months are one slot each; the month so far is read by the hour,
	// so that last year's span ends at the same hour.
	if v.ThisMonth, err = figure(ctx, en, s, this, usage.Hour); err != nil {
		return nil, fmt.Errorf("this month: %w", err)
	}
	if v.LastMonth, err = figure(ctx, en, s, last, usage.Month); err != nil {
		return nil, fmt.Errorf("last month: %w", err)
	}
	return v, nil
}

// billedMeters are the ids of the site's meters with no parent among its
// meters: the supply points whose sum is the site's electricity.
func billedMeters(s *Site) []string {
	ids := map[string]bool{}
	for _, m := range s.Meters.Meters {
		ids[m.ID] = true
	}
	var out []string
	for _, m := range s.Meters.Meters {
		if m.Parent == "" || !ids[m.Parent] {
			out = append(out, m.ID)
		}
	}
	return out
}

func figure(ctx context.Context, en Energy, s *Site, sp Span, iv usage.Interval) (EnergyFigure, error) {
	var f EnergyFigure
	if !sp.To.After(sp.From) { // the first hour of a month: nothing yet
		return f, nil
	}
	kwh, cov, n, err := total(ctx, en, s, sp.From, sp.To, iv)
	if err != nil {
		return f, err
	}
	f.KWh, f.CoveragePct = round(kwh, 3), cov
	f.KWhPerM2 = round(kwh/s.FloorAreaM2, 4)
	ly, lyCov, lyN, err := total(ctx, en, s, sp.LastYearFrom, sp.LastYearTo, iv)
	if err != nil {
		return f, fmt.Errorf("a year before: %w", err)
	}
	f.LastYearCoveragePct = lyCov
	if lyN > 0 {
		ly = round(ly, 3)
		f.LastYearKWh = &ly
	}
	if n > 0 && lyN > 0 && cov >= MinCoveragePct && lyCov >= MinCoveragePct && ly > 0 {
		c := round(100*(kwh-ly)/ly, 1)
		f.ChangePct = &c
	}
	return f, baselineFigure(ctx, en, s, sp.From, sp.To, &f)
}

// total is the kWh of the site's billed meters over [from, to), the
// lowest coverage among them and the readings counted.
func total(ctx context.Context, en Energy, s *Site, from, to time.Time, iv usage.Interval) (kwh, coverage float64, samples int, err error) {
	rep, err := en.Consumption(ctx, usage.Query{Meters: billedMeters(s), Site: s.ID, From: from, To: to, Interval: iv, Zone: zoneOf(from)})
	if err != nil {
		return 0, 0, 0, err
	}
	coverage = 100
	for _, u := range rep.Meters {
		kwh += u.Total
		coverage = min(coverage, u.CoveragePct)
		for _, sl := range u.Slots {
			samples += sl.Samples
		}
	}
	if len(rep.Meters) == 0 {
		coverage = 0
	}
	return kwh, coverage, samples, nil
}

// zoneOf is the location t is in: Periods makes the spans in the config's
// zone.
func zoneOf(t time.Time) *time.Location { return t.Location() }
