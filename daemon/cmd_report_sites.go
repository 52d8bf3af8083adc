package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/baseline"
	energyusage "github.com/facilityd/facilityd/energy/usage"
	energyreport "github.com/facilityd/facilityd/report/energy"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// siteMeters are the config's meters at each of sites, or with
// energyreport.AllSites at every site of the bucket that holds a series of
// one of them: a meter is kept at a site that has its device's series in its
// measurement, with the id SITE/ID (and its parent SITE/PARENT). The sites
// of a company are built alike, so one site's config names the meters of
// all. What a site lacks is said in the warnings.
func siteMeters(ctx context.Context, q *store.Querier, cfg *energyusage.Config, site string) (*energyusage.Config, []string, []string, error) {
	var measurements []string
	for _, m := range cfg.Meters {
		if !slices.Contains(measurements, m.Measurement) {
			measurements = append(measurements, m.Measurement)
		}
	}
	from := make([]string, len(measurements))
	for i, m := range measurements {
		from[i] = store.InfluxQLIdent(m)
	}
	sites := []string{site}
	if site == energyreport.AllSites {
		sites = nil
		err := q.QueryInfluxQL(ctx, `SHOW TAG VALUES FROM `+strings.Join(from, ", ")+` WITH KEY = "site"`, func(s store.InfluxQLSeries) error {
			for _, v := range tagValues(s) {
				if !slices.Contains(sites, v) {
					sites = append(sites, v)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the sites in the bucket: %w", err)
		}
		slices.Sort(sites)
	}
	out := &energyusage.Config{Query: cfg.Query}
	var warnings []string
	for _, s := range sites {
		has := map[[2]string]bool{} // measurement, device
		err := q.QueryInfluxQL(ctx, `SHOW TAG VALUES FROM `+strings.Join(from, ", ")+` WITH KEY = "device" WHERE "site" = `+store.InfluxQLString(s),
			func(sr store.InfluxQLSeries) error {
				for _, v := range tagValues(sr) {
					has[[2]string{sr.Name, v}] = true
				}
				return nil
			})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the devices of site %q: %w", s, err)
		}
		kept := map[string]bool{}
		for _, m := range cfg.Meters {
			if has[[2]string{m.Measurement, m.Device}] {
				kept[m.ID] = true
			}
		}
		for _, m := range cfg.Meters {
			if !kept[m.ID] {
				warnings = append(warnings, fmt.Sprintf("site %q has no series of meter %q (%s of device %q): left out", s, m.ID, m.Measurement, m.Device))
				continue
			}
			c := *m
			c.ID, c.Site = s+"/"+m.ID, s
			if m.Parent != "" {
				c.Parent = s + "/" + m.Parent
				if !kept[m.Parent] {
					warnings = append(warnings, fmt.Sprintf("site %q: meter %q's parent %q has no series: %q is counted as a supply point", s, m.ID, m.Parent, m.ID))
				}
			}
			out.Meters = append(out.Meters, &c)
		}
	}
	return out, sites, warnings, nil
}

// tagValues are the values of a SHOW TAG VALUES answer (columns key, value).
func tagValues(s store.InfluxQLSeries) []string {
	col := slices.Index(s.Columns, "value")
	if col < 0 {
		return nil
	}
	var out []string
	for _, row := range s.Values {
		if col < len(row) {
			if v, ok := row[col].(string); ok && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// sitesSource is the report's source across sites: the meters of every
// site from one engine, the tickets with their sites, and no temperatures,
// since the config's weather point is one site's and each site has its own.
type sitesSource struct {
	*app.ReportSource
	list func(ctx context.Context) ([]tickets.Ticket, error)
}

var _ energyreport.Source = sitesSource{}

// newSitesSource reads meters over q, tickets from list.
func newSitesSource(cfg *config.Config, q *store.Querier, meters *energyusage.Config, list func(ctx context.Context) ([]tickets.Ticket, error)) sitesSource {
	return sitesSource{ReportSource: &app.ReportSource{Engine: energyusage.NewEngine(q, meters), Q: q, Energy: cfg.Energy}, list: list}
}

// Temperatures implements energyreport.Source: none.
func (sitesSource) Temperatures(context.Context, string, time.Time, time.Time) ([]baseline.TempReading, error) {
	return nil, nil
}

// Tickets implements energyreport.Source: the energy tickets, each with
// its site, so that it stays with its own site's device.
func (s sitesSource) Tickets(ctx context.Context, _, _ time.Time) ([]energyreport.Ticket, error) {
	ts, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("tickets: %w", err)
	}
	out := make([]energyreport.Ticket, 0, len(ts))
	for _, t := range ts {
		out = append(out, energyreport.Ticket{ID: t.ID, Title: t.Title, Site: t.Site, Device: t.Device, Status: string(t.Status),
			Priority: t.Priority, Created: t.CreatedAt, Resolved: t.ResolvedAt, Closed: t.ClosedAt})
	}
	return out, nil
}
