package energy

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// TestGoldenCost holds the cost arithmetic to hand-computed figures: a
// meter at a constant 40 kW (10 kWh a quarter hour) for 1–10 June 2026,
// one quarter of 25 kWh (100 kW) on 5 June at 09:00, peak 08–12, flat
// 06–08 and 12–22, valley 22–06; from 6 June the peak price rises from 1.0
// to 1.2 and the fixed charge from 300 to 600 a month.
//
//	a day: peak 16 q × 10 = 160 kWh, flat 48 q = 480 kWh, valley 32 q = 320 kWh
//	energy: 10 days × (160·1.0 + 480·0.5 + 320·0.2) = 4640, + 15 kWh × 1.0
//	        (the spike, peak, 5 June) = 4655, + 5 days × 160 × 0.2 (the new
//	        peak price from 6 June) = 4815
//	fixed:  300 × 5/30 + 600 × 5/30 = 150 (prorated by days of June)
//	demand: 100 kW × 40 × 10/30 = 1333.333… (the month's highest quarter
//	        hour, prorated by the 10 of 30 days the report covers)
//	total:  6298.333…
func TestGoldenCost(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	tariffs := mustTariffs(t, "testdata/golden-tariff.yaml")
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	to := time.Date(2026, 6, 11, 0, 0, 0, 0, loc)
	spike := time.Date(2026, 6, 5, 9, 0, 0, 0, loc)
	var rs []usage.Reading
	v := 1000.0
	for ts := from.Add(-15 * time.Minute); !ts.After(to); ts = ts.Add(15 * time.Minute) {
		rs = append(rs, usage.Reading{Time: ts, Value: v})
		if ts.Equal(spike) {
			v += 25
		} else {
			v += 10
		}
	}
	m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity,
		Building: "a", PollInterval: 15 * time.Minute}
	src := &Readings{Meters: []*usage.Meter{m}, Points: map[string][]usage.Reading{"main": rs}}
	p, _ := NewRange(from, to)
	r, err := Build(context.Background(), src, Options{Period: p, Zone: loc, Tariffs: tariffs})
	if err != nil {
		t.Fatal(err)
	}
	mf := r.Meters[0]
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %.6f, want %.6f", what, got, want)
		}
	}
	near("quantity", mf.Quantity, 9615)
	near("energy cost", mf.EnergyCost, 4815)
	near("fixed", mf.FixedCost, 150)
	near("demand", mf.DemandCost, 100*40*10.0/30)
	near("total", mf.Cost, 4815+150+100*40*10.0/30)
	want := map[BandName][2]float64{Peak: {1615, 1615 + 800*0.2}, Flat: {4800, 2400}, Valley: {3200, 640}}
	for _, b := range mf.Bands {
		near(string(b.Band)+" kWh", b.Quantity, want[b.Band][0])
		near(string(b.Band)+" cost", b.Cost, want[b.Band][1])
	}
	if len(mf.Bands) != 3 {
		t.Errorf("bands %+v, want peak, flat and valley", mf.Bands)
	}
	d := r.Demand[0]
	near("peak kW", d.PeakKW, 100)
	if !d.PeakAt.Equal(spike) && !d.PeakAt.Equal(spike.Add(-15*time.Minute)) && !d.PeakAt.Equal(spike.Add(15*time.Minute)) {
		t.Errorf("peak at %s, want about %s", d.PeakAt, spike)
	}
	near("base load", d.BaseLoadKW, 40)
	c := r.Categories[0]
	near("category cost", c.Cost, mf.Cost)
	near("kgce", c.Kgce, 9615*0.1229)
	near("kgCO2e", c.KgCO2e, 9615*0.5703)
	// 10 days, of which 8 weekdays × 10 occupied hours.
	for _, e := range r.EnPIs {
		switch e.Key {
		case "enpi_kwh_m2":
			near("kWh/m²", e.Value, 9.615)
		case "enpi_kwh_occupied_hour":
			near("kWh per occupied hour", e.Value, 9615/80.0)
		}
	}
	if len(r.EnPIs) != 2 {
		t.Errorf("EnPIs %+v, want kWh/m² and per occupied hour", r.EnPIs)
	}
	// With a holiday on Wednesday the 3rd and Saturday the 6th worked in
	// lieu: still 8 working days, 80 occupied hours, but not the same ones;
	// the load profile counts the holiday among the weekend days.
	hol, _ := baseline.ParseDays([]string{"2026-06-03"})
	work, _ := baseline.ParseDays([]string{"2026-06-06"})
	cal, err := baseline.NewCalendar(hol, work)
	if err != nil {
		t.Fatal(err)
	}
	hol2, _ := baseline.ParseDays([]string{"2026-06-03..2026-06-04"})
	cal2, _ := baseline.NewCalendar(hol2, nil)
	for _, c := range []struct {
		cal              *baseline.Calendar
		hours            float64
		weekdays, wkends int
	}{{nil, 80, 8, 2}, {cal, 80, 8, 2}, {cal2, 60, 6, 4}} {
		r, err := Build(context.Background(), src, Options{Period: p, Zone: loc, Tariffs: tariffs, Calendar: c.cal})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range r.EnPIs {
			if e.Key == "enpi_kwh_occupied_hour" {
				near("kWh per occupied hour, with the calendar", e.Value, 9615/c.hours)
			}
		}
		if r.Profile == nil || r.Profile.WeekdayDays != c.weekdays || r.Profile.WeekendDays != c.wkends {
			t.Errorf("calendar %v: profile %+v, want %d weekdays and %d weekend days", c.cal, r.Profile, c.weekdays, c.wkends)
		}
	}
}

func mustTariffs(t testing.TB, file string) *Tariffs {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := Decode(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

// TestDSTMonth: in a zone with daylight saving time, the day the clocks go
// back has 25 hours and the month's days still add up; the fixed charge
// is prorated by days, not hours.
func TestDSTMonth(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	p, _ := ParsePeriod("2026-10", loc)
	var rs []usage.Reading
	v := 0.0
	for ts := p.From.Add(-15 * time.Minute); !ts.After(p.To); ts = ts.Add(15 * time.Minute) {
		rs = append(rs, usage.Reading{Time: ts, Value: v})
		v += 10
	}
	m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity, PollInterval: 15 * time.Minute}
	r, err := Build(context.Background(), &Readings{Meters: []*usage.Meter{m}, Points: map[string][]usage.Reading{"main": rs}},
		Options{Period: p, Zone: loc, Tariffs: mustTariffs(t, "testdata/golden-tariff.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 31 {
		t.Fatalf("%d days, want 31", len(r.Days))
	}
	if q := r.Days[24].Quantity[0]; q != 1000 { // 25 October: 25 h × 40 kW
		t.Errorf("25 October: %v kWh, want 1000", q)
	}
	if q := r.Meters[0].Quantity; q != (31*96+4)*10 {
		t.Errorf("October: %v kWh, want %v", q, (31*96+4)*10)
	}
	if f := r.Meters[0].FixedCost; math.Abs(f-600) > 1e-9 {
		t.Errorf("fixed %v, want the month's 600", f)
	}
}
