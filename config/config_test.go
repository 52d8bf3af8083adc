package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/rules"
)

var update = flag.Bool("update", false, "rewrite golden .err files")

// noEnv is an environment where nothing is set, so golden files don't depend
// on the machine.
func noEnv(string) (string, bool) { return "", false }

// positioned is an error in another file (a rule file): file:line:col.
var positioned = regexp.MustCompile(`^testdata/[\w/]+\.yaml:\d+:\d+: `)

// TestBadConfigs loads each testdata/bad/*.yaml and compares the complete
// error text with the golden <name>.err beside it.
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no golden bad files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := load(f, noEnv)
			if err == nil {
				t.Fatalf("%s loaded without error", f)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			got := err.Error() + "\n"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("missing golden file (run go test ./config -update): %v", rerr)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
			for line := range strings.SplitSeq(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, f+":") && !positioned.MatchString(line) {
					t.Errorf("error without file:line:col: %q", line)
				}
			}
		})
	}
}

func TestDemoConfig(t *testing.T) {
	env := map[string]string{"FACILITYD_MODBUS_ADDR": "127.0.0.1:15020", "FACILITYD_INFLUXDB_URL": ""}
	cfg, err := load("../configs/demo.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.InfluxDB.URL != "http://127.0.0.1:8086" { // set but empty falls back to the default
		t.Errorf("influxdb url = %q", cfg.InfluxDB.URL)
	}
	if cfg.InfluxDB.Bucket != "facility/autogen" || cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.StateDir != "./.demo/state" {
		t.Errorf("defaults not applied: %+v %+v %q", cfg.InfluxDB, cfg.HTTP, cfg.StateDir)
	}
	if len(cfg.Devices) < 2 || cfg.Devices[0].ID != "pump-1" {
		t.Fatalf("devices = %v", cfg.Devices)
	}
	if p := cfg.At(cfg.Devices[0], "id"); p.Line <= 1 {
		t.Errorf("pump-1's id at %s, want its line", p)
	}
	cfg.DropPositions()
	if p := cfg.At(cfg.Devices[0], "id"); cfg.pos != nil || p.File != cfg.Path || p.Line != 1 {
		t.Errorf("after DropPositions: %d positions kept, pump-1's id at %s", len(cfg.pos), p)
	}
	m := cfg.Devices[0].Modbus
	if m.Address != "127.0.0.1:15020" || m.UnitID != 1 || m.Timeout != 500*time.Millisecond || m.Transport != modbus.TCP {
		t.Errorf("pump-1 modbus = %+v", m)
	}
	p := cfg.Profiles["energy_meter"]
	if p == nil || p.Point("import_energy") == nil || !p.Point("import_energy").Counter || p.Point("frequency").Address != 0x46 {
		t.Fatalf("energy_meter profile not loaded: %+v", p)
	}
	if p.Point("voltage_l1").ByteOrder != drivers.ABCD || p.Point("voltage_l1").Scale != 1 {
		t.Errorf("point defaults not applied: %+v", p.Point("voltage_l1"))
	}
	i := slices.IndexFunc(cfg.Rules, func(r *rules.Rule) bool { return r.Name == "pump_low_pressure" })
	if i < 0 || cfg.Rules[i].For != 10*time.Second || len(cfg.Inhibit) == 0 {
		t.Errorf("rules = %+v, inhibit rules %d", cfg.Rules, len(cfg.Inhibit))
	}
}

func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../configs/demo.yaml", "testdata/bad/rules.yaml", "testdata/bad/wrong_types.yaml"} {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := load(path, noEnv)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, path+":") && !strings.HasPrefix(line, "open ") && !strings.Contains(line, "fuzz.yaml") {
					t.Fatalf("error line without position: %q", line)
				}
			}
		}
	})
}

func TestDeviceTags(t *testing.T) {
	cfg := &Config{Site: "hq", Devices: []*Device{
		{ID: "pump-1", Tags: map[string]string{"building": "A", "floor": "B1"}},
		{ID: "meter-1"},
		{ID: "odd", Tags: map[string]string{"site": "annex"}},
	}}
	got := cfg.DeviceTags()
	want := map[string]map[string]string{
		"pump-1":  {"site": "hq", "building": "A", "floor": "B1"},
		"meter-1": {"site": "hq"},
		"odd":     {"site": "annex"}, // a device's own tag wins, as it always has
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DeviceTags() = %v, want %v", got, want)
	}
	if got["meter-1"]["site"] != "hq" || len(got["meter-1"]) != 1 {
		t.Errorf("meter-1: %v", got["meter-1"])
	}
	got["pump-1"]["building"] = "B"
	if cfg.Devices[0].Tags["building"] != "A" {
		t.Error("DeviceTags shares its maps with the config")
	}
}
