package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{[]string{"energy", "baseline", "--csv", "m.csv", "--holidays", "2026-10-01,2026-13-01", "--from", "2016-01-01", "--to", "2017-01-01"}, 1, `--holidays: "2026-13-01": write a date`},
		{[]string{"energy", "baseline", "--csv", "m.csv", "--holidays", "2026-10-01", "--workdays", "2026-10-01", "--from", "2016-01-01", "--to", "2017-01-01"}, 1, "2026-10-01 is both a holiday and a working day"},
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

// TestEnergyBaselineFallback: from files, as in the daemon, a time-of-week
// model that fails the hourly gate (an office's water, each hour drawn at
// random) is replaced by the daily fallback fit under the monthly gate, and
// the output says what it replaces.
func TestEnergyBaselineFallback(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("start,value\n")
	from := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	rng := rand.New(rand.NewPCG(1, 2))
	for h := range 366 * 24 {
		at := from.Add(time.Duration(h) * time.Hour)
		u := 0.0
		if wd := at.Weekday(); wd != time.Saturday && wd != time.Sunday && at.Hour() >= 8 && at.Hour() < 18 {
			u = 2 * rng.ExpFloat64()
		}
		fmt.Fprintf(&csv, "%s,%.4f\n", at.Format(time.RFC3339), u)
	}
	path := filepath.Join(dir, "water.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"energy", "baseline", "--csv", path, "--fuel", "water", "--tz", "UTC", "--from", "2025-01-06", "--to", "2026-01-06", "--model", "tow",
		"--holidays", "2025-10-01..2025-10-07"}
	var stdout, stderr bytes.Buffer
	if code := run(append(args, "--json"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var m struct {
		Kind, Model  string
		FitForAlarms bool `json:"fit_for_alarms"`
		Gate         struct{ Name string }
		Fallback     *struct{ Kind, Model string } `json:"fallback_for"`
		Calendar     struct{ Holidays []string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Calendar.Holidays) != 7 || m.Calendar.Holidays[0] != "2025-10-01" {
		t.Errorf("calendar %+v: want the 7 days of --holidays on the day-of-week fallback", m.Calendar)
	}
	if m.Kind != "daily" || m.Model != "day_of_week" || !m.FitForAlarms || !strings.Contains(m.Gate.Name, "monthly") || m.Fallback == nil || m.Fallback.Kind != "tow" {
		t.Errorf("%s: want the day-of-week fallback for the tow model, fit for alarms under the monthly gate", stdout.String()[:min(400, stdout.Len())])
	}
	stdout.Reset()
	if code := run(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "in place of the tow model") {
		t.Errorf("exit %d, text %q", code, stdout.String())
	}
}

// TestEnergyAnomaliesFallback: from files, as in the daemon, an interval
// model that fails the hourly gate is watched through its daily fallback:
// a constant flow (2 m³/h, night and day) over the last five days of the
// check is a residual anomaly by the day — with the fallback, and the model
// it replaces, in the JSON — and a leak by the hour on the same data.
func TestEnergyAnomaliesFallback(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("start,value\n")
	from := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	leakFrom := from.AddDate(0, 0, 366+16)
	rng := rand.New(rand.NewPCG(1, 2))
	for h := range (366 + 21) * 24 {
		at := from.Add(time.Duration(h) * time.Hour)
		u := 0.0
		if wd := at.Weekday(); wd != time.Saturday && wd != time.Sunday && at.Hour() >= 8 && at.Hour() < 18 {
			u = 2 * rng.ExpFloat64()
		}
		if !at.Before(leakFrom) {
			u += 2
		}
		fmt.Fprintf(&csv, "%s,%.4f\n", at.Format(time.RFC3339), u)
	}
	path := filepath.Join(dir, "water.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"tow", "hourly"} {
		args := []string{"energy", "anomalies", "--csv", path, "--fuel", "water", "--tz", "UTC", "--model", model,
			"--baseline-from", "2025-01-06", "--baseline-to", "2026-01-06", "--from", "2026-01-06", "--to", from.AddDate(0, 0, 366+21).Format(time.DateOnly)}
		if model == "hourly" {
			// No temperature file: a constant one, the hourly model's
			// temperature bins all in one.
			var temp strings.Builder
			temp.WriteString("dt,tempC\n")
			for h := range (366 + 21) * 24 {
				fmt.Fprintf(&temp, "%s,%.1f\n", from.Add(time.Duration(h)*time.Hour).Format(time.RFC3339), 15.0)
			}
			tp := filepath.Join(dir, "temp.csv")
			if err := os.WriteFile(tp, []byte(temp.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--temperature-csv", tp)
		}
		var stdout, stderr bytes.Buffer
		if code := run(append(args, "--json"), &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", model, code, stderr.String())
		}
		var out struct {
			Baseline struct {
				Kind, Model  string
				FitForAlarms bool                          `json:"fit_for_alarms"`
				Fallback     *struct{ Kind, Model string } `json:"fallback_for"`
			}
			Interval *struct {
				Kind         string
				FitForAlarms bool `json:"fit_for_alarms"`
			} `json:"interval_model"`
			Anomalies []struct {
				Kind       string
				Start, End time.Time
				Excess     float64
				Open       bool
			}
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		b := out.Baseline
		if b.Kind != "daily" || !b.FitForAlarms || b.Fallback == nil || b.Fallback.Kind != model || out.Interval == nil || out.Interval.Kind != model || out.Interval.FitForAlarms {
			t.Errorf("%s: baseline %+v, interval model %+v: want the daily fallback for the %s model, and that model unfit", model, b, out.Interval, model)
		}
		var daily, leak bool
		for _, a := range out.Anomalies {
			switch a.Kind {
			case "residual_high":
				if a.End.Sub(a.Start) < 48*time.Hour || a.Start.Before(leakFrom) || !a.Open || a.Excess < 2*24*2 {
					t.Errorf("%s: %+v, want a residual anomaly of days from %s to the end, open, with an excess", model, a, leakFrom)
				}
				daily = true
			case "water_leak":
				leak = true
			}
		}
		if !daily || !leak {
			t.Errorf("%s: anomalies %+v: want a residual one by the day and a leak by the hour", model, out.Anomalies)
		}
		stdout.Reset()
		if code := run(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "in place of the "+map[string]string{"tow": "tow", "hourly": "towt"}[model]+" model ("+model+")") || !strings.Contains(stdout.String(), "residual_high") {
			t.Errorf("%s: exit %d, text %q", model, code, stdout.String())
		}
	}
}
