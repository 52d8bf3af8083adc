package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
)

// TestEnergySection loads the demo's energy section, then breaks it in
// several places at once: every problem is reported at its line.
func TestEnergySection(t *testing.T) {
	cfg, err := Load("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Energy
	if e == nil || len(e.Usage.Meters) != 4 || e.TemperatureDevice != "weather-1" || e.TempPoint != "outdoor_temperature" ||
		e.TemperatureMeasurement != "weather_station" || e.Baseline.Window != 365*24*time.Hour || e.Baseline.Schedule == nil ||
		e.Rollup.Disabled || e.Rollup.Backfill != DefaultRollupBackfill {
		t.Fatalf("energy %+v", e)
	}
	if cal := e.Calendar; !cal.Holiday(time.Date(2026, 10, 3, 12, 0, 0, 0, cfg.Zone)) || cal.Holiday(time.Date(2026, 10, 8, 12, 0, 0, 0, cfg.Zone)) {
		t.Errorf("calendar %+v: want the National Day week", cal)
	}
	if k := e.ModelFor(e.Usage.Meters[3]); k != baseline.KindDaily {
		t.Errorf("gas meter: %s, want daily", k)
	}
	if k := e.ModelFor(e.Usage.Meters[0]); k != baseline.KindHourly {
		t.Errorf("electricity meter: %s, want hourly", k)
	}
	if m := e.Usage.Meters[0]; m.Measurement != "energy_meter" || m.Category != "electricity" {
		t.Errorf("meter not resolved: %+v", m)
	}

	data, err := os.ReadFile("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.NewReplacer(
		"weather-1.outdoor_temperature", "weather-1.outdoor_temp",
		"models: {gas: daily}", "models: {gaz: daily}",
		"counter: import_energy,", "counter: import_enrgy,",
		`refit: "0 3 * * *"`, `refit: "0 25 * * *"`,
		"model: hourly ", "model: hourlyy ",
		"device: gas-meter-1", "device: gas-meter-9",
		"enabled: true, backfill: 400d", "enabled: yes please, backfill: 400x",
		"- 2026-10-01..2026-10-07", "- 2026-10-07..2026-10-01",
		"workdays: []", "workdays: [2026-02-30, 2027-01-01]",
	).Replace(string(data))
	dir := t.TempDir()
	for _, sub := range []string{"profiles", "rules", "inspections"} {
		os.Symlink(filepath.Join(mustAbs(t, "../configs"), sub), filepath.Join(dir, sub))
	}
	path := filepath.Join(dir, "demo.yaml")
	os.WriteFile(path, []byte(bad), 0o644)
	os.WriteFile(filepath.Join(dir, "demo-inspections.yaml"), mustRead(t, "../configs/demo-inspections.yaml"), 0o644)
	_, err = Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`has no point "outdoor_temp" (did you mean "outdoor_temperature"?)`,
		`"gaz" is neither a category`,
		`has no point "import_enrgy" (did you mean "import_energy"?)`,
		`energy.baseline.refit: "0 25 * * *"`,
		`hourlyy`,
		`gas-meter-9`,
		`energy.rollup.enabled: cannot use "yes please" as true or false`,
		`energy.rollup.backfill: cannot use "400x"`,
		`energy.calendar.holidays[7]: "2026-10-07..2026-10-01": a range runs forward`,
		`energy.calendar.workdays[0]: "2026-02-30": write a date`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, path+":") {
			t.Errorf("not at file:line:col: %q", line)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
