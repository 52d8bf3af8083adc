package energy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// The simulated building: a main electricity meter with an HVAC sub-meter,
// a water and a gas meter, 13 months at 15 minutes from sim.Play, with the
// HVAC left on at night from 20 November 2026 (a fault the report should
// show), and the weather station's hourly temperature.
var (
	fixtureOnce sync.Once
	fixtureSrc  *Readings
	fixtureErr  error
)

var (
	simFrom = time.Date(2025, 10, 1, 0, 0, 0, 0, sim.Zone)
	simTo   = time.Date(2026, 12, 1, 0, 0, 0, 0, sim.Zone)
)

func fixture(t testing.TB) *Readings {
	t.Helper()
	fixtureOnce.Do(func() { fixtureSrc, fixtureErr = playBuilding() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureSrc
}

func playBuilding() (*Readings, error) {
	const step = 15 * time.Minute
	fault := sim.Fault{Device: "meter-main", Kind: sim.FaultHVACNight, After: time.Date(2026, 11, 20, 0, 0, 0, 0, sim.Zone).Sub(simFrom), Size: 30}
	elec, err := sim.Play("energy_meter", "meter-main", 7, []sim.Fault{fault}, simFrom, simTo, step, "import_energy")
	if err != nil {
		return nil, err
	}
	water, err := sim.Play("water_meter", "water-1", 7, nil, simFrom, simTo, step, "total_volume")
	if err != nil {
		return nil, err
	}
	gas, err := sim.Play("gas_meter", "gas-1", 7, nil, simFrom, simTo, step, "total_volume")
	if err != nil {
		return nil, err
	}
	ws, err := sim.Play("weather_station", "weather-1", 7, nil, simFrom, simTo, time.Hour, "outdoor_temperature")
	if err != nil {
		return nil, err
	}
	src := &Readings{Points: map[string][]usage.Reading{}, Temps: map[string][]baseline.TempReading{}}
	add := func(m *usage.Meter, s sim.Series, point string, scale float64) {
		m.Building, m.Site, m.PollInterval = "tower-a", "demo", step
		src.Meters = append(src.Meters, m)
		rs := make([]usage.Reading, len(s.Times))
		base := s.Values[point][0]
		for i, ts := range s.Times {
			rs[i] = usage.Reading{Time: ts, Value: 1000 + scale*(s.Values[point][i]-base)}
		}
		src.Points[m.ID] = rs
	}
	add(&usage.Meter{ID: "main", Device: "meter-main", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity}, elec, "import_energy", 1)
	// The HVAC sub-meter reads 40 % of the main meter's rise: a sub-meter
	// consistent with its parent, so that the remainder is known.
	add(&usage.Meter{ID: "hvac", Device: "meter-hvac", Counter: "import_energy", Unit: usage.KWh, Category: usage.Electricity,
		SubItem: usage.HVAC, Parent: "main"}, elec, "import_energy", 0.4)
	add(&usage.Meter{ID: "water", Device: "water-1", Counter: "total_volume", Unit: usage.M3, Category: usage.Water}, water, "total_volume", 1)
	add(&usage.Meter{ID: "gas", Device: "gas-1", Counter: "total_volume", Unit: usage.M3, Category: usage.Gas}, gas, "total_volume", 1)
	for i, ts := range ws.Times {
		src.Temps[""] = append(src.Temps[""], baseline.TempReading{Time: ts, Temp: ws.Values["outdoor_temperature"][i]})
	}
	src.TicketList = []Ticket{
		{ID: 41, Title: "HVAC runs at night", Device: "meter-main", Status: "in_progress", Priority: "P2",
			Created: time.Date(2026, 11, 22, 9, 0, 0, 0, sim.Zone)},
		{ID: 12, Title: "Closed long ago", Device: "meter-main", Status: "closed", Priority: "P3",
			Created: time.Date(2026, 3, 1, 9, 0, 0, 0, sim.Zone), Closed: time.Date(2026, 3, 2, 9, 0, 0, 0, sim.Zone)},
	}
	return src, nil
}

// monthReport builds the November 2026 report of the fixture.
func monthReport(t *testing.T, lang string) *Report {
	t.Helper()
	p, err := ParsePeriod("2026-11", sim.Zone)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(context.Background(), fixture(t), Options{Period: p, Zone: sim.Zone, Tariffs: mustTariffs(t, "testdata/month-tariff.yaml"),
		Lang: lang, Site: "demo", Now: time.Date(2026, 12, 3, 9, 0, 0, 0, sim.Zone)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
