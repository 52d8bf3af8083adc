package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/baseline"
	energyusage "github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/web"
)

// fromInflux makes d read the configured meter of --device from InfluxDB
// once the span is known (read).
func (f *energyFlags) fromInflux(d *energyData) error {
	cfg, err := config.Load(f.fs.Lookup("c").Value.String())
	if err != nil {
		return err
	}
	switch k := baseline.Kind(f.model); k {
	case baseline.KindDaily, baseline.KindHourly, baseline.KindTOW:
		d.kind = k
	default:
		return fmt.Errorf("--model %q: write daily, hourly or tow", f.model)
	}
	d.loc, d.unit = cfg.Zone, baseline.Celsius
	if d.cal == nil {
		d.cal = cfg.EnergyCalendar()
	}
	if f.tz != "" {
		if d.loc, err = time.LoadLocation(f.tz); err != nil {
			return fmt.Errorf("--tz %q: %w", f.tz, err)
		}
	}
	temperature := f.temperature
	if temperature == "" && cfg.Energy != nil {
		temperature = cfg.Energy.Temperature
	}
	if temperature == "" && d.kind != baseline.KindTOW {
		return fmt.Errorf("--model %s needs --temperature DEVICE.POINT (or use --model tow)", d.kind)
	}
	fuelSet := f.fs.Lookup("fuel").Value.String() != f.fs.Lookup("fuel").DefValue
	d.fetch = func(from, to time.Time) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		iv := energyusage.Hour
		if f.fuel == string(baseline.Water) {
			iv = energyusage.Quarter
		}
		h, err := app.ReadEnergyHistory(ctx, cfg, f.device, f.point, temperature, from, to, iv)
		if err != nil {
			return fmt.Errorf("energy: %w", err)
		}
		d.meter, d.temps = h.Readings, h.Temps
		if !fuelSet {
			switch h.Meter.Category {
			case energyusage.Water:
				d.fuel = baseline.Water
			case energyusage.Gas:
				d.fuel = baseline.Gas
			default:
				d.fuel = baseline.Electricity
			}
		}
		return nil
	}
	if d.fuel, err = baseline.ParseFuel(f.fuel); err != nil {
		return fmt.Errorf("--fuel: %w", err)
	}
	return nil
}

// read fetches the span in InfluxDB mode; files are read already.
func (d *energyData) read(from, to time.Time) error {
	if d.fetch == nil {
		return nil
	}
	return d.fetch(from, to)
}

// daemonAnomalies lists the running daemon's anomalies from its API.
func daemonAnomalies(path string, activeOnly, asJSON bool, stdout io.Writer) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if cfg.HTTP.Listen == "" {
		return errors.New("energy anomalies: the config has no http.listen: use --csv, or -c FILE --device ID")
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %q: %w", cfg.HTTP.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/api/v1/energy/anomalies"
	if activeOnly {
		url += "?active=true"
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for _, t := range cfg.HTTP.Tokens {
		if s, err := t.Secret(); err == nil && s != "" {
			req.Header.Set("Authorization", "Bearer "+s)
			break
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("energy anomalies: the daemon does not answer at %s (%v): start it, or check files with --csv", url, err)
	}
	defer resp.Body.Close()
	var body struct {
		Anomalies []web.EnergyAnomaly `json:"anomalies"`
		Error     string              `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("energy anomalies: %s: %s %s", url, resp.Status, body.Error)
	}
	if asJSON {
		return writeJSON(stdout, body)
	}
	if len(body.Anomalies) == 0 {
		fmt.Fprintln(stdout, "no energy anomalies")
	}
	for _, a := range body.Anomalies {
		state := "ended"
		if a.Active {
			state = "ACTIVE"
		}
		fmt.Fprintf(stdout, "%-6s %-20s %-22s %-15s %s – %s  excess %.4g %s\n", state, a.Meter, a.Rule, a.Kind,
			a.Start.Format("2006-01-02 15:04"), a.End.Format("2006-01-02 15:04"), a.Excess, a.Unit)
	}
	return nil
}
