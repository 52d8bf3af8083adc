// Package ruletest runs rule unit tests written as YAML data, in the spirit
// of promtool test rules: input series per device point in a compact
// notation, and the alerts expected at evaluation times.
//
//	rule_files: [../pump.yaml]
//	profile_files: [../../profiles/*.yaml]
//	devices:
//	  - {id: pump-1, profile: booster_pump, location: B1 pump room}
//	tests:
//	  - name: low pressure while running fires after 10 s
//	    input:
//	      pump-1:
//	        running: true x30
//	        discharge_pressure: 3.2x5 1.0x25
//	    expect:
//	      - at: 10s
//	        alerts: [{rule: pump_low_pressure, device: pump-1, state: pending}]
//	      - at: 15s
//	        alerts: [{rule: pump_low_pressure, device: pump-1, state: firing}]
//
// A test evaluates every interval (1 s unless set): first each device's
// samples at that step, as one poll, then the timers. At each `at`, the
// pending and firing alerts (of `rule` or `device`, when set) must be
// exactly those listed.
package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/yamlstrict"
	"github.com/facilityd/facilityd/rules"
)

// testFile is one rule test file.
type testFile struct {
	RuleFiles    []string                 `yaml:"rule_files"`
	ProfileFiles []string                 `yaml:"profile_files"`
	Profiles     map[string]inlineProfile `yaml:"profiles"`
	Devices      []device                 `yaml:"devices"`
	Interval     time.Duration            `yaml:"interval"`
	Tests        []testCase               `yaml:"tests"`
}

// inlineProfile declares a device type's points by kind, for tests of
// equipment without a profile file: {type: elevator, points: {floor: number}}.
type inlineProfile struct {
	Type   string            `yaml:"type"`
	Points map[string]string `yaml:"points"` // bool, number or text
}

type device struct {
	ID       string            `yaml:"id"`
	Profile  string            `yaml:"profile"`
	Location string            `yaml:"location"`
	Gateway  string            `yaml:"gateway"`
	Tags     map[string]string `yaml:"tags"`
	// Defaults are values the device reports at every step of a test
	// unless the test's input gives the point a series: the points a test
	// is not about, such as a fire panel's other zones.
	Defaults map[string]string `yaml:"defaults"`
}

type testCase struct {
	Name     string        `yaml:"name"`
	Interval time.Duration `yaml:"interval"`
	// Input maps device → point → series. The point device_health.up feeds
	// the device's health (what the Modbus poller reports each poll).
	Input    map[string]map[string]string `yaml:"input"`
	Silences []silence                    `yaml:"silences"`
	Expect   []expectation                `yaml:"expect"`
	line     int
}

type silence struct {
	Matchers []string      `yaml:"matchers"`
	From     time.Duration `yaml:"from"`
	To       time.Duration `yaml:"to"`
	Kind     silenceKind   `yaml:"kind"`
}

type expectation struct {
	At     time.Duration   `yaml:"at"`
	Rule   string          `yaml:"rule"`
	Device string          `yaml:"device"`
	Alerts []expectedAlert `yaml:"alerts"`
	line   int
}

type expectedAlert struct {
	Rule        string            `yaml:"rule"`
	Device      string            `yaml:"device"`
	Gateway     string            `yaml:"gateway"`
	State       alertState        `yaml:"state"` // pending or firing (default)
	Severity    severity          `yaml:"severity"`
	Value       *float64          `yaml:"value"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	Silenced    *bool             `yaml:"silenced"`
	Inhibited   *bool             `yaml:"inhibited"`
	Ticket      *bool             `yaml:"ticket"`
}

// The enums of a test file decode like every enum of the config
// (yamlstrict.Enum); load places their errors at file:line:col.
type (
	alertState  string
	severity    string
	silenceKind string
)

// UnmarshalYAML accepts pending or firing.
func (s *alertState) UnmarshalYAML(n *yaml.Node) error {
	return decodeEnum(n, s, "state", "pending", "firing")
}

// UnmarshalYAML accepts the rules' severities.
func (s *severity) UnmarshalYAML(n *yaml.Node) error {
	allowed := make([]severity, len(rules.Severities))
	for i, v := range rules.Severities {
		allowed[i] = severity(v)
	}
	return decodeEnum(n, s, "severity", allowed...)
}

// UnmarshalYAML accepts silence or maintenance.
func (k *silenceKind) UnmarshalYAML(n *yaml.Node) error {
	return decodeEnum(n, k, "kind", silenceKind(rules.KindSilence), silenceKind(rules.KindMaintenance))
}

// enumError is an enum that did not decode, at its place.
type enumError struct {
	line, col int
	err       error
}

func (e *enumError) Error() string { return e.err.Error() }

func decodeEnum[T ~string](n *yaml.Node, v *T, what string, allowed ...T) error {
	x, err := yamlstrict.Enum(n, what, allowed...)
	if err != nil {
		return &enumError{n.Line, n.Column, err}
	}
	*v = x
	return nil
}

// decodeError names where a decoding error is: file:line:col for an enum,
// the file and yaml.v3's own "line N" otherwise.
func decodeError(path string, err error) error {
	var ee *enumError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s:%d:%d: %v", path, ee.line, ee.col, ee.err)
	}
	return fmt.Errorf("%s: %v", path, err)
}

// healthPoint is the input key of a device's health series.
const healthPoint = "device_health.up"

// loaded is a test file with its rules and devices resolved.
type loaded struct {
	path     string
	file     testFile
	defaults map[string]map[string]string // device → point → value
	set      *rules.Set
	files    []string // the rule files, for coverage
	devices  map[string]*rules.Device
}

// load reads a test file strictly, then its rule and profile files, and
// checks the rules against the devices like facilityd check does.
func load(path string) (*loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	l := &loaded{path: path, set: &rules.Set{}, devices: map[string]*rules.Device{}, defaults: map[string]map[string]string{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&l.file); err != nil {
		return nil, decodeError(path, err)
	}
	l.positions(data)
	dir := filepath.Dir(path)
	profiles, err := loadProfiles(dir, l.file.ProfileFiles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, p := range l.file.Profiles {
		pts := map[string]drivers.Kind{}
		for pt, k := range p.Points {
			switch k {
			case "bool":
				pts[pt] = drivers.KindBool
			case "number":
				pts[pt] = drivers.KindFloat
			case "text":
				pts[pt] = drivers.KindString
			default:
				return nil, fmt.Errorf("%s: profile %q: point %q: kind %q: use bool, number or text", path, name, pt, k)
			}
		}
		profiles[name] = profile{typ: p.Type, points: pts}
	}
	var devices []*rules.Device
	for _, d := range l.file.Devices {
		p, ok := profiles[d.Profile]
		if !ok {
			return nil, fmt.Errorf("%s: device %q: unknown profile %q", path, d.ID, d.Profile)
		}
		rd := &rules.Device{ID: d.ID, Type: p.typ, Profile: d.Profile, Location: d.Location, Gateway: d.Gateway, Tags: d.Tags, Points: p.points}
		if _, dup := l.devices[d.ID]; dup || d.ID == "" {
			return nil, fmt.Errorf("%s: device id %q is empty or defined twice", path, d.ID)
		}
		l.devices[d.ID] = rd
		devices = append(devices, rd)
		for point := range d.Defaults {
			if _, ok := rd.Points[point]; !ok && point != healthPoint {
				return nil, fmt.Errorf("%s: device %q: defaults: no point %q", path, d.ID, point)
			}
		}
		l.defaults[d.ID] = d.Defaults
	}
	var errs []error
	for _, pattern := range l.file.RuleFiles {
		files, err := filepath.Glob(relativeTo(dir, pattern))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("%s: rule_files: %q matches no file", path, pattern)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			rf, err := rules.ParseFile(f, data)
			if err != nil {
				errs = append(errs, err)
			}
			l.set.Rules = append(l.set.Rules, rf.Rules()...)
			l.set.Inhibit = append(l.set.Inhibit, rf.Inhibit...)
			l.set.Windows = append(l.set.Windows, rf.Windows...)
			l.files = append(l.files, f)
		}
	}
	if err := rules.SortErrors(append(errs, rules.Check(l.set, devices)...)); err != nil {
		return nil, err
	}
	return l, nil
}

// positions finds the lines of tests and expectations for messages.
func (l *loaded) positions(data []byte) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return
	}
	tests := mapValue(root.Content[0], "tests")
	if tests == nil {
		return
	}
	for i, tc := range tests.Content {
		if i >= len(l.file.Tests) {
			break
		}
		l.file.Tests[i].line = tc.Line
		if ex := mapValue(tc, "expect"); ex != nil {
			for j, e := range ex.Content {
				if j < len(l.file.Tests[i].Expect) {
					l.file.Tests[i].Expect[j].line = e.Line
				}
			}
		}
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

type profile struct {
	typ    string
	points map[string]drivers.Kind
}

// loadProfiles reads profile files (a profile per file, named after it)
// for their type and point kinds; facilityd check validates them fully.
func loadProfiles(dir string, patterns []string) (map[string]profile, error) {
	out := map[string]profile{}
	for _, pattern := range patterns {
		files, err := filepath.Glob(relativeTo(dir, pattern))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("profile_files: %q matches no file", pattern)
		}
		slices.Sort(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var p drivers.Profile
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			if err := dec.Decode(&p); err != nil {
				return nil, fmt.Errorf("%s: %v", f, err)
			}
			pts := map[string]drivers.Kind{}
			for i := range p.Points {
				pt := &p.Points[i]
				if pt.Type == "" && pt.Register.IsBit() {
					pt.Type = drivers.TypeBool
				}
				pts[pt.Name] = pt.ValueKind()
			}
			name := filepath.Base(f)
			out[name[:len(name)-len(filepath.Ext(name))]] = profile{typ: p.Type, points: pts}
		}
	}
	return out, nil
}

// relativeTo resolves a path written in a test file: relative to the file's
// directory unless absolute.
func relativeTo(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
