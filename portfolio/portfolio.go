// Package portfolio is the view across the sites of a company: one process
// (`facilityd portfolio`) that reads the ticket database the sites' daemons
// share and the InfluxDB they write to, and serves per site the open
// tickets by priority, SLA compliance, inspections overdue and electricity
// this month and last month in kWh and kWh/m², ranked, against what the
// sites' own baselines expected (the predictions their daemons write to
// InfluxDB, measurement energy_expected) and against the same period a year
// before. It holds no state and changes nothing.
//
// Compute first, serve second: Build fills one View from two small
// interfaces (Energy, Tickets); the JSON API and the page only show it.
package portfolio

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"
)

// View is every figure of the portfolio at one time.
type View struct {
	GeneratedAt time.Time `json:"generated_at"`
	Zone        string    `json:"zone"`
	// ThisMonth is the calendar month so far (up to the last whole hour),
	// LastMonth the month before; each with the span a year earlier that it
	// is compared with.
	ThisMonth Span `json:"this_month"`
	LastMonth Span `json:"last_month"`
	// Comparison says what energy is compared with, and Note why.
	Comparison string `json:"comparison"`
	Note       string `json:"comparison_note"`
	// SLAFrom and SLATo bound the creation times of the tickets the SLA
	// figures count.
	SLAFrom time.Time `json:"sla_from"`
	SLATo   time.Time `json:"sla_to"`
	// RankedBy is the figure the sites are ranked on.
	RankedBy string     `json:"ranked_by"`
	Sites    []SiteView `json:"sites"`
	// UnlistedSites have tickets or inspections in the database but are
	// not in the config, so their figures are not shown.
	UnlistedSites []string    `json:"unlisted_sites"`
	Totals        TotalsView  `json:"totals"`
	Errors        []SiteError `json:"errors"`
}

// Span is a period and the same period a year earlier.
type Span struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	LastYearFrom time.Time `json:"last_year_from"`
	LastYearTo   time.Time `json:"last_year_to"`
}

// SiteView is one site's figures.
type SiteView struct {
	Site        string  `json:"site"`
	Name        string  `json:"name"`
	FloorAreaM2 float64 `json:"floor_area_m2"`
	// Rank is 1 for the lowest last-month kWh/m²; 0 when unknown.
	Rank    int          `json:"rank"`
	Tickets *TicketsView `json:"tickets"`
	Energy  *EnergyView  `json:"energy"`
}

// TicketsView is a site's tickets: nil in a SiteView when the ticket
// database could not be read (see View.Errors).
type TicketsView struct {
	// Open counts the open tickets by priority (P1..P4), and OpenTotal all.
	Open      map[string]int `json:"open"`
	OpenTotal int            `json:"open_total"`
	// Response and Resolution are the SLA figures over SLAWindow.
	Response   SLAFigure `json:"response"`
	Resolution SLAFigure `json:"resolution"`
	// InspectionsOverdue counts the plan × device pairs past their due
	// date and grace.
	InspectionsOverdue int `json:"inspections_overdue"`
}

// SLAFigure is how many tickets had a deadline and how many met it; Pct is
// nil with none.
type SLAFigure struct {
	Due int      `json:"due"`
	Met int      `json:"met"`
	Pct *float64 `json:"met_pct"`
}

// EnergyView is a site's electricity: nil in a SiteView when InfluxDB
// could not be read.
type EnergyView struct {
	Meters    []string     `json:"meters"`
	ThisMonth EnergyFigure `json:"this_month"`
	LastMonth EnergyFigure `json:"last_month"`
}

// EnergyFigure is a period's electricity of a site's billed meters (those
// with no parent among them), and the same period a year before.
type EnergyFigure struct {
	KWh         float64 `json:"kwh"`
	KWhPerM2    float64 `json:"kwh_per_m2"`
	CoveragePct float64 `json:"coverage_pct"`
	// LastYearKWh is nil when last year has no readings at all.
	LastYearKWh         *float64 `json:"last_year_kwh"`
	LastYearCoveragePct float64  `json:"last_year_coverage_pct"`
	// ChangePct is (KWh − LastYearKWh) / LastYearKWh in %, nil unless both
	// periods have readings for at least MinCoveragePct of their time.
	ChangePct *float64 `json:"change_pct"`
	// BaselineKWh is what the site's daemon's baselines expected of the
	// billed meters over the period's hours with an expectation (see
	// Expectations), nil with none; BaselineCoveragePct is the share of
	// the period's hours with one (the lowest among the meters).
	BaselineKWh         *float64 `json:"baseline_kwh"`
	BaselineCoveragePct float64  `json:"baseline_coverage_pct"`
	// BaselineActualKWh is the actual consumption of those same hours and
	// VsBaselinePct its change against BaselineKWh in %, nil unless the
	// expectations and the readings each cover MinCoveragePct.
	BaselineActualKWh *float64 `json:"baseline_actual_kwh"`
	VsBaselinePct     *float64 `json:"vs_baseline_pct"`
}

// TotalsView sums the sites whose figures are known.
type TotalsView struct {
	FloorAreaM2        float64        `json:"floor_area_m2"`
	Open               map[string]int `json:"open"`
	OpenTotal          int            `json:"open_total"`
	InspectionsOverdue int            `json:"inspections_overdue"`
	ThisMonthKWh       float64        `json:"this_month_kwh"`
	LastMonthKWh       float64        `json:"last_month_kwh"`
	// LastMonthKWhPerM2 is over the sites with energy figures.
	LastMonthKWhPerM2 float64 `json:"last_month_kwh_per_m2"`
}

// SiteError is what could not be read, for which site ("" for all).
type SiteError struct {
	Site  string `json:"site,omitempty"`
	Part  string `json:"part"` // tickets or energy
	Error string `json:"error"`
}

// MinCoveragePct is the share of a period's expected readings below which
// no change is computed (as in the energy report).
const MinCoveragePct = 90

// Comparison names: energy is compared with the sites' baselines'
// expectations and with the same period a year before, both read from
// InfluxDB.
const (
	ComparisonLastYear            = "same_period_last_year"
	ComparisonBaselineAndLastYear = "baseline_and_same_period_last_year"
	lastYearNote                  = "The same period a year before is read from InfluxDB and is not weather-normalized."
	rankedBy                      = "last_month.kwh_per_m2"
)

// Periods returns this month up to now's last whole hour and the last
// month in loc, each with its span a year before.
func Periods(now time.Time, loc *time.Location) (this, last Span) {
	l := now.In(loc)
	m0 := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	to := l.Truncate(time.Hour)
	if to.Before(m0) {
		to = m0
	}
	this = Span{From: m0, To: to, LastYearFrom: m0.AddDate(-1, 0, 0), LastYearTo: to.AddDate(-1, 0, 0)}
	p := m0.AddDate(0, -1, 0)
	last = Span{From: p, To: m0, LastYearFrom: p.AddDate(-1, 0, 0), LastYearTo: m0.AddDate(-1, 0, 0)}
	return this, last
}

// Build reads every site's tickets and energy at now and fills the view.
// A source that fails leaves its part nil and says why in Errors; the rest
// is still shown.
func Build(ctx context.Context, cfg *Config, en Energy, tk Tickets, now time.Time) *View {
	this, last := Periods(now, cfg.Zone)
	v := &View{GeneratedAt: now, Zone: cfg.Zone.String(), ThisMonth: this, LastMonth: last,
		Comparison: ComparisonBaselineAndLastYear, Note: baselineNote + " " + lastYearNote, SLAFrom: now.Add(-SLAWindow), SLATo: now, RankedBy: rankedBy, Sites: []SiteView{}, Errors: []SiteError{}, UnlistedSites: []string{},
		Totals: TotalsView{Open: map[string]int{}}}
	byTickets := map[string]TicketsView{}
	if tk != nil {
		counts, err := tk.SiteTickets(ctx, cfg.SiteIDs(), now)
		if err != nil {
			v.Errors = append(v.Errors, SiteError{Part: "tickets", Error: err.Error()})
		}
		for _, c := range counts {
			byTickets[c.Site] = c.view()
			if !slices.Contains(cfg.SiteIDs(), c.Site) {
				v.UnlistedSites = append(v.UnlistedSites, c.Site)
			}
		}
	}
	for _, s := range cfg.Sites {
		sv := SiteView{Site: s.ID, Name: s.Name, FloorAreaM2: s.FloorAreaM2}
		if t, ok := byTickets[s.ID]; ok {
			sv.Tickets = &t
		} else if tk != nil && len(v.Errors) == 0 {
			sv.Tickets = &TicketsView{Open: map[string]int{}} // no ticket at all
		}
		if en != nil {
			e, err := siteEnergy(ctx, en, s, this, last)
			if err != nil {
				v.Errors = append(v.Errors, SiteError{Site: s.ID, Part: "energy", Error: err.Error()})
			} else {
				sv.Energy = e
			}
		}
		v.Sites = append(v.Sites, sv)
	}
	v.rank()
	v.total()
	return v
}

// rank orders the sites by last month's kWh/m², lowest first; sites
// without energy figures come last, in the config's order.
func (v *View) rank() {
	slices.SortStableFunc(v.Sites, func(a, b SiteView) int {
		switch {
		case a.Energy == nil && b.Energy == nil:
			return 0
		case a.Energy == nil:
			return 1
		case b.Energy == nil:
			return -1
		}
		return cmp.Compare(a.Energy.LastMonth.KWhPerM2, b.Energy.LastMonth.KWhPerM2)
	})
	for i := range v.Sites {
		if v.Sites[i].Energy != nil {
			v.Sites[i].Rank = i + 1
		}
	}
}

func (v *View) total() {
	t := &v.Totals
	var area float64
	for _, s := range v.Sites {
		t.FloorAreaM2 += s.FloorAreaM2
		if s.Tickets != nil {
			for p, n := range s.Tickets.Open {
				t.Open[p] += n
			}
			t.OpenTotal += s.Tickets.OpenTotal
			t.InspectionsOverdue += s.Tickets.InspectionsOverdue
		}
		if s.Energy != nil {
			t.ThisMonthKWh += s.Energy.ThisMonth.KWh
			t.LastMonthKWh += s.Energy.LastMonth.KWh
			area += s.FloorAreaM2
		}
	}
	if area > 0 {
		t.LastMonthKWhPerM2 = round(t.LastMonthKWh/area, 3)
	}
	t.ThisMonthKWh, t.LastMonthKWh = round(t.ThisMonthKWh, 3), round(t.LastMonthKWh, 3)
}

// round rounds x to places decimals.
func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// percent is met/due in %, rounded to 0.1; nil when due is 0.
func percent(met, due int) *float64 {
	if due == 0 {
		return nil
	}
	p := round(100*float64(met)/float64(due), 1)
	return &p
}
