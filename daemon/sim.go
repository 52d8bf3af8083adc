package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/drivers/sim"
)

// simulators builds what `facilityd sim` runs for a config: one Modbus TCP
// server per listen address (the devices behind it are its unit ids, as
// behind a real gateway), and one MQTT publisher for the MQTT devices.
func simulators(cfg *config.Config, faults []sim.Fault, seed int64, logger *slog.Logger) ([]func(context.Context) error, error) {
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
		s, err := sim.New(sim.Config{Addr: addr, Devices: devs, Seed: seed}, faultsOf(ids), logger)
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
			ClientID: cfg.MQTT.ClientID + "-sim", Devices: mqttDevs, Seed: seed,
		}, faultsOf(ids), logger)
		if err != nil {
			return nil, err
		}
		logger.Info("simulated MQTT devices publishing", "broker", cfg.MQTT.Broker, "devices", len(mqttDevs))
		runs = append(runs, p.Run)
	}
	return runs, nil
}
