package energy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// AllSites, as Options.Site, reports every site the source's meters are
// at, with a section of per-site totals.
const AllSites = "all"

// Options choose what a report covers.
type Options struct {
	Period Period
	// Site selects the meters of one site; "" every meter, and AllSites
	// every meter with the per-site totals.
	Site     string
	Building string
	Category usage.Category
	// Zone is the site's calendar: days, months, tariff hours.
	Zone    *time.Location
	Tariffs *Tariffs
	// Calendar is the site's holidays and make-up working days, which the
	// time-of-week baselines keep as a Sunday and a working day; nil for
	// the plain week.
	Calendar *baseline.Calendar
	// Lang is en or zh-CN.
	Lang string
	// Now is when the report is made: a period not over by then is
	// reported up to Now (rounded down to the quarter hour), marked
	// partial, never extrapolated. Zero means the period is over.
	Now time.Time
}

// Build gathers the period's consumption, history, temperatures and
// tickets from src and computes every figure of the report.
func Build(ctx context.Context, src Source, o Options) (*Report, error) {
	loc := o.Zone
	if loc == nil {
		loc = time.UTC
	}
	lang, err := ParseLang(o.Lang)
	if err != nil {
		return nil, err
	}
	p := o.Period
	r := &Report{Lang: lang, Site: o.Site, Building: o.Building, Category: o.Category, Zone: loc,
		Period: p, End: p.To, Previous: p.Previous(), LastYear: p.LastYear(), Generated: o.Now, Currency: "CNY", calendar: o.Calendar}
	if o.Tariffs != nil && o.Tariffs.Currency != "" {
		r.Currency = o.Tariffs.Currency
	}
	if !o.Now.IsZero() && o.Now.Before(p.To) {
		end := o.Now.Truncate(15 * time.Minute)
		if !end.After(p.From) {
			return nil, fmt.Errorf("period %s has not started yet", p.Name)
		}
		r.End, r.Partial = end, true
	}
	// The period is read at most a calendar month at a time, so that a
	// year of quarter hours of many meters is never held at once, and in
	// requests of about chunkReadings readings a meter (see chunker).
	// Chunks end at midnight, so that days are never split.
	q := usage.Query{Category: o.Category, Building: o.Building, Site: o.Site, Interval: usage.Quarter, Zone: loc}
	if o.Site == AllSites {
		q.Site = ""
	}
	a := newAccumulator()
	c := newChunker()
	for from := p.From; from.Before(r.End); {
		l := from.In(loc)
		to := c.end(r, from, earliest(time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc), r.End))
		q.From, q.To = from, to
		cur, err := src.Consumption(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("consumption of %s: %w", p.Name, err)
		}
		if len(cur.Meters) == 0 {
			return nil, errors.New("no meter matches the report's building and category")
		}
		r.add(cur, o.Tariffs, a)
		c.saw(cur, from, to)
		from = to
	}
	r.finish(o.Tariffs, a)
	if o.Site == AllSites {
		r.sites()
	}

	elapsed := r.End.Sub(p.From)
	histFrom := slices.MinFunc([]time.Time{r.LastYear.From, r.Previous.From, p.From.AddDate(0, 0, -365)}, time.Time.Compare)
	if err := r.history(ctx, src, q, histFrom, elapsed); err != nil {
		return nil, err
	}
	r.enpis(o.Tariffs)
	ts, err := src.Tickets(ctx, p.From, r.End)
	if err != nil {
		return nil, fmt.Errorf("energy tickets: %w", err)
	}
	r.tickets(ts, a.devices)
	return r, nil
}

func (r *Report) local(t time.Time) time.Time { return t.In(r.Zone) }

func (r *Report) dayStart(t time.Time) time.Time {
	l := r.local(t)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, r.Zone)
}

// billed reports, per meter id, whether no selected meter is upstream.
func billed(rep *usage.Report) map[string]bool {
	in := map[string]bool{}
	for _, u := range rep.Meters {
		in[u.Meter] = true
	}
	out := map[string]bool{}
	for _, u := range rep.Meters {
		out[u.Meter] = u.Parent == "" || !in[u.Parent]
	}
	return out
}

// accumulator holds what the chunks of a period add up to until finish.
type accumulator struct {
	idx      map[string]int // meter id → index in Report.Meters
	bands    map[string]map[BandName]*BandAmount
	unpriced map[usage.Category]bool
	devices  map[string]bool // device ids, and site + "\x00" + device
	warned   map[string]bool
	demand   map[string]int                   // meter id → index in Report.Demand
	nights   map[string]map[time.Time]float64 // meter → night → lowest hourly kWh 01–05
	profile  map[time.Time]float64            // billed electricity per local hour
	quality  map[string]*qualityAcc           // by meter id
	tiers    map[tierKey]float64              // the month's quantity so far, for tiered prices
}

type qualityAcc struct {
	row             QualityRow
	coverage, slots float64
	hoursRead, hrs  int
}

func newAccumulator() *accumulator {
	return &accumulator{idx: map[string]int{}, bands: map[string]map[BandName]*BandAmount{}, unpriced: map[usage.Category]bool{},
		devices: map[string]bool{}, warned: map[string]bool{}, demand: map[string]int{}, nights: map[string]map[time.Time]float64{},
		profile: map[time.Time]float64{}, quality: map[string]*qualityAcc{}, tiers: map[tierKey]float64{}}
}

// add prices every quarter hour of every meter of one chunk of the period,
// and adds its demand, profile and quality.
func (r *Report) add(rep *usage.Report, t *Tariffs, a *accumulator) {
	for _, w := range rep.Warnings {
		if !a.warned[w] {
			a.warned[w] = true
			r.Warnings = append(r.Warnings, w)
		}
	}
	isBilled := billed(rep)
	for _, u := range rep.Meters {
		a.devices[u.Device] = true
		a.devices[u.Site+"\x00"+u.Device] = true
		i, ok := a.idx[u.Meter]
		if !ok {
			i = len(r.Meters)
			a.idx[u.Meter] = i
			a.bands[u.Meter] = map[BandName]*BandAmount{}
			r.Meters = append(r.Meters, MeterFigures{Meter: u.Meter, Device: u.Device, Category: u.Category, SubItem: u.SubItem,
				Building: u.Building, Site: u.Site, Parent: u.Parent, Unit: u.Unit, Billed: isBilled[u.Meter]})
		}
		m := &r.Meters[i]
		bands := a.bands[u.Meter]
		var day *DayAmount
		var daySamples, dayExpected float64
		flush := func() {
			if day != nil {
				if dayExpected > 0 {
					day.CoveragePct = daySamples / dayExpected
				}
				m.Days = append(m.Days, *day)
			}
		}
		for _, s := range u.Slots {
			d := r.dayStart(s.Start)
			if day == nil || !d.Equal(day.Start) {
				flush()
				day = &DayAmount{Start: d, End: d.AddDate(0, 0, 1)}
				daySamples, dayExpected = 0, 0
			}
			daySamples += s.CoveragePct
			dayExpected++
			m.Quantity += s.Amount
			day.Quantity += s.Amount
			band, price, ok := t.Price(u.Category, s.Start, r.Zone)
			if !ok {
				m.Unpriced += s.Amount
				if s.Amount != 0 {
					a.unpriced[u.Category] = true
				}
				continue
			}
			c := s.Amount * price
			if sch := t.Schedule(u.Category, s.Start, r.Zone); len(sch.Tiers) > 0 {
				c = a.tiered(r, sch, u, m.Billed, s.Start, s.Amount)
			}
			m.EnergyCost += c
			day.Cost += c
			b := bands[band]
			if b == nil {
				b = &BandAmount{Band: band}
				bands[band] = b
			}
			b.Quantity += s.Amount
			b.Cost += c
		}
		flush()
		hrs := r.hours(u)
		if u.Category == usage.Electricity && m.Billed {
			r.demand(u, m, t, a)
			r.nights(u.Meter, hrs, a)
			for _, h := range hrs {
				if h.samples > 0 {
					a.profile[h.start] += h.amount
				}
			}
		}
		r.quality(u, hrs, a)
	}
}

// tierKey is what a tiered price counts the month's quantity over.
type tierKey struct {
	key   string // the meter, or the category's account
	month time.Time
}

// tiered is the cost of amount at the tiers of sch, after what the meter
// (or its account) used earlier in the month within the report; a billed
// meter's amount counts towards the next slots'.
func (a *accumulator) tiered(r *Report, sch *Schedule, u usage.Usage, billed bool, at time.Time, amount float64) float64 {
	l := r.local(at)
	k := tierKey{key: u.Meter, month: time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, r.Zone)}
	if sch.TierBasis == TierAccount {
		k.key = "account:" + string(u.Category)
		if !billed { // a sub-meter is inside the account's quantity already
			before := a.tiers[k]
			return sch.tierCost(before, amount, r.monthShare(k.month))
		}
	}
	before := a.tiers[k]
	a.tiers[k] = before + amount
	return sch.tierCost(before, amount, r.monthShare(k.month))
}

// finish turns what the chunks added up to into the report's figures:
// bands in order, fixed charges, costs, totals, base loads, the profile
// and the quality rows.
func (r *Report) finish(t *Tariffs, a *accumulator) {
	for i := range r.Meters {
		m := &r.Meters[i]
		for _, name := range append(slices.Clone(BandNames), AllHours) {
			if b := a.bands[m.Meter][name]; b != nil {
				m.Bands = append(m.Bands, *b)
			}
		}
		if m.Billed {
			m.FixedCost = r.fixed(m.Category, t)
		}
		m.Cost = m.EnergyCost + m.FixedCost + m.DemandCost
	}
	for _, c := range usage.Categories {
		if a.unpriced[c] {
			r.Warnings = append(r.Warnings, "unpriced:"+string(c))
		}
	}
	r.totals(t)
	for i := range r.Demand {
		r.Demand[i].BaseLoadKW = meanOf(a.nights[r.Demand[i].Meter])
	}
	r.profile(a.profile)
	for _, m := range r.Meters {
		q := a.quality[m.Meter]
		if q.slots > 0 {
			q.row.CoveragePct = q.coverage / q.slots
		}
		if q.hrs > 0 {
			q.row.HoursReadPct = 100 * float64(q.hoursRead) / float64(q.hrs)
		}
		r.Quality = append(r.Quality, q.row)
	}
}

// fixed is the fixed charge of one billed meter of category c over
// [From, End): each day carries 1/(days in its month) of the monthly charge
// and the daily charge of the schedule in force that day, the last day of a
// partial period its share.
func (r *Report) fixed(c usage.Category, t *Tariffs) float64 {
	sum := 0.0
	for d := r.dayStart(r.Period.From); d.Before(r.End); d = d.AddDate(0, 0, 1) {
		s := t.Schedule(c, d, r.Zone)
		if s == nil || s.FixedMonthly == 0 && s.FixedDaily == 0 {
			continue
		}
		sum += (s.FixedMonthly/float64(daysIn(d)) + s.FixedDaily) * dayShare(d, r.End)
	}
	return sum
}

// dayShare is the part of day d before end: 1, or less for the last day of
// a partial period.
func dayShare(d, end time.Time) float64 {
	next := d.AddDate(0, 0, 1)
	if !end.Before(next) {
		return 1
	}
	return float64(end.Sub(d)) / float64(next.Sub(d))
}

func daysIn(d time.Time) int {
	return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// totals adds the billed meters up per category, band, sub-item and day.
func (r *Report) totals(t *Tariffs) {
	days := map[time.Time]*DayFigures{}
	for ci, c := range usage.Categories {
		cf := CategoryFigures{Category: c}
		bands := map[BandName]*BandFigures{}
		for _, m := range r.Meters {
			if m.Category != c || !m.Billed {
				continue
			}
			cf.Unit = m.Unit
			cf.Meters++
			cf.Quantity += m.Quantity
			cf.EnergyCost += m.EnergyCost
			cf.FixedCost += m.FixedCost
			cf.DemandCost += m.DemandCost
			cf.Cost += m.Cost
			for _, b := range m.Bands {
				bf := bands[b.Band]
				if bf == nil {
					bf = &BandFigures{Category: c, Band: b.Band}
					bands[b.Band] = bf
				}
				bf.Quantity += b.Quantity
				bf.Cost += b.Cost
			}
			for _, d := range m.Days {
				df := days[d.Start]
				if df == nil {
					df = &DayFigures{Start: d.Start}
					days[d.Start] = df
				}
				df.Quantity[ci] += d.Quantity
				df.Cost[ci] += d.Cost
			}
		}
		if cf.Meters == 0 {
			continue
		}
		co2, ce := t.factor(c)
		cf.KgCO2e, cf.Kgce = cf.Quantity*co2, cf.Quantity*ce
		r.Categories = append(r.Categories, cf)
		for _, name := range append(slices.Clone(BandNames), AllHours) {
			if b := bands[name]; b != nil {
				if cf.Quantity != 0 {
					b.SharePct = 100 * b.Quantity / cf.Quantity
				}
				r.Bands = append(r.Bands, *b)
			}
		}
	}
	for _, d := range days {
		r.Days = append(r.Days, *d)
	}
	slices.SortFunc(r.Days, func(a, b DayFigures) int { return a.Start.Compare(b.Start) })

	// Sub-items: each electricity meter's own part, less its sub-meters.
	children := map[string]float64{}
	for _, m := range r.Meters {
		if m.Parent != "" {
			children[m.Parent] += m.Quantity
		}
	}
	parts := map[usage.SubItem]float64{}
	total := 0.0
	for _, m := range r.Meters {
		if m.Category != usage.Electricity {
			continue
		}
		own := m.Quantity - children[m.Meter]
		si := m.SubItem
		if si == "" {
			si = usage.Unassigned
		}
		parts[si] += own
		total += own
	}
	for _, si := range append(slices.Clone(usage.SubItems), usage.Unassigned) {
		if v, ok := parts[si]; ok {
			f := SubItemFigures{SubItem: si, Quantity: v}
			if total != 0 {
				f.SharePct = 100 * v / total
			}
			r.SubItems = append(r.SubItems, f)
		}
	}
}

// enpis divides each building's billed totals by its facts.
func (r *Report) enpis(t *Tariffs) {
	var buildings []string
	for _, m := range r.Meters {
		if m.Building != "" && !slices.Contains(buildings, m.Building) {
			buildings = append(buildings, m.Building)
		}
	}
	slices.Sort(buildings)
	for _, b := range buildings {
		var facts *Building
		if t != nil {
			facts = t.Buildings[b]
		}
		if facts == nil {
			r.Warnings = append(r.Warnings, "no_facts:"+b)
			continue
		}
		var kwh, water, gas float64
		for _, m := range r.Meters {
			if m.Building != b || !m.Billed {
				continue
			}
			switch m.Category {
			case usage.Electricity:
				kwh += m.Quantity
			case usage.Water:
				water += m.Quantity
			case usage.Gas:
				gas += m.Quantity
			}
		}
		if facts.FloorAreaM2 > 0 {
			r.EnPIs = append(r.EnPIs, EnPI{b, "enpi_kwh_m2", kwh / facts.FloorAreaM2, "kWh/m²"})
			if gas > 0 {
				r.EnPIs = append(r.EnPIs, EnPI{b, "enpi_gas_m2", gas / facts.FloorAreaM2, "m³/m²"})
			}
		}
		if occ := r.occupiedHours(facts.Occupancy); occ > 0 {
			r.EnPIs = append(r.EnPIs, EnPI{b, "enpi_kwh_occupied_hour", kwh / occ, "kWh/h"})
		}
		if facts.Dwellings > 0 {
			r.EnPIs = append(r.EnPIs, EnPI{b, "enpi_water_dwelling", water / float64(facts.Dwellings), "m³"})
		}
	}
}

// occupiedHours counts the occupied hours in [From, End); a holiday is a
// weekend day and a make-up working day a weekday (Options.Calendar).
func (r *Report) occupiedHours(o Occupancy) float64 {
	n := 0.0
	for h := r.Period.From; h.Before(r.End); h = h.Add(time.Hour) {
		l := r.local(h)
		if o.Occupied(r.calendar.Weekend(l), l.Hour()) {
			n++
		}
	}
	return n
}

// tickets keeps the energy tickets of the report's meters (or of no
// device) that were open at some time in the period.
func (r *Report) tickets(ts []Ticket, devices map[string]bool) {
	for _, t := range ts {
		switch {
		case t.Device == "":
		case t.Site == "" && !devices[t.Device], t.Site != "" && !devices[t.Site+"\x00"+t.Device]:
			continue
		}
		if !t.Created.Before(r.End) || !t.Closed.IsZero() && t.Closed.Before(r.Period.From) {
			continue
		}
		r.Tickets = append(r.Tickets, TicketRow{ID: t.ID, Title: t.Title, Site: t.Site, Device: t.Device, Status: t.Status,
			Priority: t.Priority, Created: t.Created, Resolved: t.Resolved})
	}
	slices.SortFunc(r.Tickets, func(a, b TicketRow) int { return cmp.Compare(a.ID, b.ID) })
}

// sites sums the billed meters per site and category, sites in order of
// name.
func (r *Report) sites() {
	type key struct {
		site string
		cat  usage.Category
	}
	by := map[key]*SiteFigures{}
	for _, m := range r.Meters {
		if !m.Billed {
			continue
		}
		k := key{m.Site, m.Category}
		f := by[k]
		if f == nil {
			f = &SiteFigures{Site: m.Site, Category: m.Category, Unit: m.Unit}
			by[k] = f
		}
		f.Meters++
		f.Quantity += m.Quantity
		f.Cost += m.Cost
	}
	r.Sites = make([]SiteFigures, 0, len(by))
	for _, f := range by {
		r.Sites = append(r.Sites, *f)
	}
	slices.SortFunc(r.Sites, func(a, b SiteFigures) int {
		return cmp.Or(cmp.Compare(a.Site, b.Site), cmp.Compare(slices.Index(usage.Categories, a.Category), slices.Index(usage.Categories, b.Category)))
	})
}
