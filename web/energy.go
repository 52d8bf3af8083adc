package web

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// EnergyService is what the energy routes need; the app provides it over
// the meters, their stored baselines and the last anomaly check.
type EnergyService interface {
	// ServeConsumption answers GET /api/v1/energy/consumption (see
	// energy/usage.NewHandler).
	ServeConsumption(w http.ResponseWriter, r *http.Request)
	// EnergyBaselines lists every meter's stored baseline.
	EnergyBaselines(ctx context.Context) ([]EnergyBaseline, error)
	// EnergyAnomalies lists the anomalies of the last check, active first.
	EnergyAnomalies(ctx context.Context) ([]EnergyAnomaly, error)
	// RefitBaselines fits the baselines again now (of one meter, or all when
	// meter is empty) and returns them; ErrNoEnergy when none is configured.
	RefitBaselines(ctx context.Context, meter string) ([]EnergyBaseline, error)
}

// ErrNoEnergy is what EnergyService returns when the config has no energy
// section or no such meter: the API answers 404.
var ErrNoEnergy = errors.New("no such meter (or no energy section in the config)")

// EnergyBaseline is one meter's baseline as the API shows it.
type EnergyBaseline struct {
	Meter    string `json:"meter"`
	Device   string `json:"device"`
	Category string `json:"category"`
	Unit     string `json:"unit"`
	// Kind is the model kind configured (daily, hourly or tow).
	Kind     string    `json:"kind"`
	FittedAt time.Time `json:"fitted_at,omitzero"`
	// TrainingFrom and TrainingTo bound the training window.
	TrainingFrom time.Time `json:"training_from,omitzero"`
	TrainingTo   time.Time `json:"training_to,omitzero"`
	FitForAlarms bool      `json:"fit_for_alarms"`
	Reasons      []string  `json:"reasons,omitempty"`
	// Model is the fitted model with its statistics (energy/baseline.Model),
	// nil when the fit failed (Error says why).
	Model any    `json:"model,omitempty"`
	Error string `json:"error,omitempty"`
}

// EnergyAnomaly is one anomaly of a meter, as an energy rule found it.
type EnergyAnomaly struct {
	Meter    string    `json:"meter"`
	Device   string    `json:"device"`
	Rule     string    `json:"rule"`
	Detector string    `json:"detector"`
	Kind     string    `json:"kind"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Detected time.Time `json:"detected,omitzero"`
	// Active is true while the anomaly lasts to the last hour checked.
	Active bool `json:"active"`
	// Excess is Σ(actual − baseline) over the anomaly so far, in Unit.
	Excess float64 `json:"excess"`
	Unit   string  `json:"unit"`
	// Cost is the excess at the tariff (the mean price of the anomaly's
	// hours), when the config has a tariff for the meter's category.
	Cost     float64 `json:"cost,omitempty"`
	Currency string  `json:"currency,omitempty"`
}

func (s *Server) energyRoutes() {
	s.mux.HandleFunc("GET /api/v1/energy/consumption", s.Energy.ServeConsumption)
	s.mux.HandleFunc("GET /api/v1/energy/baselines", s.energyBaselines)
	s.mux.HandleFunc("GET /api/v1/energy/anomalies", s.energyAnomalies)
	s.mux.HandleFunc("POST /api/v1/energy/baselines/refit", s.require(RoleOperator, s.energyRefit))
}

func (s *Server) energyBaselines(w http.ResponseWriter, r *http.Request) {
	bs, err := s.Energy.EnergyBaselines(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"baselines": nonNil(bs)})
}

// energyAnomalies lists anomalies; ?active=true keeps the active ones.
func (s *Server) energyAnomalies(w http.ResponseWriter, r *http.Request) {
	as, err := s.Energy.EnergyAnomalies(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if r.URL.Query().Get("active") == "true" {
		kept := as[:0:0]
		for _, a := range as {
			if a.Active {
				kept = append(kept, a)
			}
		}
		as = kept
	}
	writeJSON(w, http.StatusOK, map[string]any{"anomalies": nonNil(as)})
}

// energyRefit fits the baselines again: ?meter=ID for one meter.
func (s *Server) energyRefit(w http.ResponseWriter, r *http.Request, actor string) {
	bs, err := s.Energy.RefitBaselines(r.Context(), r.URL.Query().Get("meter"))
	switch {
	case errors.Is(err, ErrNoEnergy):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusBadGateway, err.Error())
	default:
		s.log.Info("energy baselines refitted", "by", actor, "meters", len(bs))
		writeJSON(w, http.StatusOK, map[string]any{"baselines": nonNil(bs)})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
