package app

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/drivers/mqtt"
	mqttevents "github.com/facilityd/facilityd/events/mqtt"
	"github.com/facilityd/facilityd/rules"
)

// The drivers outlive a reload whose config leaves them unchanged: their
// connections, back-off and learned refusals stay. Each runs on the run's
// context under a cancel of its own, and puts into ingest, which always
// feeds the running generation's rules.

// running is one driver started by the app.
type running struct {
	spec   any // what it was built from, compared on reload
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *running) stop() {
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// driverSet holds the running drivers; only Run's goroutine changes it.
type driverSet struct {
	ctx    context.Context // the run's
	modbus *running
	mqtt   *running
	// noRules is set while the running generation has no rules and no
	// inspection plans: then ingest does not copy every put for the rules,
	// which would only walk it (about a tenth of the CPU of ingest alone).
	noRules atomic.Bool
}

// mqttSpec is what the MQTT driver is built from.
type mqttSpec struct {
	Config    *config.MQTT
	Devices   any
	Discovery []mqttevents.DiscoveryDevice
}

// ingestMetrics count what the rules missed.
type ingestMetrics struct{ ruleDrops prometheus.Counter }

// ingest takes the samples of every driver: storage, live state, the MQTT
// device state, and the rules of the running generation, which get them in
// batches (see ruleFeed). It serializes the drivers' puts. When the rules
// fall behind, their feed drops puts (storage still has every sample),
// counted.
func (a *app) ingest(ctx context.Context, samples []drivers.Sample) {
	a.ingestMu.Lock()
	defer a.ingestMu.Unlock()
	a.writer.Put(ctx, samples)
	a.live.put(samples)
	if m := a.mqttLinked(); m != nil {
		m.events.ObserveSamples(samples)
	}
	if a.drivers.noRules.Load() {
		return
	}
	if !a.rules.put(samples) {
		a.ruleDrops++
		if a.ingestMetrics.ruleDrops != nil {
			a.ingestMetrics.ruleDrops.Add(float64(len(samples)))
		}
		if n := a.ruleDrops; n&(n-1) == 0 {
			a.log.Warn("rule queue full; samples skipped by rules", "polls_skipped", n)
		}
	}
}

// startDrivers starts, or keeps when their config is unchanged, the Modbus
// poller and the MQTT driver of cfg. An error leaves the running ones as
// they were only if nothing was stopped yet; the caller treats it as a
// failed generation.
func (a *app) startDrivers(cfg *config.Config) error {
	a.drivers.noRules.Store(watchesNothing(cfg))
	var devs []modbus.Device
	// Critical points (read by rules of severity critical) are never given
	// up when a device refuses them: the poller reads them every poll, and
	// the rules raise <rule>_unreadable while they do not read.
	critical := rules.CriticalPoints(cfg.RuleSet(), cfg.RuleDevices())
	for _, d := range cfg.Devices {
		if d.Modbus != nil {
			md := modbus.Device{ID: d.ID, Profile: cfg.Profiles[d.Profile], Config: *d.Modbus}
			if pts := critical[d.ID]; len(pts) > 0 {
				md.Critical = make(map[string]bool, len(pts))
				for _, p := range pts {
					md.Critical[p] = true
				}
			}
			devs = append(devs, md)
		}
	}
	ds := &a.drivers
	if ds.modbus == nil || !reflect.DeepEqual(ds.modbus.spec, devs) {
		poller, err := modbus.New(devs, a.log.With("component", "modbus"))
		if err != nil {
			return err
		}
		if ds.modbus != nil {
			a.log.Info("modbus: config changed; reconnecting")
		}
		ds.modbus.stop()
		a.mu.Lock()
		a.poller = poller
		a.mu.Unlock()
		ds.modbus = ds.start(devs, func(ctx context.Context) {
			if err := poller.Run(ctx, a.modbusMetrics.observing(devs, drivers.SinkFunc(a.ingest))); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("modbus poller stopped", "err", err)
			}
		})
	} else {
		a.log.Info("modbus: config unchanged; connections kept", "devices", len(devs))
	}

	var spec *mqttSpec
	if cfg.MQTT != nil {
		spec = &mqttSpec{Config: cfg.MQTT, Devices: cfg.MQTTDevices()}
		for _, d := range cfg.Devices {
			spec.Discovery = append(spec.Discovery, mqttevents.DiscoveryDevice{ID: d.ID, Location: d.Location, Profile: cfg.Profiles[d.Profile]})
		}
	}
	if ds.mqtt != nil && reflect.DeepEqual(ds.mqtt.spec, spec) {
		a.log.Info("mqtt: config unchanged; connection kept")
		return nil
	}
	ds.mqtt.stop()
	ds.mqtt = nil
	a.setMQTT(nil)
	if spec == nil {
		return nil
	}
	log := a.log.With("component", "mqtt")
	drv, err := mqtt.New(cfg.MQTT.Config, cfg.MQTTDevices(), log)
	if err != nil {
		return err
	}
	// The outbound events publish over the driver's connection, which the
	// driver's Run keeps up: one client id, one availability topic.
	m := &mqttLink{drv: drv, events: mqttevents.New(cfg.MQTT.Publish, drv.Conn(), log)}
	a.setMQTT(m)
	m.events.PublishDiscovery(spec.Discovery)
	ds.mqtt = ds.start(spec, func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { a.publishStatuses(ctx, m) })
		wg.Go(func() { _ = m.events.Run(ctx) })
		if err := drv.Run(ctx, drivers.SinkFunc(a.ingest)); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("mqtt driver stopped", "err", err)
		}
		wg.Wait()
	})
	return nil
}

func (ds *driverSet) start(spec any, run func(ctx context.Context)) *running {
	ctx, cancel := context.WithCancel(ds.ctx)
	r := &running{spec: spec, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		run(ctx)
	}()
	return r
}

// stopDrivers stops every driver and waits for them.
func (a *app) stopDrivers() {
	a.drivers.modbus.stop()
	a.drivers.mqtt.stop()
	a.drivers.modbus, a.drivers.mqtt = nil, nil
}

// watchesNothing reports whether cfg has neither rules nor inspection plans:
// then its rules engine would evaluate nothing, so ingest does not feed it
// and it watches no devices (at 1,000 meters their state is about 1 MB).
func watchesNothing(cfg *config.Config) bool { return len(cfg.Rules) == 0 && len(cfg.Inspections) == 0 }

// engineDevices returns the devices the rules engine of cfg watches.
func engineDevices(cfg *config.Config) []*rules.Device {
	if watchesNothing(cfg) {
		return nil
	}
	return cfg.RuleDevices()
}
