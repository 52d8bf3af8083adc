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
	// EnergyToday sets today's consumption so far against what each
	// meter's baseline predicts for the same hours.
	EnergyToday(ctx context.Context) (EnergyToday, error)
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

// EnergyToday is the answer of GET /api/v1/energy/today: the whole hours
// of today (in the site's zone) up to the last one, each meter's measured
// consumption over them against its baseline's prediction, and both summed
// per category; and the same for yesterday's whole day.
//
// A meter whose baseline is a daily model (CalTRACK degree days, or the
// daily fallback of an hourly model that failed its gate) is compared on
// whole days only: today it has no prediction (Predicted and DiffPct are
// null, Compared is "days") but the whole day's, DayPredicted, as context;
// its comparison is Yesterday's. Today's Categories therefore sum the
// hourly and time-of-week meters only; Yesterday's sum every meter with a
// prediction for the whole day.
type EnergyToday struct {
	// From is the site's midnight; To the end of the last whole hour.
	From   time.Time          `json:"from"`
	To     time.Time          `json:"to"`
	Zone   string             `json:"zone"`
	Meters []EnergyTodayMeter `json:"meters"`
	// Categories sum the meters that have a prediction today and no
	// parent meter among those (a sub-meter is in its main meter already).
	Categories []EnergyTodayCategory `json:"categories"`
	// Yesterday is the day before From, whole.
	Yesterday EnergyTodayYesterday `json:"yesterday"`
}

// EnergyTodayYesterday is yesterday's whole day: each meter's comparison
// is its EnergyTodayMeter.Yesterday, summed here per category as today's.
type EnergyTodayYesterday struct {
	From       time.Time             `json:"from"`
	To         time.Time             `json:"to"`
	Categories []EnergyTodayCategory `json:"categories"`
}

// EnergyTodayMeter is one meter's today so far.
type EnergyTodayMeter struct {
	Meter    string `json:"meter"`
	Device   string `json:"device"`
	Category string `json:"category"`
	Parent   string `json:"parent,omitempty"`
	Unit     string `json:"unit"`
	// Kind is the baseline's model kind (daily, hourly or tow).
	Kind string `json:"kind,omitempty"`
	// Compared is "hours" when today's hours compare (an hourly or
	// time-of-week model), "days" for a daily model (whole days only:
	// see Yesterday); empty without a model.
	Compared string `json:"compared,omitempty"`
	// Measured is the consumption over the Hours compared (for a daily
	// model, the hours read so far).
	Measured float64 `json:"measured"`
	// Predicted is the baseline's prediction over the same hours; nil
	// without one (Error says why) and for a daily model (Compared
	// "days"), which predicts whole days only.
	Predicted *float64 `json:"predicted"`
	// DiffPct is (Measured − Predicted) / Predicted in percent; nil when
	// the prediction is nil or zero.
	DiffPct *float64 `json:"diff_pct"`
	// DayPredicted is a daily model's prediction of the whole of today,
	// from the mean temperature of its hours so far: context, not to be
	// set against Measured.
	DayPredicted *float64 `json:"day_predicted,omitempty"`
	// Hours counts the hours compared: read, and predicted when there is
	// a model (an hour without a temperature has no hourly prediction).
	Hours        int    `json:"hours"`
	FitForAlarms bool   `json:"fit_for_alarms"`
	Error        string `json:"error,omitempty"`
	// Yesterday compares the whole day before: hour by hour as today for
	// an hourly or time-of-week model; for a daily model the day's
	// measured against its prediction, when every hour of it was read.
	Yesterday *EnergyTodayPeriod `json:"yesterday,omitempty"`
}

// EnergyTodayPeriod is one meter's measured against predicted over a
// period (yesterday).
type EnergyTodayPeriod struct {
	Measured float64 `json:"measured"`
	// Predicted is nil without a model or, for a daily model, when the
	// day was not read whole (Error says why).
	Predicted *float64 `json:"predicted"`
	DiffPct   *float64 `json:"diff_pct"`
	Hours     int      `json:"hours"`
	Error     string   `json:"error,omitempty"`
}

// EnergyTodayCategory is one category's today so far (or yesterday).
type EnergyTodayCategory struct {
	Category  string   `json:"category"`
	Unit      string   `json:"unit"`
	Meters    int      `json:"meters"`
	Measured  float64  `json:"measured"`
	Predicted float64  `json:"predicted"`
	DiffPct   *float64 `json:"diff_pct"`
	// DailyMeters counts the category's meters with a daily model left
	// out of today's sums (compared on whole days: see yesterday's).
	DailyMeters int `json:"daily_meters,omitempty"`
}

// EnergyCost is what GET /api/v1/energy/consumption?cost=true adds as
// "cost": the range's consumption priced at the configured tariffs as the
// energy report prices it (time-of-use bands, tiers, fixed and demand
// charges prorated for a partial month), per category of the billed meters
// and per meter.
type EnergyCost struct {
	Currency string `json:"currency"`
	// From and To bound what was priced: To is the request's to, rounded
	// down to the quarter hour while the range is not over.
	From       time.Time          `json:"from"`
	To         time.Time          `json:"to"`
	Partial    bool               `json:"partial"`
	Categories []EnergyCostAmount `json:"categories"`
	Meters     []EnergyCostAmount `json:"meters"`
	// Error says why there is no cost: no tariffs configured, a range not
	// started.
	Error string `json:"error,omitempty"`
}

// EnergyCostAmount is the cost of one category or one meter.
type EnergyCostAmount struct {
	Category string `json:"category"`
	Meter    string `json:"meter,omitempty"`
	Unit     string `json:"unit"`
	// Billed is false for a sub-meter: priced at the energy price, not
	// counted in its category.
	Billed     bool    `json:"billed"`
	Quantity   float64 `json:"quantity"`
	EnergyCost float64 `json:"energy_cost"`
	FixedCost  float64 `json:"fixed_cost"`
	DemandCost float64 `json:"demand_cost"`
	Cost       float64 `json:"cost"`
	// Unpriced is the quantity used when no tariff was in force.
	Unpriced float64 `json:"unpriced,omitempty"`
}

func (s *Server) energyRoutes() {
	s.mux.HandleFunc("GET /api/v1/energy/consumption", s.Energy.ServeConsumption)
	s.mux.HandleFunc("GET /api/v1/energy/today", s.energyToday)
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

func (s *Server) energyToday(w http.ResponseWriter, r *http.Request) {
	t, err := s.Energy.EnergyToday(r.Context())
	switch {
	case errors.Is(err, ErrNoEnergy):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusBadGateway, err.Error())
	default:
		t.Meters, t.Categories, t.Yesterday.Categories = nonNil(t.Meters), nonNil(t.Categories), nonNil(t.Yesterday.Categories)
		writeJSON(w, http.StatusOK, t)
	}
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
