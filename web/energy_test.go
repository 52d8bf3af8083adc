package web

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

type fakeEnergy struct {
	refits []string
}

var _ EnergyService = (*fakeEnergy)(nil)

func (f *fakeEnergy) ServeConsumption(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"meters": []any{}})
}

func (f *fakeEnergy) EnergyBaselines(context.Context) ([]EnergyBaseline, error) {
	return []EnergyBaseline{{Meter: "main", Kind: "hourly", FitForAlarms: false, Reasons: []string{"CV(RMSE) 31 % > 30 %"}}}, nil
}

func (f *fakeEnergy) EnergyAnomalies(context.Context) ([]EnergyAnomaly, error) {
	t0 := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	return []EnergyAnomaly{
		{Meter: "water", Rule: "water_leak", Active: true, Start: t0, Excess: 3.5, Unit: "m3"},
		{Meter: "main", Rule: "electricity_overuse", Start: t0.Add(-24 * time.Hour), End: t0.Add(-12 * time.Hour), Excess: 120, Unit: "kWh"},
	}, nil
}

func (f *fakeEnergy) RefitBaselines(_ context.Context, meter string) ([]EnergyBaseline, error) {
	if meter == "nope" {
		return nil, ErrNoEnergy
	}
	f.refits = append(f.refits, meter)
	return []EnergyBaseline{{Meter: meter}}, nil
}

func (f *fakeEnergy) EnergyToday(context.Context) (EnergyToday, error) {
	p := 90.0
	return EnergyToday{Meters: []EnergyTodayMeter{{Meter: "main", Category: "electricity", Unit: "kWh", Measured: 100, Predicted: &p, Hours: 9}}}, nil
}

func TestEnergyRoutes(t *testing.T) {
	f := &fakeEnergy{}
	s := New(Deps{Energy: f, Auth: testAuth(t)}, slog.New(slog.DiscardHandler))
	var bs struct{ Baselines []EnergyBaseline }
	if code := call(t, s, "GET", "/api/v1/energy/baselines", "", "", &bs); code != http.StatusOK || len(bs.Baselines) != 1 || bs.Baselines[0].Reasons == nil {
		t.Errorf("baselines: %d %+v", code, bs)
	}
	var as struct{ Anomalies []EnergyAnomaly }
	if code := call(t, s, "GET", "/api/v1/energy/anomalies", "", "", &as); code != http.StatusOK || len(as.Anomalies) != 2 {
		t.Errorf("anomalies: %d %+v", code, as)
	}
	if code := call(t, s, "GET", "/api/v1/energy/anomalies?active=true", "", "", &as); code != http.StatusOK || len(as.Anomalies) != 1 || as.Anomalies[0].Excess != 3.5 {
		t.Errorf("active anomalies: %d %+v", code, as)
	}
	var today EnergyToday
	if code := call(t, s, "GET", "/api/v1/energy/today", "", "", &today); code != http.StatusOK || len(today.Meters) != 1 ||
		*today.Meters[0].Predicted != 90 || today.Categories == nil {
		t.Errorf("today: %d %+v", code, today)
	}
	if code := call(t, s, "GET", "/api/v1/energy/consumption?meter=x", "", "", nil); code != http.StatusOK {
		t.Errorf("consumption: %d", code)
	}
	if code := call(t, s, "POST", "/api/v1/energy/baselines/refit", viewerToken, "", nil); code != http.StatusForbidden {
		t.Errorf("refit by a viewer: %d, want 403", code)
	}
	if code := call(t, s, "POST", "/api/v1/energy/baselines/refit?meter=main", operatorToken, "", &bs); code != http.StatusOK || len(f.refits) != 1 || f.refits[0] != "main" {
		t.Errorf("refit: %d %v", code, f.refits)
	}
	if code := call(t, s, "POST", "/api/v1/energy/baselines/refit?meter=nope", operatorToken, "", nil); code != http.StatusNotFound {
		t.Errorf("refit of an unknown meter: %d, want 404", code)
	}
}
