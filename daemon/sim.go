package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/duration"
	"github.com/facilityd/facilityd/store"
)

// simulators builds what `facilityd sim` runs for a config: one Modbus TCP
// server per listen address (the devices behind it are its unit ids, as
// behind a real gateway), and one MQTT publisher for the MQTT devices.
//
// state, when not nil, holds the point values the models start from (the
// end of a backfill), so that counters carry on.
func simulators(cfg *config.Config, faults []sim.Fault, seed int64, state map[string]map[string]float64, logger *slog.Logger) ([]func(context.Context) error, error) {
	faultsOf := func(ids map[string]bool) []sim.Fault {
		var out []sim.Fault
		for _, f := range faults {
			if ids[f.Device] {
				out = append(out, f)
			}
		}
		return out
	}
	byAddr := map[string][]sim.Device{}
	var order []string
	var mqttDevs []sim.MQTTDevice
	for _, d := range cfg.Devices {
		switch {
		case d.Modbus != nil && d.Modbus.Transport == modbus.TCP:
			if _, ok := byAddr[d.Modbus.Address]; !ok {
				order = append(order, d.Modbus.Address)
			}
			byAddr[d.Modbus.Address] = append(byAddr[d.Modbus.Address], sim.Device{ID: d.ID, UnitID: d.Modbus.UnitID, Profile: cfg.Profiles[d.Profile]})
		case d.MQTT != nil:
			mqttDevs = append(mqttDevs, sim.MQTTDevice{ID: d.ID, Profile: cfg.Profiles[d.Profile], Config: *d.MQTT})
		}
	}
	var runs []func(context.Context) error
	for _, addr := range order {
		devs := byAddr[addr]
		ids := map[string]bool{}
		names := make([]string, 0, len(devs))
		for _, d := range devs {
			ids[d.ID] = true
			names = append(names, fmt.Sprintf("%s(unit %d)", d.ID, d.UnitID))
		}
		s, err := sim.New(sim.Config{Addr: addr, Devices: devs, Seed: seed, State: state}, faultsOf(ids), logger)
		if err != nil {
			return nil, err
		}
		runs = append(runs, func(ctx context.Context) error {
			go func() {
				select {
				case <-s.Ready():
					logger.Info("simulator listening", "addr", s.Addr(), "devices", strings.Join(names, " "))
				case <-ctx.Done():
				}
			}()
			return s.Run(ctx)
		})
	}
	if len(mqttDevs) > 0 {
		if cfg.MQTT == nil || cfg.MQTT.Broker == "" {
			return nil, fmt.Errorf("sim: MQTT devices need an mqtt section with a broker (or embedded broker) in %s", cfg.Path)
		}
		password, err := cfg.MQTT.Secret()
		if err != nil {
			return nil, fmt.Errorf("sim: mqtt %w", err)
		}
		ids := map[string]bool{}
		for _, d := range mqttDevs {
			ids[d.ID] = true
		}
		p, err := sim.NewMQTTPublisher(sim.MQTTConfig{
			Broker: cfg.MQTT.Broker, Username: cfg.MQTT.Username, Password: password,
			ClientID: cfg.MQTT.ClientID + "-sim", Devices: mqttDevs, Seed: seed, State: state,
		}, faultsOf(ids), logger)
		if err != nil {
			return nil, err
		}
		logger.Info("simulated MQTT devices publishing", "broker", cfg.MQTT.Broker, "devices", len(mqttDevs))
		runs = append(runs, p.Run)
	}
	return runs, nil
}

// backfillStall is how long a backfill waits for InfluxDB to take writes
// before it gives up.
const backfillStall = 30 * time.Second

// backfillOptions are the --backfill flags of `facilityd sim`.
type backfillOptions struct {
	span, step time.Duration
	seed       int64
	now        time.Time // the end of the history
}

// backfill writes opts.span of simulated history, up to opts.now, for every
// Modbus and MQTT device of cfg the simulator has a model for, into cfg's
// InfluxDB with the daemon's measurements and tags. It returns the models'
// state at the end, for the live simulators to carry on from.
func backfill(ctx context.Context, cfg *config.Config, faults []sim.Fault, opts backfillOptions, logger *slog.Logger) (map[string]map[string]float64, error) {
	var devs []sim.BackfillDevice
	ids := map[string]bool{}
	for _, d := range cfg.Devices {
		p := cfg.Profiles[d.Profile]
		if p == nil || d.Modbus == nil && d.MQTT == nil {
			continue
		}
		if !slices.Contains(sim.Models(), p.Type) {
			logger.Warn("backfill: no model for the device's equipment type; skipped", "device", d.ID, "type", p.Type)
			continue
		}
		transport := sim.TransportModbus
		if d.Modbus == nil {
			transport = sim.TransportMQTT
		}
		devs = append(devs, sim.BackfillDevice{ID: d.ID, Profile: p, Transport: transport})
		ids[d.ID] = true
	}
	var fs []sim.Fault
	for _, f := range faults {
		if ids[f.Device] {
			fs = append(fs, f)
		}
	}
	b, err := sim.NewBackfill(sim.BackfillConfig{Devices: devs, From: opts.now.Add(-opts.span), To: opts.now,
		Step: opts.step, Seed: opts.seed}, fs)
	if err != nil {
		return nil, err
	}
	first, last, steps := b.Span()
	// The ground truth of the faults in the history, to score the energy
	// anomalies the daemon finds against.
	for _, g := range b.GroundTruth() {
		until := "the end"
		if !g.End.IsZero() {
			until = g.End.Format(time.DateTime)
		}
		logger.Info("backfill fault", "device", g.Device, "kind", g.Kind, "size", g.Size, "unit", g.Unit,
			"from", g.Start.Format(time.DateTime), "until", until)
	}
	oldStep, recent := b.OldStep()
	tags := cfg.DeviceTags()
	w, err := store.NewWriter(cfg.InfluxDB, store.WriterOptions{
		Tags:   func(id string) map[string]string { return tags[id] },
		Logger: logger.With("component", "influxdb"),
	})
	if err != nil {
		return nil, err
	}
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	werr := make(chan error, 1)
	go func() { werr <- w.Run(wctx) }()
	defer func() { stopWriter(); <-werr }()

	logger.Info("backfill started", "devices", len(devs), "from", first.Format(time.DateTime), "to", last.Format(time.DateTime),
		"step", b.Step(), "old_step", oldStep, "old_until", recent.Format(time.DateTime), "steps", steps, "influxdb", cfg.InfluxDB.URL)
	start := time.Now()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sink := &backfillSink{w: w, limit: int64(cfg.InfluxDB.WithDefaults().MaxBuffered / 2), cancel: cancel}
	_, err = b.Run(runCtx, sink, func(p sim.BackfillProgress) {
		logger.Info("backfill", "at", p.Time.Format(time.DateTime), "done", fmt.Sprintf("%d%%", 100*p.Step/p.Steps),
			"samples", p.Samples, "written", w.Stats().Written)
	})
	if err == nil {
		err = drain(runCtx, w, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("backfill: %w", context.Cause(runCtx))
	}
	took := time.Since(start)
	st := w.Stats()
	logger.Info("backfill done", "samples", st.Written, "points", sink.lines, "devices", len(devs),
		"from", first.Format(time.DateTime), "to", last.Format(time.DateTime), "took", took.Round(time.Millisecond),
		"rate", fmt.Sprintf("%.0f samples/s, %.0f points/s", float64(st.Written)/took.Seconds(), float64(sink.lines)/took.Seconds()))
	if st.Dropped > 0 || st.Skipped > 0 {
		logger.Warn("backfill: some samples were not stored", "dropped", st.Dropped, "skipped", st.Skipped, "last_error", w.Status().LastError)
	}
	return b.State(), nil
}

// backfillSink hands a backfill's samples to the writer no faster than
// InfluxDB takes them, since the writer drops the oldest when it overflows,
// and counts the points (lines) they make.
type backfillSink struct {
	w      *store.Writer
	limit  int64
	cancel context.CancelCauseFunc
	lines  int64
	dev    string
	t      time.Time
}

func (s *backfillSink) Put(ctx context.Context, samples []drivers.Sample) {
	if err := drain(ctx, s.w, s.limit); err != nil {
		s.cancel(err)
		return
	}
	s.w.Put(ctx, samples)
	for i := range samples {
		if samples[i].Device != s.dev || !samples[i].Time.Equal(s.t) {
			s.dev, s.t = samples[i].Device, samples[i].Time
			s.lines++
		}
	}
}

// drain waits until at most limit samples wait in w. It fails when InfluxDB
// has taken nothing for backfillStall, or ctx ends.
func drain(ctx context.Context, w *store.Writer, limit int64) error {
	written, since := int64(-1), time.Now()
	for {
		st := w.Stats()
		if st.Pending <= limit {
			return nil
		}
		if st.Written != written {
			written, since = st.Written, time.Now()
		} else if time.Since(since) > backfillStall {
			return fmt.Errorf("InfluxDB took no samples for %s (%s); %d not written", backfillStall, w.Status().LastError, st.Pending)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// spanFlag is a duration flag that also takes whole days, 30d, as history
// spans are usually written.
type spanFlag time.Duration

func (f *spanFlag) String() string { return time.Duration(*f).String() }

func (f *spanFlag) Set(s string) error {
	d, err := duration.Parse(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q: write whole days such as 30d, or a duration such as 36h", s)
	}
	*f = spanFlag(d)
	return nil
}
