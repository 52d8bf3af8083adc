package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/web"
)

// ServeConsumption implements web.EnergyService with the running
// generation's meters; ?cost=true adds the range's cost at the tariffs
// (withCost).
func (a *app) ServeConsumption(w http.ResponseWriter, r *http.Request) {
	er := a.currentEnergy()
	if er == nil {
		writeAPIError(w, http.StatusNotFound, web.ErrNoEnergy.Error())
		return
	}
	switch c := r.URL.Query().Get("cost"); c {
	case "", "false":
		er.handler.ServeHTTP(w, r)
	case "true":
		a.withCost(er, w, r)
	default:
		writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("cost: want true or false, got %q", c))
	}
}

// EnergyBaselines implements web.EnergyService.
func (a *app) EnergyBaselines(ctx context.Context) ([]web.EnergyBaseline, error) {
	er := a.currentEnergy()
	if er == nil {
		return nil, nil
	}
	var out []web.EnergyBaseline
	for _, m := range er.usage.Meters() {
		out = append(out, er.view(m, er.store.get(m.ID)))
	}
	return out, nil
}

func (er *energyRunner) view(m *usage.Meter, b *storedBaseline) web.EnergyBaseline {
	v := web.EnergyBaseline{Meter: m.ID, Device: m.Device, Category: string(m.Category), Unit: m.OutUnit(), Kind: string(er.energy.ModelFor(m))}
	if b == nil {
		v.Error = "not fitted yet"
		return v
	}
	v.FittedAt, v.TrainingFrom, v.TrainingTo, v.Error = b.FittedAt, b.From, b.To, b.Error
	if b.Model != nil {
		v.Model, v.FitForAlarms, v.Reasons = b.Model, b.Model.FitForAlarms, b.Model.Reasons
		v.TrainingFrom, v.TrainingTo = b.Model.TrainingFrom, b.Model.TrainingTo
	}
	return v
}

// EnergyAnomalies implements web.EnergyService: the anomalies of the last
// check, active first, then newest first.
func (a *app) EnergyAnomalies(ctx context.Context) ([]web.EnergyAnomaly, error) {
	er := a.currentEnergy()
	if er == nil {
		return nil, nil
	}
	er.mu.RLock()
	found := er.found
	er.mu.RUnlock()
	out := make([]web.EnergyAnomaly, 0, len(found))
	for _, f := range found {
		an := web.EnergyAnomaly{Meter: f.meter.ID, Device: f.meter.Device, Rule: f.rule.Name, Detector: string(f.rule.Energy.Detector),
			Kind: f.a.Kind, Start: f.a.Start, End: f.a.End, Detected: f.a.Detected, Active: f.active, Excess: f.a.Excess, Unit: f.meter.OutUnit()}
		if f.cost.ok {
			an.Cost, an.Currency = f.cost.amount, f.cost.currency
		}
		out = append(out, an)
	}
	slices.SortStableFunc(out, func(x, y web.EnergyAnomaly) int {
		if x.Active != y.Active {
			if x.Active {
				return -1
			}
			return 1
		}
		if c := y.Start.Compare(x.Start); c != 0 {
			return c
		}
		return strings.Compare(x.Meter+x.Rule, y.Meter+y.Rule)
	})
	return out, nil
}

// RefitBaselines implements web.EnergyService: it fits now, then checks
// the meters against the new baselines.
func (a *app) RefitBaselines(ctx context.Context, meter string) ([]web.EnergyBaseline, error) {
	er := a.currentEnergy()
	if er == nil {
		return nil, web.ErrNoEnergy
	}
	var todo []*usage.Meter
	for _, m := range er.usage.Meters() {
		if meter == "" || m.ID == meter {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		return nil, fmt.Errorf("meter %q: %w", meter, web.ErrNoEnergy)
	}
	var out []web.EnergyBaseline
	for i, b := range er.fit(ctx, todo) {
		out = append(out, er.view(todo[i], b))
	}
	er.check(ctx)
	return out, nil
}
