package ruletest

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
)

// t0 is when every test starts; tests speak in offsets from it.
var t0 = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// Result is the outcome of one test file.
type Result struct {
	File          string
	Tests, Failed int
	// RuleFiles are the rule files the tests load, Rules the rules in them
	// and Fired the rules some test expects to fire, for coverage.
	RuleFiles []string
	Rules     []string
	Fired     map[string]bool
}

// Run runs each test file, writing a report to w. A file that cannot be
// loaded (bad YAML, rules that do not check) is an error; failed tests are
// counted in the results.
func Run(w io.Writer, files ...string) ([]Result, error) {
	var out []Result
	var errs []error
	for _, f := range files {
		r, err := RunFile(w, f)
		if err != nil {
			fmt.Fprintf(w, "%s: FAILED to load\n%v\n", f, err)
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// RunFile runs the tests of one file.
func RunFile(w io.Writer, path string) (Result, error) {
	l, err := load(path)
	if err != nil {
		return Result{}, err
	}
	res := Result{File: path, RuleFiles: l.files, Fired: map[string]bool{}}
	for _, r := range l.set.Rules {
		res.Rules = append(res.Rules, r.Name)
	}
	var report strings.Builder
	for i := range l.file.Tests {
		tc := &l.file.Tests[i]
		res.Tests++
		fails, err := l.run(tc, res.Fired)
		if err != nil {
			return res, fmt.Errorf("%s:%d: test %q: %w", path, tc.line, tc.Name, err)
		}
		if len(fails) > 0 {
			res.Failed++
			fmt.Fprintf(&report, "  FAIL %s:%d: %s\n", path, tc.line, tc.Name)
			for _, f := range fails {
				fmt.Fprintf(&report, "    %s\n", f)
			}
		}
	}
	status := "ok"
	if res.Failed > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s: %s: %d tests, %d failed\n%s", path, status, res.Tests, res.Failed, report.String())
	return res, nil
}

// run plays one test; it returns what did not match, or an error when the
// test itself is malformed.
func (l *loaded) run(tc *testCase, fired map[string]bool) ([]string, error) {
	interval := cmpOr(tc.Interval, l.file.Interval, time.Second)
	var devices []*rules.Device
	series := map[string]map[string][]sample{}
	steps := 0
	for _, id := range slices.Sorted(maps.Keys(tc.Input)) {
		d := l.devices[id]
		if d == nil {
			return nil, fmt.Errorf("input: unknown device %q", id)
		}
		devices = append(devices, d)
		series[id] = map[string][]sample{}
		for point, text := range tc.Input[id] {
			kind, ok := d.Points[point]
			if point == healthPoint {
				kind, ok = drivers.KindBool, true
			}
			if name, energy := strings.CutPrefix(point, energyPrefix); energy {
				// An energy rule's outcome as the daemon reports it: its
				// status text, or <rule>_excess in the meter's unit.
				kind, ok = drivers.KindString, true
				if strings.HasSuffix(name, rules.EnergyExcessSuffix) {
					kind = drivers.KindFloat
				}
			}
			if !ok {
				return nil, fmt.Errorf("input: device %q has no point %q", id, point)
			}
			s, err := parseSeries(text, kind)
			if err != nil {
				return nil, fmt.Errorf("input %s.%s: %w", id, point, err)
			}
			series[id][point] = s
			steps = max(steps, len(s))
		}
	}
	if len(devices) == 0 {
		for _, d := range l.file.Devices {
			devices = append(devices, l.devices[d.ID])
		}
	}
	end := time.Duration(max(steps-1, 0)) * interval
	for _, ex := range tc.Expect {
		if ex.At%interval != 0 || ex.At < 0 {
			return nil, fmt.Errorf("expect at %v: not a multiple of the interval %v", ex.At, interval)
		}
		end = max(end, ex.At)
	}
	// Defaults fill every step of the points the input leaves out.
	for _, d := range devices {
		for point, text := range l.defaults[d.ID] {
			if _, given := tc.Input[d.ID][point]; given {
				continue
			}
			kind := d.Points[point]
			if point == healthPoint {
				kind = drivers.KindBool
			}
			v, err := parseSeries(text, kind)
			if err != nil || len(v) != 1 {
				return nil, fmt.Errorf("device %q: defaults: %s: want one value, got %q", d.ID, point, text)
			}
			if series[d.ID] == nil {
				series[d.ID] = map[string][]sample{}
			}
			series[d.ID][point] = slices.Repeat(v, int(end/interval)+1)
		}
	}
	engine, err := rules.NewEngine(l.set, devices, rules.Options{})
	if err != nil {
		return nil, err
	}
	var sils []rules.Silence
	for i, s := range tc.Silences {
		m, err := rules.ParseMatchers(s.Matchers)
		if err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		sils = append(sils, rules.Silence{ID: fmt.Sprintf("silence-%d", i+1), Kind: rules.SilenceKind(cmpOr(s.Kind, silenceKind(rules.KindSilence))),
			Matchers: m, StartsAt: t0.Add(s.From), EndsAt: t0.Add(s.To)})
	}
	engine.SetSilences(sils)
	var fails []string
	var batch []drivers.Sample
	for k := 0; time.Duration(k)*interval <= end; k++ {
		off := time.Duration(k) * interval
		ts := t0.Add(off)
		for _, d := range devices {
			batch = batch[:0]
			for _, point := range slices.Sorted(maps.Keys(series[d.ID])) {
				s := series[d.ID][point]
				if k >= len(s) || !s[k].ok {
					continue
				}
				smp := drivers.Sample{Time: ts, Device: d.ID, Measurement: d.Type, Point: point, Value: s[k].v}
				if point == healthPoint {
					smp.Measurement, smp.Point = drivers.HealthMeasurement, drivers.HealthUp
				}
				if name, energy := strings.CutPrefix(point, energyPrefix); energy {
					smp.Measurement, smp.Point = rules.EnergyMeasurement, name
				}
				batch = append(batch, smp)
			}
			if len(batch) > 0 {
				engine.Observe(batch)
			}
		}
		engine.Eval(ts)
		for _, ex := range tc.Expect {
			if ex.At == off {
				fails = append(fails, compare(ex, engine.Alerts(), fired)...)
			}
		}
	}
	return fails, nil
}

// energyPrefix starts the input key of an energy rule's outcome:
// energy_anomaly.<rule> (anomaly, normal or unfit) and
// energy_anomaly.<rule>_excess.
const energyPrefix = rules.EnergyMeasurement + "."

func cmpOr[T comparable](vals ...T) T {
	var zero T
	for _, v := range vals {
		if v != zero {
			return v
		}
	}
	return zero
}

func key(rule, subject string) string { return rule + "/" + subject }

// compare checks the pending and firing alerts at one time against the
// expectation.
func compare(ex expectation, alerts []rules.Alert, fired map[string]bool) []string {
	where := fmt.Sprintf("at %v (line %d)", ex.At, ex.line)
	actual := map[string]rules.Alert{}
	for _, a := range alerts {
		if a.State != rules.Pending && a.State != rules.Firing {
			continue
		}
		if ex.Rule != "" && a.Rule != ex.Rule || ex.Device != "" && a.Device != ex.Device {
			continue
		}
		actual[key(a.Rule, a.Subject())] = a
	}
	var fails []string
	seen := map[string]bool{}
	for _, want := range ex.Alerts {
		rule := cmpOr(want.Rule, ex.Rule)
		subject := cmpOr(want.Device, ex.Device)
		if want.Gateway != "" {
			subject = "gateway " + want.Gateway
		}
		k := key(rule, subject)
		seen[k] = true
		state := string(cmpOr(want.State, "firing"))
		if state == "firing" {
			fired[rule] = true
		}
		got, ok := actual[k]
		if !ok {
			fails = append(fails, fmt.Sprintf("%s: missing alert %s (%s)", where, k, state))
			continue
		}
		fails = append(fails, diff(where+": "+k, want, state, got)...)
	}
	for _, k := range slices.Sorted(maps.Keys(actual)) {
		if !seen[k] {
			fails = append(fails, fmt.Sprintf("%s: unexpected alert %s (%s)", where, k, actual[k].State))
		}
	}
	return fails
}

func diff(what string, want expectedAlert, state string, got rules.Alert) []string {
	var out []string
	bad := func(field string, w, g any) {
		out = append(out, fmt.Sprintf("%s: %s is %v, want %v", what, field, g, w))
	}
	if got.State.String() != state {
		bad("state", state, got.State)
	}
	if want.Severity != "" && string(got.Severity) != string(want.Severity) {
		bad("severity", want.Severity, got.Severity)
	}
	if want.Value != nil && !(math.Abs(got.Value-*want.Value) <= 1e-9*math.Max(1, math.Abs(*want.Value))) {
		bad("value", *want.Value, got.Value)
	}
	for k, v := range want.Labels {
		if got.Labels[k] != v {
			bad("label "+k, fmt.Sprintf("%q", v), fmt.Sprintf("%q", got.Labels[k]))
		}
	}
	for k, v := range want.Annotations {
		if got.Annotations[k] != v {
			bad("annotation "+k, fmt.Sprintf("%q", v), fmt.Sprintf("%q", got.Annotations[k]))
		}
	}
	if want.Silenced != nil && *want.Silenced != (len(got.SilencedBy) > 0) {
		bad("silenced", *want.Silenced, len(got.SilencedBy) > 0)
	}
	if want.Inhibited != nil && *want.Inhibited != (got.InhibitedBy != "") {
		bad("inhibited", *want.Inhibited, got.InhibitedBy != "")
	}
	if want.Ticket != nil && *want.Ticket != (got.Ticket != nil) {
		bad("ticket", *want.Ticket, got.Ticket != nil)
	}
	return out
}
