package app

import (
	"context"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/web"
)

// startHTTP serves the API and dashboard for the whole run.
func (a *app) startHTTP(ctx context.Context, wg *sync.WaitGroup) error {
	addr := a.current().HTTP.Listen
	if addr == "" {
		return nil
	}
	for _, t := range a.current().HTTP.Tokens {
		created, err := t.Ensure()
		if err != nil {
			return err
		}
		if created {
			a.log.Info("created an API token: send it as Authorization: Bearer, e.g. curl -H \"Authorization: Bearer $(cat FILE)\"",
				"token", t.Name, "role", t.Role, "file", t.File)
		}
	}
	auth, err := web.NewAuth(a.current().HTTP.Tokens)
	if err != nil {
		return err
	}
	deps := web.Deps{Status: a, Tickets: a.tickets, Silences: a, Inspections: a, Energy: a, Auth: auth, Metrics: metricsHandler(a.reg),
		Read: a.current().HTTP.Read, Events: web.NewHub(), Now: a.now}
	// The InfluxDB settings are read at start only, like the writer's.
	q, err := store.NewQuerier(a.current().InfluxDB)
	if err != nil {
		return fmt.Errorf("http: history: %w", err)
	}
	deps.History = &history{a: a, q: q}
	if a.reports != nil {
		deps.Reports = a.reports
	}
	srv := web.New(deps, a.log.With("component", "http"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		q.Close()
		return fmt.Errorf("http: %w", err) // a taken port stops the start, not just the API
	}
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			a.log.Error("http server stopped", "addr", addr, "err", err)
		}
		q.Close()
	})
	// One producer for every client of the event stream (see web.Watch).
	wg.Go(func() { srv.Watch(ctx, eventsEvery) })
	return nil
}

// eventsEvery is how often the event stream looks for changes.
const eventsEvery = time.Second

// Devices implements web.Status.
func (a *app) Devices() []web.Device {
	cfg := a.current()
	a.mu.RLock()
	poller := a.poller
	a.mu.RUnlock()
	states := map[string]string{}
	if poller != nil {
		for id, st := range poller.States() {
			states[id] = string(st.Status)
		}
	}
	for id, st := range a.mqttStates() {
		states[id] = st
	}
	out := make([]web.Device, 0, len(cfg.Devices))
	for _, d := range cfg.Devices {
		p := cfg.Profiles[d.Profile]
		points, health := a.live.device(d.ID)
		wd := web.Device{ID: d.ID, Profile: d.Profile, Location: d.Location, Tags: d.Tags, State: states[d.ID], Points: map[string]any{}, Health: map[string]any{}}
		if p != nil {
			wd.Type = p.Type
		}
		for name, r := range points {
			v := map[string]any{"value": r.Value.JSON(), "quality": r.Quality.String(), "time": r.Time}
			if p != nil {
				if pt := p.Point(name); pt != nil {
					for k, s := range map[string]string{"unit": pt.Unit, "label": pt.Label, "label_zh": pt.LabelZh} {
						if s != "" {
							v[k] = s
						}
					}
				}
			}
			wd.Points[name] = v
		}
		for name, r := range health {
			wd.Health[name] = r.Value.JSON()
		}
		if wd.State == "" {
			wd.State = "unknown"
		}
		out = append(out, wd)
	}
	return out
}

// Alerts implements web.Status.
func (a *app) Alerts() []web.Alert {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]web.Alert, 0, len(a.alerts))
	for _, al := range a.alerts {
		wa := web.Alert{Fingerprint: al.Fingerprint, Rule: al.Rule, Device: al.Subject(), Severity: string(al.Severity),
			State: al.State.String(), ActiveAt: al.ActiveAt, Annotations: al.Annotations, Labels: al.Labels,
			SilencedBy: al.SilencedBy, InhibitedBy: al.InhibitedBy}
		if !math.IsNaN(al.Value) && !math.IsInf(al.Value, 0) {
			v := al.Value
			wa.Value = &v
		}
		if !al.FiredAt.IsZero() {
			t := al.FiredAt
			wa.FiredAt = &t
		}
		out = append(out, wa)
	}
	return out
}

// Health implements web.Status: "ok" while the daemon runs and stores,
// "degraded" while the writer retries or is blocked (InfluxDB unreachable,
// overloaded, or refusing the token, org or bucket), with the storage path's
// state. Degraded is not failing: readings wait in the spool, and
// influxdb.state says why.
func (a *app) Health() map[string]any {
	writer := a.writer.Status()
	status := "ok"
	if writer.State != "ok" {
		status = "degraded"
	}
	h := map[string]any{
		"status":   status,
		"influxdb": writer,
		"live":     a.live.Stats(),
	}
	if a.tickets != nil {
		th, ok := a.ticketStoreHealth()
		if !ok {
			h["status"] = "degraded" // transitions wait in the ticket queue
		}
		h["tickets"] = th
	}
	return h
}
