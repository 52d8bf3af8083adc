package portfolio

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/store"
)

// The sites' daemons write what their baselines expected of each meter
// (app.ExpectedMeasurement: the baseline stays in the daemon's state dir,
// its predictions go to InfluxDB): one point per whole past hour, or per
// day for a daily model, at the slot's start, with the daemon's tags of the
// meter's device (site, device) and, after the meter's point, the fields
// _expected (the slot's consumption, kWh for electricity) and _hours (the
// hours the slot covers).
const (
	ExpectedMeasurement = "energy_expected"
	ExpectedSuffix      = "_expected"
	ExpectedHoursSuffix = "_hours"
)

// Expected is one slot a site's daemon's baseline expected of a meter.
type Expected struct {
	Start time.Time
	Hours int
	KWh   float64
}

// Expectations is what the portfolio reads of the sites' baselines: an
// Energy that also implements it gets the baseline figures.
type Expectations interface {
	// Expected returns the slots of meter m of site starting in [from, to),
	// oldest first.
	Expected(ctx context.Context, site string, m *usage.Meter, from, to time.Time) ([]Expected, error)
}

var _ Expectations = influxEnergy{}

// Expected implements Expectations, in the site's meters' query language.
func (e influxEnergy) Expected(ctx context.Context, site string, m *usage.Meter, from, to time.Time) ([]Expected, error) {
	eng := e.engines[site]
	if eng == nil {
		return nil, fmt.Errorf("no site %q", site)
	}
	val, hours := m.Point()+ExpectedSuffix, m.Point()+ExpectedHoursSuffix
	var out []Expected
	if eng.Backend() == usage.FluxBackend {
		q := fmt.Sprintf(`from(bucket: %s) |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s and r.site == %s and r.device == %s and (r._field == %s or r._field == %s))
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> sort(columns: ["_time"])`,
			store.FluxString(e.src.Bucket()), store.FluxTime(from), store.FluxTime(to), store.FluxString(ExpectedMeasurement),
			store.FluxString(site), store.FluxString(m.Device), store.FluxString(val), store.FluxString(hours))
		err := e.src.QueryRows(ctx, q, func(row map[string]any) error {
			t, ok := row["_time"].(time.Time)
			v, ok2 := row[val].(float64)
			h, ok3 := row[hours].(int64)
			if ok && ok2 && ok3 {
				out = append(out, Expected{Start: t, Hours: int(h), KWh: v})
			}
			return nil
		})
		return out, err
	}
	ql, ok := e.src.(usage.InfluxQL)
	if !ok {
		return nil, fmt.Errorf("the source %T cannot run InfluxQL", e.src)
	}
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE "site" = %s AND "device" = %s AND time >= %d AND time < %d`,
		store.InfluxQLIdent(val), store.InfluxQLIdent(hours), store.InfluxQLIdent(ExpectedMeasurement),
		store.InfluxQLString(site), store.InfluxQLString(m.Device), from.UnixNano(), to.UnixNano())
	err := ql.QueryInfluxQL(ctx, q, func(s store.InfluxQLSeries) error {
		for _, row := range s.Values {
			if len(row) < 3 {
				continue
			}
			t, ok1 := jsonInt(row[0])
			v, ok2 := jsonFloat(row[1])
			h, ok3 := jsonInt(row[2])
			if ok1 && ok2 && ok3 {
				out = append(out, Expected{Start: time.Unix(0, t), Hours: int(h), KWh: v})
			}
		}
		return nil
	})
	return out, err
}

func jsonInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func jsonFloat(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// covered counts the slots of xs that lie wholly in [from, to) and start
// where no earlier slot covers (a daemon refitted from hourly to a daily
// model writes a day over hours already written): their expected kWh and
// the hours they cover, each hour's start in hours.
func covered(xs []Expected, from, to time.Time, hours map[int64]bool) (kwh float64) {
	var until time.Time
	for _, x := range xs {
		end := x.Start.Add(time.Duration(x.Hours) * time.Hour)
		if x.Hours <= 0 || x.Start.Before(from) || end.After(to) || x.Start.Before(until) {
			continue
		}
		until = end
		kwh += x.KWh
		for h := x.Start; h.Before(end); h = h.Add(time.Hour) {
			hours[h.Unix()] = true
		}
	}
	return kwh
}

// baselineFigure fills f's baseline figures for site s over [from, to):
// the expectations of its billed meters, the hours they cover (the lowest
// share among the meters) and, when they and the readings cover at least
// MinCoveragePct, the change of the actual consumption over the hours with
// an expectation against it. Without expectations it leaves f as it is.
func baselineFigure(ctx context.Context, en Energy, s *Site, from, to time.Time, f *EnergyFigure) error {
	x, ok := en.(Expectations)
	if !ok || !to.After(from) {
		return nil
	}
	period := int(to.Sub(from).Round(time.Hour) / time.Hour)
	byID := map[string]*usage.Meter{}
	for _, m := range s.Meters.Meters {
		byID[m.ID] = m
	}
	var expected float64
	cov := 100.0
	some := false
	hoursOf := map[string]map[int64]bool{}
	for _, id := range billedMeters(s) {
		xs, err := x.Expected(ctx, s.ID, byID[id], from, to)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		hours := map[int64]bool{}
		expected += covered(xs, from, to, hours)
		hoursOf[id] = hours
		some = some || len(hours) > 0
		cov = min(cov, 100*float64(len(hours))/float64(period))
	}
	if !some {
		return nil
	}
	b := round(expected, 3)
	f.BaselineKWh, f.BaselineCoveragePct = &b, round(cov, 1)
	if cov < MinCoveragePct || f.CoveragePct < MinCoveragePct || expected <= 0 {
		return nil
	}
	// The actual of the same hours: by the hour, each meter's hours with
	// an expectation.
	rep, err := en.Consumption(ctx, usage.Query{Meters: billedMeters(s), Site: s.ID, From: from, To: to, Interval: usage.Hour, Zone: zoneOf(from)})
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	var actual float64
	for _, u := range rep.Meters {
		for _, sl := range u.Slots {
			if hoursOf[u.Meter][sl.Start.Unix()] {
				actual += sl.Amount
			}
		}
	}
	a := round(actual, 3)
	c := round(100*(actual-expected)/expected, 1)
	f.BaselineActualKWh, f.VsBaselinePct = &a, &c
	return nil
}

// baselineNote is what the baseline figures are, for the view's note.
var baselineNote = strings.Join([]string{
	"The baseline is what each site's daemon's own baselines (fit for alarms: CalTRACK, ASHRAE Guideline 14) expected of its billed meters,",
	"written hourly to InfluxDB (energy_expected) from the daemon's outdoor temperature; vs_baseline_pct compares the hours that have an expectation,",
	"and needs 90 % of the period covered by expectations and by readings.",
}, " ")
