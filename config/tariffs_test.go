package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTariffsSection(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "facilityd.yaml")
		if err := os.WriteFile(p, []byte("site: demo\ninfluxdb: {url: http://127.0.0.1:8086, bucket: facility/autogen}\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := load(write(`tariffs:
  electricity:
    - from: 2026-01-01
      bands:
        - {band: peak, hours: ["08:00-22:00"], price: 1.0}
        - {band: valley, hours: ["22:00-08:00"], price: 0.3}
      fixed_monthly: 100
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tariffs == nil || cfg.Tariffs.Currency != "CNY" || len(cfg.Tariffs.Electricity) != 1 {
		t.Fatalf("tariffs %+v, want one electricity schedule in CNY", cfg.Tariffs)
	}
	_, err = load(write(`tariffs:
  electricity:
    - from: 2026-01-01
      bands:
        - {band: peek, hours: ["08:00-22:00"], price: 1.0}
      fixed_monthy: 100
`), noEnv)
	if err == nil {
		t.Fatal("a bad tariffs section loaded")
	}
	for _, want := range []string{"facilityd.yaml:4:3: tariffs: ", `line 8 col 7: `, `"fixed_monthy"`, "line 7 col 18: ", `"peek"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
