package energy

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
)

// BenchmarkMonth builds the fixture's month (four meters, a year of hourly
// history for the baselines) from readings in memory and renders it in the
// three formats that need no browser.
func BenchmarkMonth(b *testing.B) {
	src := fixture(b)
	tariffs := mustTariffs(b, "testdata/month-tariff.yaml")
	p, _ := ParsePeriod("2026-11", sim.Zone)
	o := Options{Period: p, Zone: sim.Zone, Tariffs: tariffs, Now: time.Date(2026, 12, 3, 0, 0, 0, 0, sim.Zone)}
	for b.Loop() {
		r, err := Build(context.Background(), src, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.WriteHTML(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := r.WriteXLSX(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := r.WriteCSV(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(src.Meters))*float64(b.N)/b.Elapsed().Seconds(), "meters/s")
}
