package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReportsSection loads the demo's reports, then breaks them: each
// problem is reported at its line, all at once.
func TestReportsSection(t *testing.T) {
	cfg, err := Load("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Reports == nil || len(cfg.Reports.Schedules) != 2 {
		t.Fatalf("reports %+v", cfg.Reports)
	}
	s := cfg.Reports.Schedules[0]
	if cfg.ReportTariffs() == nil || cfg.ReportTariffs().Currency != "CNY" {
		t.Errorf("tariffs_file not read: %+v", cfg.ReportTariffs())
	}
	if s.Kind != "energy" || s.Period != "previous_month" || s.Cron == nil || cfg.Reports.Schedules[1].Lang != "zh-CN" {
		t.Fatalf("schedule %+v", s)
	}
	// The 1st at 08:00 in the site's zone (Asia/Shanghai), whatever the host's.
	next := s.Cron.Next(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next run %v, want %v (08:00 in Shanghai)", next.UTC(), want)
	}

	data, err := os.ReadFile("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\nreports:")
	if i < 0 {
		t.Fatal("demo.yaml has no reports: section")
	}
	// Two receivers for the test: one that takes reports, and MQTT.
	head := strings.Replace(text[:i], "  follow_up: required\n", "  follow_up: required\n  receivers:\n"+
		"    - {name: manager, webhook: {url: \"http://127.0.0.1:1/\"}}\n"+
		"    - {name: bus, mqtt: {broker: \"tcp://127.0.0.1:1\", topic: t}}\n", 1)
	bad := head + `
reports:
  schedules:
    - name: Monthly
      schedule: "0 25 1 * *"
      period: last_month
      formats: [pdf, docx]
      lang: fr
      category: steam
      receivers: [manger, bus]
    - name: ok
      schedule: "@monthly"
      period: previous_week
      formats: [csv, csv]
      bulding: x
`
	dir := t.TempDir()
	for _, sub := range []string{"profiles", "rules", "inspections", "demo-inspections.yaml", "tariffs"} {
		os.Symlink(filepath.Join(mustAbs(t, "../configs"), sub), filepath.Join(dir, sub))
	}
	p := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	if err == nil {
		t.Fatal("bad reports section accepted")
	}
	line := strings.Count(head, "\n") + 2 // the line of "reports:"
	at := func(n, col int) string { return p + ":" + itoa(line+n) + ":" + itoa(col) + ": " }
	for _, want := range []string{
		at(13, 7) + `unknown field "bulding" in reports.schedules[1] (did you mean "building"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Without the typo, every semantic problem at once.
	if err := os.WriteFile(p, []byte(strings.Replace(bad, "      bulding: x\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	for _, want := range []string{
		at(2, 13) + `reports.schedules[0]: name "Monthly": use lower case`,
		at(3, 17) + `reports.schedules[0]: schedule "0 25 1 * *"`,
		at(4, 15) + `reports.schedules[0]: period "last_month": write previous_day`,
		at(5, 16) + `reports.schedules[0]: formats[1] "docx"`,
		at(6, 13) + `reports.schedules[0]: lang: `,
		at(7, 17) + `reports.schedules[0]: category "steam"`,
		at(8, 18) + `reports.schedules[0]: receivers[0]: no receiver "manger" in tickets.receivers (did you mean "manager"?)`,
		at(8, 18) + `reports.schedules[0]: receivers[1]: "bus" is an MQTT receiver`,
		at(12, 16) + `report "ok": format "csv" is listed twice`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
