package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/store"
)

// EnergyHistory is what `facilityd energy baseline -c FILE --device ID`
// reads from InfluxDB, the way the daemon does: a meter's consumption over
// [from, to) in slots of iv (missing slots NaN) and, when temperature
// (DEVICE.POINT) is set, its hourly means in °C.
type EnergyHistory struct {
	Meter    *usage.Meter
	Readings []baseline.Reading
	Temps    []baseline.TempReading
}

// ReadEnergyHistory reads the meter of device (its point when given, the
// configured meter of the device otherwise, or the profile's only counter).
func ReadEnergyHistory(ctx context.Context, cfg *config.Config, device, point, temperature string, from, to time.Time, iv usage.Interval) (*EnergyHistory, error) {
	ucfg, m, err := cliMeter(cfg, device, point)
	if err != nil {
		return nil, err
	}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	ec := &config.Energy{Usage: ucfg}
	if temperature != "" {
		dev, pt, _ := strings.Cut(temperature, ".")
		ud, ok := cfg.UsageDevice(dev)
		if !ok || pt == "" {
			return nil, fmt.Errorf("--temperature %q: want DEVICE.POINT of a configured device", temperature)
		}
		ec.Temperature, ec.TemperatureDevice, ec.TempPoint, ec.TemperatureMeasurement = temperature, dev, pt, ud.Measurement
	}
	r := &energyRunner{cfg: cfg, energy: ec, q: q, usage: usage.NewEngine(q, ucfg)}
	h := &EnergyHistory{Meter: m}
	if h.Readings, err = r.readings(ctx, m, from, to, iv); err != nil {
		return nil, err
	}
	if temperature != "" {
		if h.Temps, err = r.temperatures(ctx, from, to); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// cliMeter finds or makes the meter of a device.
func cliMeter(cfg *config.Config, device, point string) (*usage.Config, *usage.Meter, error) {
	if cfg.Energy != nil && cfg.Energy.Usage != nil {
		for _, m := range cfg.Energy.Usage.Meters {
			if m.Device == device && (point == "" || m.Point() == point) {
				return cfg.Energy.Usage, m, nil
			}
		}
	}
	var profilePoints []string
	for _, d := range cfg.Devices {
		if d.ID != device {
			continue
		}
		p := cfg.Profiles[d.Profile]
		if p == nil {
			break
		}
		for _, pt := range p.Points {
			if point == "" && pt.Counter || pt.Name == point {
				profilePoints = append(profilePoints, pt.Name)
			}
		}
		if len(profilePoints) != 1 {
			return nil, nil, fmt.Errorf("device %q: name the counter with --point (candidates: %s)", device, strings.Join(profilePoints, ", "))
		}
		text := fmt.Sprintf("meters:\n  - {id: %q, device: %q, counter: %q}\nquery: %s\n", device, device, profilePoints[0], queryOf(cfg))
		ucfg, err := usage.Decode("--device", []byte(text))
		if err == nil {
			err = ucfg.Resolve(cfg.UsageDevice)
		}
		if err != nil {
			return nil, nil, err
		}
		return ucfg, ucfg.Meters[0], nil
	}
	return nil, nil, fmt.Errorf("--device %q: no such device in %s", device, cfg.Path)
}

func queryOf(cfg *config.Config) usage.Backend {
	if cfg.Energy != nil && cfg.Energy.Usage != nil && cfg.Energy.Usage.Query != "" {
		return cfg.Energy.Usage.Query
	}
	return usage.InfluxQLBackend
}
