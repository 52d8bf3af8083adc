package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/web"
)

// history is the web.HistoryService of the dashboard's charts and alert
// history: it knows, from the running config, which measurement holds each
// point of a device and what kind it is, and which rules compare it with a
// constant; InfluxDB downsamples (store.Querier.History).
type history struct {
	a *app
	q *store.Querier
}

var _ web.HistoryService = (*history)(nil)

// healthPoints are the device_health fields a chart may show beside the
// profile's points.
var healthPoints = []string{drivers.HealthLatency, drivers.HealthErrors, drivers.HealthSkipped, drivers.HealthUp}

// PointHistory implements web.HistoryService.
func (h *history) PointHistory(ctx context.Context, device string, points []string, from, to time.Time) (web.History, error) {
	cfg := h.a.current()
	devs := cfg.RuleDevices()
	i := slices.IndexFunc(devs, func(d *rules.Device) bool { return d.ID == device })
	if i < 0 {
		return web.History{}, fmt.Errorf("device %q: %w", device, web.ErrNoDevice)
	}
	prof := cfg.Profiles[devs[i].Profile]
	// Numbers are averaged in InfluxQL, booleans (the share of time true)
	// in Flux: InfluxQL has no mean of booleans, and 1.8's Flux reads every
	// raw point (see store.Querier.HistoryInfluxQL).
	type readKey struct {
		measurement string
		booleans    bool
	}
	byMeas := map[readKey][]string{}
	units := map[string]string{}
	for _, p := range points {
		switch pt := prof.Point(p); {
		case pt != nil && pt.ValueKind() == drivers.KindString:
			return web.History{}, fmt.Errorf("device %q: point %q is text (an enumeration or string), %w", device, p, web.ErrBadPoint)
		case pt != nil:
			k := readKey{prof.Type, pt.ValueKind() == drivers.KindBool}
			byMeas[k] = append(byMeas[k], p)
			units[p] = pt.Unit
		case slices.Contains(healthPoints, p):
			k := readKey{drivers.HealthMeasurement, p == drivers.HealthUp}
			byMeas[k] = append(byMeas[k], p)
			if p == drivers.HealthLatency {
				units[p] = "ms"
			}
		default:
			return web.History{}, fmt.Errorf("device %q has no point %q: %w", device, p, web.ErrBadPoint)
		}
	}
	out := web.History{Device: device, From: from.UTC(), To: to.UTC()}
	got := map[string]store.Series{}
	for k, fields := range byMeas {
		read := h.q.HistoryInfluxQL
		if k.booleans {
			read = h.q.History
		}
		series, every, err := read(ctx, k.measurement, device, fields, from, to, web.MaxHistoryPoints)
		if err != nil {
			return web.History{}, err
		}
		out.Step = every.Seconds()
		for _, s := range series {
			got[s.Field] = s
		}
	}
	for _, p := range points {
		hs := web.HistorySeries{Point: p, Unit: units[p], T: []int64{}, V: []float64{}}
		for _, pt := range got[p].Points {
			hs.T = append(hs.T, pt.Time.Unix())
			hs.V = append(hs.V, pt.Value)
		}
		out.Series = append(out.Series, hs)
	}
	out.Thresholds = h.thresholds(device, points)
	return out, nil
}

// thresholds returns the constants the rules matching device compare the
// points with, in expr and clear (best effort: see web.ParseThresholds).
func (h *history) thresholds(device string, points []string) []web.Threshold {
	cfg := h.a.current()
	var out []web.Threshold
	for _, d := range cfg.RuleDevices() {
		if d.ID != device {
			continue
		}
		for _, r := range cfg.Rules {
			if !r.Match.Matches(d) {
				continue
			}
			for i, expr := range []string{r.Expr, r.Clear} {
				for _, t := range web.ParseThresholds(expr) {
					if slices.Contains(points, t.Point) {
						t.Rule, t.Severity, t.Clear = r.Name, string(r.Severity), i == 1
						out = append(out, t)
					}
				}
			}
		}
	}
	return out
}

// AlertHistory implements web.HistoryService.
func (h *history) AlertHistory(ctx context.Context, device string, from, to time.Time, limit int) ([]web.AlertEvent, error) {
	ev, err := h.q.AlertHistory(ctx, AlertsMeasurement, device, from, to, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.AlertEvent, len(ev))
	for i, e := range ev {
		out[i] = web.AlertEvent(e)
	}
	return out, nil
}
