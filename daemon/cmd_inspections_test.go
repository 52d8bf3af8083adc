package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestInspectionsCLI records work done outside facilityd, a skip, and reads
// them back as a list, the history and the regulator's CSV report.
func TestInspectionsCLI(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf(`site: t
timezone: Asia/Shanghai
state_dir: %q
influxdb: {url: "http://127.0.0.1:%d", bucket: facility/autogen}
profile_files: [%q]
inspection_files: [%q]
devices:
  - {id: pump-1, profile: booster_pump, modbus: {address: "127.0.0.1:1502", unit_id: 1}}
  - {id: lift-1, profile: elevator, modbus: {address: "127.0.0.1:1502", unit_id: 2}}
`, filepath.Join(dir, "state"), testenv.FreePort(t), filepath.Join(root, "configs/profiles/*.yaml"), filepath.Join(root, "configs/inspections/*.yaml"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(append(args, "-c", cfg, "--actor", "王工"), &out, &errb)
		return out.String() + errb.String(), code
	}
	if out, code := cli("inspections", "--help"); code != 0 || !strings.Contains(out, "--due-within") {
		t.Fatalf("help: %d %s", code, out)
	}
	if out, code := cli("inspections", "done", "pump_service", "pump-1", "--at", "2026-11-02", "--reading", "run_hours=1200.5"); code != 1 || !strings.Contains(out, "want -m") {
		t.Fatalf("done without a note: %d %s", code, out)
	}
	if out, code := cli("inspections", "done", "pump_servce", "pump-1", "-m", "x"); code != 1 || !strings.Contains(out, "no plan \"pump_servce\"") {
		t.Fatalf("unknown plan: %d %s", code, out)
	}
	if out, code := cli("inspections", "done", "pump_service", "pump-1", "--at", "2026-11-02", "--reading", "run_hours=1200.5", "-m", "bearings greased, paper log"); code != 0 {
		t.Fatalf("done: %d %s", code, out)
	}
	if out, code := cli("inspections", "skip", "elevator_half_monthly", "lift-1", "-m", "lift out of service for modernisation"); code != 0 {
		t.Fatalf("skip: %d %s", code, out)
	}
	out, code := cli("inspections", "list", "--json")
	var states []tickets.InspectionState
	if code != 0 || json.Unmarshal([]byte(out), &states) != nil {
		t.Fatalf("list: %d %s", code, out)
	}
	found := false
	for _, s := range states {
		if s.Plan == "pump_service" && s.Device == "pump-1" {
			found = true
			if s.LastCounters["run_hours"] != 1200.5 || s.NextCounters["run_hours"] != 3200.5 || s.LastDone.Format("2006-01-02") != "2026-11-01" {
				t.Errorf("pump_service state = %+v", s)
			}
		}
	}
	if !found {
		t.Fatalf("list has no pump_service: %s", out)
	}
	out, code = cli("inspections", "history", "--device", "pump-1")
	if code != 0 || !strings.Contains(out, "bearings greased") || !strings.Contains(out, "王工") {
		t.Fatalf("history: %d %s", code, out)
	}
	report := filepath.Join(dir, "record.csv")
	if out, code := cli("inspections", "report", "--from", "2026-11-01", "--to", "2027-01-01", "--format", "csv", "-o", report); code != 0 {
		t.Fatalf("report: %d %s", code, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, r := range rows[1:] {
		kinds[r[0]+"/"+r[3]] = r[4]
	}
	if kinds["pump_service/pump-1"] != "done" || kinds["elevator_half_monthly/lift-1"] != "skipped" {
		t.Errorf("report rows: %q", rows)
	}
}
