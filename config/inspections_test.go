package config

import (
	"os"
	"testing"
)

func TestDemoInspections(t *testing.T) {
	cfg, err := load("../configs/demo.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Inspections) < 9 || cfg.InspectionPairs() < 9 {
		t.Errorf("%d plans, %d pairs", len(cfg.Inspections), cfg.InspectionPairs())
	}
	for _, p := range cfg.Inspections {
		if p.Zone != cfg.Zone || cfg.Zone == nil {
			t.Errorf("%s: zone %v, config %v", p, p.Zone, cfg.Zone)
		}
	}
}

func TestTimezone(t *testing.T) {
	dir := t.TempDir()
	src := "site: t\ntimezone: Europe/Berlin\ninfluxdb: {url: \"http://127.0.0.1:8086\", bucket: b}\n" +
		"rule_files: [rules.yaml]\n"
	rules := "inspections:\n  - {name: yearly, match: {all: true}, every: 1y}\n"
	writeFile(t, dir+"/c.yaml", src)
	writeFile(t, dir+"/rules.yaml", rules)
	cfg, err := load(dir+"/c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Zone.String() != "Europe/Berlin" || len(cfg.Inspections) != 1 || cfg.Inspections[0].Zone != cfg.Zone {
		t.Errorf("zone %v, plans %v", cfg.Zone, cfg.Inspections)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
