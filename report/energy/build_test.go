package energy

import (
	"context"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/energy/usage"
)

// TestMonthFigures recomputes the month's cost from the quarter-hour
// consumption with its own price function, and checks the other figures
// against what the fixture holds.
func TestMonthFigures(t *testing.T) {
	r := monthReport(t, "en")
	src := fixture(t)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, sim.Zone)
	to := time.Date(2026, 12, 1, 0, 0, 0, 0, sim.Zone)
	q, err := src.Consumption(context.Background(), usage.Query{Meters: []string{"main"}, From: from, To: to, Interval: usage.Quarter, Zone: sim.Zone})
	if err != nil {
		t.Fatal(err)
	}
	// The tariff, written out again: peak 08–11 and 18–21, valley 22–06.
	price := func(ts time.Time) float64 {
		l := ts.In(sim.Zone)
		h := l.Hour()
		switch {
		case h >= 8 && h < 11 || h >= 18 && h < 21:
			if l.Day() >= 16 {
				return 1.25
			}
			return 1.10
		case h >= 22 || h < 6:
			return 0.30
		}
		return 0.70
	}
	var kwh, energy, peak float64
	for _, s := range q.Meters[0].Slots {
		kwh += s.Amount
		energy += s.Amount * price(s.Start)
		peak = math.Max(peak, s.Amount*4)
	}
	fixed := 800.0*15/30 + 1000.0*15/30
	demand := peak * 40 // the whole month is in the report
	main := meterOf(t, r, "main")
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f", what, got, want)
		}
	}
	near("main kWh", main.Quantity, kwh, 1e-6)
	near("main energy cost", main.EnergyCost, energy, 1e-6)
	near("main fixed", main.FixedCost, fixed, 1e-9)
	near("main demand", main.DemandCost, demand, 1e-6)
	near("main total", main.Cost, energy+fixed+demand, 1e-6)
	if kwh < 1000 {
		t.Fatalf("the simulated month used only %.1f kWh", kwh)
	}
	hvac := meterOf(t, r, "hvac")
	near("hvac share", hvac.Quantity, 0.4*kwh, 1e-6)
	if hvac.Billed || hvac.FixedCost != 0 || hvac.DemandCost != 0 {
		t.Errorf("sub-meter hvac billed %v with fixed %v and demand %v, want neither", hvac.Billed, hvac.FixedCost, hvac.DemandCost)
	}
	var elec *CategoryFigures
	for i := range r.Categories {
		if r.Categories[i].Category == usage.Electricity {
			elec = &r.Categories[i]
		}
	}
	if elec == nil || elec.Meters != 1 {
		t.Fatalf("electricity totals %+v, want the main meter only", elec)
	}
	near("electricity cost", elec.Cost, main.Cost, 1e-9)
	near("kgce", elec.Kgce, kwh*0.1229, 1e-6)
	subs := map[usage.SubItem]float64{}
	for _, s := range r.SubItems {
		subs[s.SubItem] = s.Quantity
	}
	near("sub-item hvac", subs[usage.HVAC], 0.4*kwh, 1e-6)
	near("sub-item unassigned", subs[usage.Unassigned], 0.6*kwh, 1e-6)
	gas := meterOf(t, r, "gas")
	near("gas fixed", gas.FixedCost, 50, 1e-9)
	near("gas price", gas.EnergyCost, 3.5*gas.Quantity, 1e-6)

	if r.Partial {
		t.Error("November is over on 3 December, yet the report is partial")
	}
	if len(r.Comparisons) != 3 {
		t.Errorf("comparisons %+v, want one per category", r.Comparisons)
	}
	for _, c := range r.Comparisons {
		if math.IsNaN(c.PreviousPct) || math.IsNaN(c.LastYearPct) {
			t.Errorf("%s: no change against the previous period or last year: %+v", c.Category, c)
		}
		if c.Category == usage.Electricity && math.IsNaN(c.NormPreviousPct) {
			t.Errorf("electricity has no weather-normalized change: %+v", c)
		}
	}
	if len(r.Baselines) == 0 {
		t.Fatal("no baseline")
	}
	b := r.Baselines[0]
	if b.Meter != "main" || len(b.Days) != 30 || b.Savings >= 0 {
		t.Errorf("baseline of %s over %d days saves %.1f kWh; want main over 30 days losing energy to the night HVAC", b.Meter, len(b.Days), b.Savings)
	}
	if last := b.Days[len(b.Days)-1].CUSUM; math.Abs(last+b.Savings) > 1e-6 {
		t.Errorf("CUSUM ends at %.3f, want −savings %.3f", last, -b.Savings)
	}
	if len(r.Demand) != 1 || math.Abs(r.Demand[0].PeakKW-peak) > 1e-6 || r.Demand[0].BaseLoadKW <= 0 {
		t.Errorf("demand %+v, want the main meter's peak %.2f kW and a base load", r.Demand, peak)
	}
	if r.Profile == nil || r.Profile.WeekdayDays != 21 || r.Profile.WeekendDays != 9 {
		t.Errorf("profile %+v, want 21 weekdays and 9 weekend days", r.Profile)
	}
	found := false
	for _, a := range r.Anomalies {
		if a.Meter == "main" && a.Excess > 0 && !a.Start.Before(time.Date(2026, 11, 18, 0, 0, 0, 0, sim.Zone)) {
			found = true
		}
	}
	if !found {
		t.Errorf("anomalies %+v: none for the night HVAC from 20 November", r.Anomalies)
	}
	if len(r.Tickets) != 1 || r.Tickets[0].ID != 41 {
		t.Errorf("tickets %+v, want #41 only (#12 closed before the month)", r.Tickets)
	}
	if len(r.EnPIs) != 4 {
		t.Errorf("EnPIs %+v, want kWh/m² and gas per m², per occupied hour and water per dwelling", r.EnPIs)
	}
	for _, q := range r.Quality {
		if q.CoveragePct < 99 || q.HoursReadPct != 100 {
			t.Errorf("meter %s coverage %.1f %%, hours read %.1f %%, want full", q.Meter, q.CoveragePct, q.HoursReadPct)
		}
	}
}

// TestPartialPeriod: a month not yet over is reported up to now, marked,
// and compared with the same elapsed span of the other periods.
func TestPartialPeriod(t *testing.T) {
	p, _ := ParsePeriod("2026-11", sim.Zone)
	now := time.Date(2026, 11, 10, 12, 7, 0, 0, sim.Zone)
	r, err := Build(context.Background(), fixture(t), Options{Period: p, Zone: sim.Zone, Tariffs: mustTariffs(t, "testdata/month-tariff.yaml"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Partial || !r.End.Equal(time.Date(2026, 11, 10, 12, 0, 0, 0, sim.Zone)) {
		t.Fatalf("partial %v, end %s; want partial up to 12:00", r.Partial, r.End)
	}
	main := meterOf(t, r, "main")
	// 9.5 of 30 days of the 800 fixed charge.
	if want := 800 * 9.5 / 30; math.Abs(main.FixedCost-want) > 1e-9 {
		t.Errorf("fixed %.4f, want %.4f", main.FixedCost, want)
	}
	if len(r.Days) != 10 {
		t.Errorf("%d days, want 10", len(r.Days))
	}
	for _, c := range r.Comparisons {
		if c.Category == usage.Electricity && (c.Previous > 0.5*c.Current*3 || math.Abs(c.PreviousPct) > 50) {
			t.Errorf("the previous period is not cut to the same span: %+v", c)
		}
	}
}

func meterOf(t *testing.T, r *Report, id string) MeterFigures {
	t.Helper()
	for _, m := range r.Meters {
		if m.Meter == id {
			return m
		}
	}
	t.Fatalf("no meter %s", id)
	return MeterFigures{}
}

// TestThinHistory: against a period the meters were read for only part of,
// the value is shown with its coverage and no change is computed; without a
// year of history the baselines are shown with why they are not fit, and
// neither normalize nor raise anomalies.
func TestThinHistory(t *testing.T) {
	p, err := ParsePeriod("2025-W41", sim.Zone) // 6–13 October 2025; the fixture starts on 1 October
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(context.Background(), fixture(t), Options{Period: p, Zone: sim.Zone, Tariffs: mustTariffs(t, "testdata/month-tariff.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Comparisons {
		if math.IsNaN(c.Previous) || !math.IsNaN(c.PreviousPct) || c.PreviousCoveragePct < 60 || c.PreviousCoveragePct > 80 {
			t.Errorf("%s: previous week %.1f at %.1f %% coverage, change %.1f; want the value, 5/7 coverage and no change", c.Category, c.Previous, c.PreviousCoveragePct, c.PreviousPct)
		}
		if !math.IsNaN(c.LastYear) || !math.IsNaN(c.LastYearPct) {
			t.Errorf("%s: last year %v (%v %%) from no data", c.Category, c.LastYear, c.LastYearPct)
		}
	}
	if len(r.Anomalies) != 0 {
		t.Errorf("anomalies %+v from baselines on five days", r.Anomalies)
	}
	for _, b := range r.Baselines {
		if b.FitForAlarms || len(b.Reasons) == 0 {
			t.Errorf("baseline of %s fit %v (%v) on five days of history", b.Meter, b.FitForAlarms, b.Reasons)
		}
	}
	for _, c := range r.Comparisons {
		if !math.IsNaN(c.NormPreviousPct) {
			t.Errorf("%s normalized by an unfit baseline", c.Category)
		}
	}
	var html strings.Builder
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "not fit for alarms<br>") {
		t.Error("the page does not say why the baselines are not fit")
	}
}

// TestNoTariffs: without tariffs every figure but cost is there, and the
// report says the consumption is not priced.
func TestNoTariffs(t *testing.T) {
	p, _ := ParsePeriod("2026-W47", sim.Zone)
	r, err := Build(context.Background(), fixture(t), Options{Period: p, Zone: sim.Zone, Category: usage.Electricity, Lang: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Meters) != 2 || r.Meters[0].Cost != 0 || r.Meters[0].Unpriced != r.Meters[0].Quantity || len(r.Demand) != 1 {
		t.Errorf("meters %+v", r.Meters)
	}
	if len(r.Warnings) == 0 || r.WarningText(r.Warnings[0]) != "统计期内部分时间没有适用的电单价，该部分用量未计费" {
		t.Errorf("warnings %q", r.Warnings)
	}
	for _, f := range []func() error{
		func() error { return r.WriteHTML(io.Discard) }, func() error { return r.WriteXLSX(io.Discard) }, func() error { return r.WriteCSV(io.Discard) },
	} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}
}

// TestQuarterIsItsMonths: a quarter, read a month at a time, is the sum of
// its three monthly reports, and its demand charge is the three months'.
func TestQuarterIsItsMonths(t *testing.T) {
	tariffs := mustTariffs(t, "testdata/month-tariff.yaml")
	build := func(name string) *Report {
		p, err := ParsePeriod(name, sim.Zone)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Build(context.Background(), fixture(t), Options{Period: p, Zone: sim.Zone, Tariffs: tariffs})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	q := build("2026-Q3")
	var want MeterFigures
	for _, m := range []string{"2026-07", "2026-08", "2026-09"} {
		mf := meterOf(t, build(m), "main")
		want.Quantity += mf.Quantity
		want.EnergyCost += mf.EnergyCost
		want.FixedCost += mf.FixedCost
		want.DemandCost += mf.DemandCost
		want.Cost += mf.Cost
	}
	got := meterOf(t, q, "main")
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"kWh", got.Quantity, want.Quantity}, {"energy", got.EnergyCost, want.EnergyCost}, {"fixed", got.FixedCost, want.FixedCost},
		{"demand", got.DemandCost, want.DemandCost}, {"cost", got.Cost, want.Cost}} {
		if math.Abs(c.got-c.want) > 1e-6 {
			t.Errorf("quarter %s %.4f, the months add up to %.4f", c.what, c.got, c.want)
		}
	}
	if len(q.Demand[0].Months) != 3 || len(q.Days) != 92 || q.Quality[0].HoursReadPct != 100 {
		t.Errorf("quarter: %d months of demand, %d days, %.1f %% hours read", len(q.Demand[0].Months), len(q.Days), q.Quality[0].HoursReadPct)
	}
}
