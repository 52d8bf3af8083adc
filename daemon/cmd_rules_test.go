package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

func TestRulesTestCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	files, _ := filepath.Glob("../configs/rules/tests/*.yaml")
	if code := run(append([]string{"rules", "test"}, files...), &out, &errOut); code != 0 {
		t.Fatalf("rules test: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !regexp.MustCompile(`rules test: \d+ tests in \d+ file\(s\) passed`).MatchString(out.String()) {
		t.Errorf("output = %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"rules", "test", "../rules/ruletest/testdata/failing.yaml"}, &out, &errOut); code != 1 {
		t.Fatalf("a failing test: exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "1 of 2 tests failed") || !strings.Contains(out.String(), "FAIL") {
		t.Errorf("failing test output:\n%s%s", out.String(), errOut.String())
	}
	if code := run([]string{"rules", "test"}, &out, &errOut); code != 1 {
		t.Errorf("no files: exit %d, want 1", code)
	}
}

// TestRulesReplay writes an hour of a pump's history into a real influxd —
// twenty minutes of low pressure in the middle, and five minutes of running
// with its selector (a text point) at off near the end — and replays the
// demo's rules over it.
func TestRulesReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	influx := testenv.StartInfluxd(t)
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var lp strings.Builder
	for s := 0; s < 3600; s += 10 {
		p := 3.2
		if s >= 1200 && s < 2400 {
			p = 1.0
		}
		mode := "auto"
		if s >= 3000 && s < 3300 {
			mode = "off"
		}
		ns := start.Add(time.Duration(s) * time.Second).UnixNano()
		fmt.Fprintf(&lp, "pump,device=pump-1,site=test discharge_pressure=%g,suction_pressure=1,motor_current=12,running=true,fault=false,mode=%q %d\n", p, mode, ns)
		fmt.Fprintf(&lp, "device_health,device=pump-1,site=test up=true %d\n", ns)
	}
	resp, err := http.Post(influx.URL+"/write?db="+influx.DB, "text/plain", strings.NewReader(lp.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	root, _ := testenv.ModuleRoot()
	cfg := filepath.Join(t.TempDir(), "replay.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`site: test
state_dir: %q
influxdb: {url: %q, bucket: %q}
profile_files: [%q]
rule_files: [%q]
devices:
  - {id: pump-1, profile: booster_pump, location: B1, modbus: {address: "127.0.0.1:1502", unit_id: 1}}
`, t.TempDir(), influx.URL, influx.Bucket, filepath.Join(root, "configs/profiles/booster_pump.yaml"),
		filepath.Join(root, "configs/rules/pump.yaml"))), 0o644)
	var out, errOut bytes.Buffer
	code := run([]string{"rules", "replay", "-c", cfg, "--from", "2026-03-01T08:00:00Z", "--to", "2026-03-01T09:00:00Z",
		"--chunk", "25m", "--step", "5s"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("replay: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"2026-03-01T08:20:10Z  pump_low_pressure  pump-1   firing",
		"2026-03-01T08:40:00Z  pump_low_pressure  pump-1   resolved",
		"2026-03-01T08:50:30Z  pump_running_while_off  pump-1  firing",
		"2026-03-01T08:55:00Z  pump_running_while_off  pump-1  resolved",
	} {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("replay output lacks %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`pump_low_pressure\s+1\s+19m50s`).MatchString(text) {
		t.Errorf("summary: want pump_low_pressure fired once for 19m50s:\n%s", text)
	}
}

func TestSilencesCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "f.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir: %q\ninfluxdb: {url: http://127.0.0.1:8086, bucket: f/a}\n", dir)), 0o644)
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"silences", args[0], "-c", cfg}, args[1:]...), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	out, code := cli("add", "--match", `device="pump-1"`, "--match", `rule=~"pump_.*"`, "--for", "2h",
		"--comment", "seal change", "--maintenance", "--by", "alice")
	if code != 0 {
		t.Fatalf("add: %d %s", code, out)
	}
	id := strings.Fields(out)[0]
	out, _ = cli("list")
	if !strings.Contains(out, id) || !strings.Contains(out, "maintenance") || !strings.Contains(out, "active") ||
		!strings.Contains(out, `device="pump-1",rule=~"pump_.*"`) || !strings.Contains(out, "alice") {
		t.Errorf("list:\n%s", out)
	}
	if out, code := cli("expire", id); code != 0 {
		t.Fatalf("expire: %d %s", code, out)
	}
	if out, _ := cli("list"); strings.Contains(out, id) {
		t.Errorf("an expired silence is listed without --all:\n%s", out)
	}
	if out, _ := cli("list", "--all"); !strings.Contains(out, "expired") {
		t.Errorf("list --all:\n%s", out)
	}
	for _, bad := range [][]string{
		{"add", "--match", `device="x"`, "--comment", "c"},            // no end
		{"add", "--match", `device`, "--for", "1h", "--comment", "c"}, // bad matcher
		{"add", "--match", `device="x"`, "--for", "1h"},               // no comment
		{"add", "--for", "1h", "--comment", "c"},                      // no matcher
		{"expire", "nope"},
	} {
		if out, code := cli(bad...); code != 1 {
			t.Errorf("%v: exit %d, want 1: %s", bad, code, out)
		}
	}
}

// TestSilencesListWindows lists the recurring maintenance windows of the
// rule files with the silences, in the table and as JSON.
func TestSilencesListWindows(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "windows.yaml"), []byte(`maintenance_windows:
  - name: pumps_a_sunday
    matchers: ['type="pump"', 'building="A"']
    schedule: "0 2 * * SUN"
    duration: 4h
    timezone: Europe/Berlin
    comment: weekly pump service
`), 0o644)
	cfg := filepath.Join(dir, "f.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir: %q\ninfluxdb: {url: http://127.0.0.1:8086, bucket: f/a}\nrule_files: [windows.yaml]\n", dir)), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"silences", "list", "-c", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("list: exit %d %s", code, errOut.String())
	}
	if text := out.String(); !strings.Contains(text, "window:pumps_a_sunday") || !strings.Contains(text, `"0 2 * * SUN" 4h0m0s Europe/Berlin: weekly pump service`) ||
		!strings.Contains(text, `type="pump",building="A"`) {
		t.Errorf("list:\n%s", text)
	}
	out.Reset()
	if code := run([]string{"silences", "list", "-c", cfg, "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("list --json: exit %d %s", code, errOut.String())
	}
	var list []map[string]any
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 1 || list[0]["recurring"] != true || list[0]["timezone"] != "Europe/Berlin" {
		t.Errorf("list --json: %v %s", err, out.String())
	}
	// A bad window fails the config, at its place.
	os.WriteFile(filepath.Join(dir, "windows.yaml"), []byte("maintenance_windows:\n  - {name: x, matchers: ['type=\"pump\"'], schedule: \"0 2 * *\", duration: 4h}\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"silences", "list", "-c", cfg}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "windows.yaml:2:52: maintenance window \"x\": schedule") {
		t.Errorf("bad window: exit %d %s", code, errOut.String())
	}
}
