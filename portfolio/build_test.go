package portfolio

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
	energyreport "github.com/facilityd/facilityd/report/energy"
)

// fakeTickets answers fixed figures.
type fakeTickets struct {
	counts []SiteTickets
	err    error
}

var _ Tickets = (*fakeTickets)(nil)

func (f *fakeTickets) SiteTickets(context.Context, []string, time.Time) ([]SiteTickets, error) {
	return f.counts, f.err
}

func loadGood(t testing.TB) *Config {
	t.Helper()
	data, err := os.ReadFile("testdata/portfolio.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/portfolio.good.yaml", data, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// counterRate is a counter rising by rate every quarter hour over
// [from, to], starting at base.
func counterRate(from, to time.Time, base, rate float64) []usage.Reading {
	var out []usage.Reading
	for i, t := 0, from; !t.After(to); i, t = i+1, t.Add(15*time.Minute) {
		out = append(out, usage.Reading{Time: t, Value: base + float64(i)*rate})
	}
	return out
}

// fakeEnergy holds the good config's meters with readings: tower-a's main
// meter rises 1 kWh a quarter hour this year and 0.5 a year ago, its HVAC
// sub-meter 0.25 (not counted: it is inside main); tower-b's 3 kWh this year
// and has no readings a year ago. Both readings start on 1 November.
func fakeEnergy(cfg *Config, now time.Time) Energy {
	loc := cfg.Zone
	nov := time.Date(now.Year(), 11, 1, 0, 0, 0, 0, loc).Add(-15 * time.Minute)
	nov1 := nov.AddDate(-1, 0, 0)
	end := now.Add(time.Hour)
	byID := func(s *Site, id string) *usage.Meter {
		for _, m := range s.Meters.Meters {
			if m.ID == id {
				return m
			}
		}
		panic(id)
	}
	a, b := cfg.Sites[0], cfg.Sites[1]
	ra := &energyreport.Readings{Meters: a.Meters.Meters, Points: map[string][]usage.Reading{
		"main": append(counterRate(nov1, end.AddDate(-1, 0, 0), 10, 0.5), counterRate(nov, end, 50000, 1)...),
		"hvac": counterRate(nov, end, 0, 0.25)}}
	rb := &energyreport.Readings{Meters: []*usage.Meter{byID(b, "main")}, Points: map[string][]usage.Reading{
		"main": counterRate(nov, end, 7, 3)}}
	return fakeSites{a.ID: ra, b.ID: rb}
}

type fakeSites map[string]Energy

func (f fakeSites) Consumption(ctx context.Context, q usage.Query) (*usage.Report, error) {
	return f[q.Site].Consumption(ctx, q)
}

// TestBuild checks every figure against hand arithmetic.
func TestBuild(t *testing.T) {
	cfg := loadGood(t)
	now := time.Date(2026, 12, 3, 10, 40, 0, 0, cfg.Zone)
	tk := &fakeTickets{counts: []SiteTickets{
		{Site: "tower-a", Open: map[string]int{"P1": 1, "P3": 2}, ResponseDue: 4, ResponseMet: 3, ResolutionDue: 2, ResolutionMet: 2, InspectionsOverdue: 1},
		{Site: "tower-b", Open: map[string]int{"P2": 5}},
	}}
	v := Build(context.Background(), cfg, fakeEnergy(cfg, now), tk, now)
	if len(v.Errors) > 0 {
		t.Fatalf("errors: %+v", v.Errors)
	}
	if len(v.Sites) != 2 || v.Sites[0].Site != "tower-a" || v.Sites[0].Rank != 1 || v.Sites[1].Rank != 2 {
		t.Fatalf("ranking: %+v", v.Sites)
	}
	a, b := v.Sites[0], v.Sites[1]
	// This month: 1 December 00:00 to 3 December 10:00, 58 hours = 232
	// quarter hours; a year before the same hours.
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	near("a this month kWh", a.Energy.ThisMonth.KWh, 232)
	near("a this month kWh/m²", a.Energy.ThisMonth.KWhPerM2, 0.232)
	near("a this month last year", *a.Energy.ThisMonth.LastYearKWh, 116)
	near("a this month change", *a.Energy.ThisMonth.ChangePct, 100)
	// Last month: November, 30 days = 2880 quarter hours.
	near("a last month kWh", a.Energy.LastMonth.KWh, 2880)
	near("a last month kWh/m²", a.Energy.LastMonth.KWhPerM2, 2.88)
	near("a last month last year", *a.Energy.LastMonth.LastYearKWh, 1440)
	near("b this month kWh", b.Energy.ThisMonth.KWh, 696)
	near("b last month kWh", b.Energy.LastMonth.KWh, 8640)
	near("b last month kWh/m²", b.Energy.LastMonth.KWhPerM2, 4.32)
	if b.Energy.LastMonth.LastYearKWh != nil || b.Energy.LastMonth.ChangePct != nil {
		t.Errorf("b has no readings a year ago, yet %v, %v", b.Energy.LastMonth.LastYearKWh, b.Energy.LastMonth.ChangePct)
	}
	near("a coverage", a.Energy.LastMonth.CoveragePct, 100)
	if a.Tickets.OpenTotal != 3 || *a.Tickets.Response.Pct != 75 || *a.Tickets.Resolution.Pct != 100 || a.Tickets.InspectionsOverdue != 1 {
		t.Errorf("a's tickets: %+v", a.Tickets)
	}
	if b.Tickets.OpenTotal != 5 || b.Tickets.Response.Pct != nil {
		t.Errorf("b's tickets: %+v", b.Tickets)
	}
	tot := v.Totals
	near("total last month", tot.LastMonthKWh, 2880+8640)
	near("total kWh/m²", tot.LastMonthKWhPerM2, (2880+8640)/3000.0)
	if tot.OpenTotal != 8 || tot.Open["P2"] != 5 || tot.InspectionsOverdue != 1 || tot.FloorAreaM2 != 3000 {
		t.Errorf("totals: %+v", tot)
	}
	if v.Comparison != ComparisonBaselineAndLastYear || v.ThisMonth.To != time.Date(2026, 12, 3, 10, 0, 0, 0, cfg.Zone) {
		t.Errorf("comparison %q, this month to %v", v.Comparison, v.ThisMonth.To)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}

	// The ticket database away: energy is still shown, tickets are nil
	// and the error says why.
	v = Build(context.Background(), cfg, fakeEnergy(cfg, now), &fakeTickets{err: context.DeadlineExceeded}, now)
	if len(v.Errors) != 1 || v.Errors[0].Part != "tickets" || v.Sites[0].Tickets != nil || v.Sites[0].Energy == nil {
		t.Errorf("tickets away: errors %+v, site %+v", v.Errors, v.Sites[0])
	}
}

// TestPeriods: the month so far ends at the last whole hour, and on the
// first hour of a month it is empty.
func TestPeriods(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	this, last := Periods(time.Date(2026, 3, 1, 0, 20, 0, 0, sh), sh)
	if !this.To.Equal(this.From) || !last.From.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, sh)) || !last.LastYearTo.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, sh)) {
		t.Errorf("this %+v, last %+v", this, last)
	}
}
