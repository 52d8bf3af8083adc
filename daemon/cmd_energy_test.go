package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const eemeterSamples = "../../shared/data/eemeter/"

func TestEnergyHelpAndErrors(t *testing.T) {
	t.Setenv("FACILITYD_HTTP_ADDR", "127.0.0.1:1") // no daemon there
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"energy", "--help"}, 0, "facilityd energy SUBCOMMAND"},
		{[]string{"energy", "baseline", "--help"}, 0, "-temperature-csv"},
		{[]string{"energy", "baseline", "--from", "2016-01-01", "--to", "2017-01-01"}, 1, "or -c FILE --device ID"},
		{[]string{"energy", "anomalies", "-c", "../configs/demo.yaml", "--device", "m1", "--baseline-from", "2025-01-01",
			"--baseline-to", "2026-01-01", "--from", "2026-01-01", "--to", "2026-01-08", "--model", "tow"}, 1, `--device "m1": no such device`},
		{[]string{"energy", "anomalies", "-c", "../configs/demo.yaml"}, 1, "the daemon does not answer"},
		{[]string{"energy", "frobnicate"}, 1, "unknown subcommand"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.out) {
			t.Errorf("%v: exit %d, want %d, output %q, want %q in it", c.args, code, c.code, stdout.String()+stderr.String(), c.out)
		}
	}
}

func TestEnergyBaselineJSON(t *testing.T) {
	meter := eemeterSamples + "il-electricity-cdd-hdd-daily.csv"
	if _, err := os.Stat(meter); err != nil {
		t.Skip("eemeter samples not found")
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"energy", "baseline", "--csv", meter, "--temperature-csv", eemeterSamples + "il-tempF.csv",
		"--tz", "America/Chicago", "--from", "2015-12-27", "--to", "2016-12-26", "--model", "daily", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"model", "intercept", "beta_hdd", "beta_cdd", "heating_balance_point", "cooling_balance_point", "r_squared_adj", "rmse", "cvrmse", "nmbe", "n", "fit_for_alarms"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	if got["model"] != "hdd_cdd" {
		t.Errorf("model %v, want hdd_cdd", got["model"])
	}

	stdout.Reset()
	code = run([]string{"energy", "anomalies", "--csv", meter, "--temperature-csv", eemeterSamples + "il-tempF.csv", "--tz", "America/Chicago",
		"--baseline-from", "2015-12-27", "--baseline-to", "2016-12-26", "--from", "2017-01-04", "--to", "2018-01-04", "--force", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("anomalies: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"anomalies"`) {
		t.Errorf("anomalies JSON: %s", stdout.String())
	}
}
