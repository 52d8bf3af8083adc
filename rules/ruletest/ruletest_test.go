package ruletest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedRules runs the tests of every shipped rule file, as `make test`
// does, and checks that every rule file has tests and that every rule is
// seen firing in at least one of them.
func TestShippedRules(t *testing.T) {
	files, _ := filepath.Glob("../../configs/rules/tests/*.yaml")
	if len(files) == 0 {
		t.Fatal("no rule tests in configs/rules/tests")
	}
	var out bytes.Buffer
	results, err := Run(&out, files...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	tested := map[string]bool{}
	fired := map[string]bool{}
	var all []string
	for _, r := range results {
		if r.Failed > 0 {
			t.Errorf("%s: %d of %d tests failed", r.File, r.Failed, r.Tests)
		}
		for _, f := range r.RuleFiles {
			abs, _ := filepath.Abs(f)
			tested[abs] = true
		}
		for rule := range r.Fired {
			fired[rule] = true
		}
		all = append(all, r.Rules...)
	}
	if t.Failed() {
		t.Log(out.String())
	}
	shipped, _ := filepath.Glob("../../configs/rules/*.yaml")
	for _, f := range shipped {
		abs, _ := filepath.Abs(f)
		if !tested[abs] {
			t.Errorf("%s has no tests in configs/rules/tests", f)
		}
	}
	for _, rule := range all {
		if !fired[rule] {
			t.Errorf("rule %s is never expected to fire in its tests", rule)
		}
	}
}

func TestFailuresAreReported(t *testing.T) {
	var out bytes.Buffer
	r, err := RunFile(&out, "testdata/failing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Tests != 2 || r.Failed != 1 {
		t.Errorf("tests %d failed %d, want 2 and 1:\n%s", r.Tests, r.Failed, out.String())
	}
	report := out.String()
	for _, want := range []string{
		"testdata/failing.yaml: FAIL: 2 tests, 1 failed",
		"FAIL testdata/failing.yaml:14: wrong",
		"at 2s (line 18): hot/b-1: state is pending, want firing",
		"at 3s (line 20): hot/b-1: value is 95, want 90",
		"at 3s (line 20): hot/b-1: severity is major, want critical",
		`at 3s (line 20): hot/b-1: label x is "", want "y"`,
		`at 3s (line 20): hot/b-1: annotation summary is "b-1 at 95 °C", want "nope"`,
		"at 3s (line 20): hot/b-1: silenced is false, want true",
		"at 3s (line 20): hot/b-1: ticket is false, want true",
		"at 4s (line 22): unexpected alert hot/b-1 (firing)",
		"at 5s (line 24): missing alert cold/b-1 (firing)",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "passes") {
		t.Errorf("a passing test is reported:\n%s", report)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	write("rules.yaml", "groups: [{name: g, rules: [{name: r, match: {type: boiler}, expr: temprature > 1}]}]\n")
	for text, want := range map[string]string{
		"rule_files: [rules.yaml]\nprofiles: {boiler: {type: boiler, points: {temperature: number}}}\ndevices: [{id: b, profile: boiler}]\n": "unknown name temprature",
		"rule_file: [rules.yaml]\n":                      "field rule_file not found",
		"rule_files: [missing.yaml]\n":                   "matches no file",
		"devices: [{id: b, profile: nope}]\n":            `unknown profile "nope"`,
		"profiles: {p: {type: t, points: {x: float}}}\n": `kind "float": use bool, number or text`,
		"profile_files: [nope/*.yaml]\n":                 "matches no file",
		"devices: [{id: b, profile: p, defaults: {y: 1}}]\nprofiles: {p: {type: t, points: {x: number}}}\n": `defaults: no point "y"`,
	} {
		_, err := RunFile(&bytes.Buffer{}, write("t.yaml", text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
	// Malformed tests are errors, not failures.
	for text, want := range map[string]string{
		"input: {x: {temperature: 1}}":                    `unknown device "x"`,
		"input: {b: {pressure: 1}}":                       `no point "pressure"`,
		"input: {b: {temperature: abc}}":                  "not a number series",
		"expect: [{at: 1500ms}]":                          "not a multiple of the interval",
		"silences: [{matchers: ['x'], from: 0s, to: 1m}]": "matcher",
	} {
		f := write("t.yaml", "rule_files: [rules2.yaml]\nprofiles: {boiler: {type: boiler, points: {temperature: number}}}\n"+
			"devices: [{id: b, profile: boiler}]\ntests:\n  - name: x\n    "+text+"\n")
		write("rules2.yaml", "groups: [{name: g, rules: [{name: r, match: {type: boiler}, expr: temperature > 1}]}]\n")
		_, err := RunFile(&bytes.Buffer{}, f)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}

// TestEnumErrors: a test file's state, severity and silence kind decode
// like every enum of the config, with the error at file:line:col.
func TestEnumErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.yaml")
	for text, want := range map[string]string{
		"tests:\n  - name: x\n    expect: [{at: 0s, alerts: [{rule: r, state: firng}]}]\n":     p + `:3:49: unknown state "firng": use pending or firing (did you mean "firing"?)`,
		"tests:\n  - name: x\n    expect: [{at: 0s, alerts: [{rule: r, severity: urgent}]}]\n": p + `:3:52: unknown severity "urgent": use info, minor, major or critical`,
		"tests:\n  - name: x\n    silences: [{matchers: ['rule=\"r\"'], kind: maintenace}]\n":  p + `:3:47: unknown kind "maintenace": use silence or maintenance (did you mean "maintenance"?)`,
	} {
		os.WriteFile(p, []byte(text), 0o644)
		_, err := RunFile(&bytes.Buffer{}, p)
		if err == nil || err.Error() != want {
			t.Errorf("%q:\nerror %v\nwant  %s", text, err, want)
		}
	}
}
