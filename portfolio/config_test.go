package portfolio

import (
	"os"
	"strings"
	"testing"
)

func TestLoadGood(t *testing.T) {
	data, err := os.ReadFile("testdata/portfolio.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/portfolio.good.yaml", data, func(k string) (string, bool) {
		return map[string]string{"INFLUX_URL": "http://influx:8086"}[k], k == "INFLUX_URL"
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Zone.String() != "Asia/Shanghai" || cfg.InfluxDB.URL != "http://influx:8086" || len(cfg.Sites) != 2 {
		t.Fatalf("zone %s, influx %s, %d sites", cfg.Zone, cfg.InfluxDB.URL, len(cfg.Sites))
	}
	a := cfg.Sites[0]
	if a.ID != "tower-a" || a.FloorAreaM2 != 1000 || len(a.Meters.Meters) != 2 {
		t.Fatalf("site a: %+v", a)
	}
	for _, m := range a.Meters.Meters {
		if m.Site != "tower-a" || m.Measurement != DefaultMeasurement || m.Category != "electricity" {
			t.Errorf("meter %s: site %q, measurement %q, category %q", m.ID, m.Site, m.Measurement, m.Category)
		}
	}
	if got := billedMeters(a); len(got) != 1 || got[0] != "main" {
		t.Errorf("billed meters of a: %v, want [main]", got)
	}
	if cfg.Sites[1].Name != "大厦 B" {
		t.Errorf("site b's name %q", cfg.Sites[1].Name)
	}
}

// TestLoadBad collects every problem of a file, each at its place.
func TestLoadBad(t *testing.T) {
	data, err := os.ReadFile("testdata/portfolio.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("testdata/portfolio.bad.yaml", data, func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`testdata/portfolio.bad.yaml:6:3: unknown field "databse" in tickets (did you mean "database"?)`,
		`testdata/portfolio.bad.yaml:11:37: unknown field "countr"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	// A decoding error stops before the checks; a file that decodes shows
	// them all at once.
	fixed := strings.NewReplacer("databse", "database", "countr", "counter").Replace(string(data))
	_, err = Parse("bad.yaml", []byte(fixed), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("no error once decodable")
	}
	for _, want := range []string{
		`bad.yaml:1:11: timezone "Mars/Olympus"`,
		`bad.yaml:9:20: site "tower-a": floor_area_m2 must be above 0`,
		`bad.yaml:12:9: site "tower-a": a second site with this id`,
		`bad.yaml:15:70: sites[1]: meter "main" measures water`,
		`bad.yaml:16:68: meter "sub": unknown parent "mian" (did you mean "main"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
