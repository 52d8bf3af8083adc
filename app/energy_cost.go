package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	energyreport "github.com/facilityd/facilityd/report/energy"
	"github.com/facilityd/facilityd/web"
)

// withCost answers GET /api/v1/energy/consumption?cost=true: the usage
// handler's report with "cost" (web.EnergyCost) added, the same range's
// consumption priced as the energy report prices it.
func (a *app) withCost(er *energyRunner, w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if v.Get("meter") != "" {
		writeAPIError(w, http.StatusBadRequest, "cost: priced per category of the billed meters: leave out meter, or use category and building")
		return
	}
	rec := httptest.NewRecorder()
	er.handler.ServeHTTP(rec, r)
	var rep map[string]json.RawMessage
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &rep) != nil {
		copyResponse(w, rec)
		return
	}
	var span struct{ From, To time.Time }
	if err := json.Unmarshal(rec.Body.Bytes(), &span); err != nil {
		copyResponse(w, rec)
		return
	}
	cost := er.cost(r.Context(), span.From, span.To, v.Get("building"), v.Get("site"), usage.Category(v.Get("category")), a.now())
	data, err := json.Marshal(cost)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, err.Error())
		return
	}
	rep["cost"] = data
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(rep); err != nil {
		writeAPIError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// cost prices [from, to) with energyreport.Build, so that the console's
// figures are the report's: its time-of-use bands, tiers by the month's
// quantity, fixed and demand charges prorated for a partial month. The
// report's comparisons with the history are not wanted here, so its source
// answers them with no meters (see costSource). A range not over by now is
// priced up to now, rounded down to the quarter hour, as the report does.
func (er *energyRunner) cost(ctx context.Context, from, to time.Time, building, site string, c usage.Category, now time.Time) web.EnergyCost {
	out := web.EnergyCost{From: from, To: to, Currency: "CNY", Categories: []web.EnergyCostAmount{}, Meters: []web.EnergyCostAmount{}}
	t := er.cfg.ReportTariffs()
	if t == nil {
		out.Error = "no tariffs: configure tariffs: or reports.tariffs_file"
		return out
	}
	if t.Currency != "" {
		out.Currency = t.Currency
	}
	p, err := energyreport.NewRange(from, to)
	if err == nil {
		var rep *energyreport.Report
		rep, err = energyreport.Build(ctx, costSource{er.usage}, energyreport.Options{Period: p, Site: site, Building: building, Category: c,
			Zone: er.zone(), Tariffs: t, Calendar: er.cfg.EnergyCalendar(), Lang: "en", Now: now})
		if err == nil {
			out.To, out.Partial, out.Currency = rep.End, rep.Partial, rep.Currency
			for _, cf := range rep.Categories {
				out.Categories = append(out.Categories, web.EnergyCostAmount{Category: string(cf.Category), Unit: cf.Unit, Billed: true,
					Quantity: cf.Quantity, EnergyCost: cf.EnergyCost, FixedCost: cf.FixedCost, DemandCost: cf.DemandCost, Cost: cf.Cost})
			}
			for _, mf := range rep.Meters {
				out.Meters = append(out.Meters, web.EnergyCostAmount{Category: string(mf.Category), Meter: mf.Meter, Unit: mf.Unit, Billed: mf.Billed,
					Quantity: mf.Quantity, EnergyCost: mf.EnergyCost, FixedCost: mf.FixedCost, DemandCost: mf.DemandCost, Cost: mf.Cost, Unpriced: mf.Unpriced})
			}
		}
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

// costSource is the report's Source for cost alone: the period's
// quarter hours from the usage engine; the history (read by the hour, for
// the comparisons and the report's own baselines), temperatures and
// tickets answer empty, so pricing a month reads that month only.
type costSource struct{ e *usage.Engine }

func (s costSource) Consumption(ctx context.Context, q usage.Query) (*usage.Report, error) {
	if q.Interval != usage.Quarter {
		return &usage.Report{From: q.From, To: q.To, Interval: q.Interval}, nil
	}
	return s.e.Consumption(ctx, q)
}

func (costSource) Temperatures(context.Context, string, time.Time, time.Time) ([]baseline.TempReading, error) {
	return nil, nil
}

func (costSource) Tickets(context.Context, time.Time, time.Time) ([]energyreport.Ticket, error) {
	return nil, nil
}

// copyResponse writes what rec recorded to w.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func writeAPIError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
