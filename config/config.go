// Package config is facilityd's one config file: its schema, defaults, strict
// decoding with file:line:col errors, ${VAR} expansion and validation of
// devices, profiles and rules together.
package config

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
	"github.com/facilityd/facilityd/inspections"
	"github.com/facilityd/facilityd/internal/yamlstrict"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/web"
)

// Config is the whole configuration of one facilityd.
type Config struct {
	// Site names the building or estate; it tags every series.
	Site string `yaml:"site"`
	// StateDir holds the tickets database and other state.
	StateDir string         `yaml:"state_dir"`
	InfluxDB store.Config   `yaml:"influxdb"`
	HTTP     web.Config     `yaml:"http"`
	Tickets  tickets.Config `yaml:"tickets"`
	MQTT     *MQTT          `yaml:"mqtt"`
	// Profiles are defined inline by name, or loaded from ProfileFiles
	// (globs relative to this file; a file's name without .yaml is the
	// profile's name).
	Profiles     map[string]*drivers.Profile `yaml:"profiles"`
	ProfileFiles []string                    `yaml:"profile_files"`
	Devices      []*Device                   `yaml:"devices"`
	// InlineRules are rules written in this file (a list, as in a group of a
	// rule file); RuleFiles are globs, relative to this file, of rule files
	// (groups of rules and inhibit rules). See package rules.
	InlineRules rules.Raw `yaml:"rules"`
	RuleFiles   []string  `yaml:"rule_files"`
	// Rules and Inhibit are every rule and inhibit rule, inline ones first,
	// after Load.
	Rules   []*rules.Rule        `yaml:"-"`
	Inhibit []*rules.InhibitRule `yaml:"-"`
	// Windows are the recurring maintenance windows of the rule files.
	Windows []*rules.MaintenanceWindow `yaml:"-"`
	// Timezone is the IANA time zone of the site's calendar, in which
	// inspections fall due on calendar days (default: the local zone).
	Timezone string `yaml:"timezone"`
	// InspectionFiles are globs, relative to this file, of inspection
	// files (see package inspections); rule files may also hold an
	// inspections: section.
	InspectionFiles []string `yaml:"inspection_files"`
	// Inspections are the preventive-maintenance plans of the inspection
	// files, then of the rule files, after Load; Zone is Timezone loaded.
	Inspections []*inspections.Plan `yaml:"-"`
	Zone        *time.Location      `yaml:"-"`
	// Energy is the meters, weather and baselines (see energy.go); nil
	// without an energy section.
	Energy *Energy `yaml:"energy"`

	Tariffs *Tariffs `yaml:"tariffs"` // prices, factors and building facts of the energy report (tariffs.go)
	Reports *Reports `yaml:"reports"` // scheduled reports, their archive and delivery (reports.go)

	// Path is the file this config was loaded from.
	Path string `yaml:"-"`
	pos  yamlstrict.Positions
}

// Pos is a place in a config, profile or rule file.
type Pos = yamlstrict.Pos

// Error is one problem at one place in a config, profile or rule file,
// formatted as file:line:col: message.
type Error = yamlstrict.Error

// Device is one piece of equipment.
type Device struct {
	ID          string            `yaml:"id"`
	Profile     string            `yaml:"profile"`
	Description string            `yaml:"description"`
	Location    string            `yaml:"location"`
	Tags        map[string]string `yaml:"tags"`
	Modbus      *modbus.Config    `yaml:"modbus"`
	MQTT        *MQTTDevice       `yaml:"mqtt"`
}

// DeviceTags returns the InfluxDB tags of every device, by device id: site,
// then the device's own tags (which may override site). The daemon stores
// readings with them and `facilityd sim --backfill` writes history with the
// same, so both land in the same series. The devices without tags of their
// own share one map (a map each is about 400 B at 1,000 meters); the maps
// are read-only.
func (c *Config) DeviceTags() map[string]map[string]string {
	tags := make(map[string]map[string]string, len(c.Devices))
	site := map[string]string{"site": c.Site}
	for _, d := range c.Devices {
		if len(d.Tags) == 0 {
			tags[d.ID] = site
			continue
		}
		t := map[string]string{"site": c.Site}
		maps.Copy(t, d.Tags)
		tags[d.ID] = t
	}
	return tags
}

// Load reads, expands, decodes and validates the config file at path and the
// profile and rule files it names. The error, if any, lists every problem
// found, each as file:line:col: message.
//
// Load never panics: a panic while loading (a defect, not a config error) is
// returned as an error naming the file, so that check reports it and a
// reload keeps the running config.
func Load(path string) (cfg *Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, err = nil, fmt.Errorf("%s: internal error while loading (please report it, with the file): %v", path, p)
		}
	}()
	return load(path, os.LookupEnv)
}

func load(path string, lookup func(string) (string, bool)) (*Config, error) {
	cfg := &Config{Path: path, pos: yamlstrict.Positions{}}
	var errs []error
	errs = append(errs, decodeFile(path, cfg, cfg.pos, lookup)...)
	dir := filepath.Dir(path)
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]*drivers.Profile{}
	}
	for i, pattern := range cfg.ProfileFiles {
		files, err := glob(dir, pattern)
		if err != nil || len(files) == 0 {
			errs = append(errs, cfg.errAt(cfg, "profile_files", "entry %d, %q, matches no file", i+1, pattern))
			continue
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			p := new(drivers.Profile)
			fe := decodeFile(f, p, cfg.pos, lookup)
			errs = append(errs, fe...)
			if _, dup := cfg.Profiles[name]; dup {
				errs = append(errs, &Error{Pos: Pos{File: f, Line: 1, Col: 1}, Msg: fmt.Sprintf("profile %q is defined twice", name)})
				continue
			}
			cfg.Profiles[name] = p
		}
	}
	// A rule's problems do not hide another's: rules are checked against
	// the devices even when some failed to parse.
	ruleErrs := append(cfg.loadRules(dir), cfg.loadInspections(dir)...)
	if len(errs) > 0 {
		// Types are wrong: most semantic checks would only add noise, but
		// the rules are still checked against the profiles, so that a key
		// typo does not hide a rule's misspelt point.
		return nil, yamlstrict.SortErrors(append(append(errs, ruleErrs...), cfg.partialRuleErrors()...))
	}
	cfg.applyDefaults()
	errs = append(append(cfg.validate(), ruleErrs...), cfg.loadEnergy()...)
	if errs = append(errs, cfg.validateReports()...); len(errs) > 0 { // reports after energy: they name its buildings
		return nil, yamlstrict.SortErrors(errs)
	}
	return cfg, nil
}

// DropPositions lets go of where each setting was written, which only
// places errors: afterwards At, and the checks that use it (CheckSecrets),
// point at the file's start. The daemon drops them once the config is
// checked, since it keeps the config for the whole run and at 1,000 devices
// they are about 2 MB of its heap.
func (c *Config) DropPositions() { c.pos = nil }

// partialRuleErrors checks the rules against a config that did not decode
// cleanly, as far as it did; a panic on what is missing only ends the check.
func (c *Config) partialRuleErrors() (errs []error) {
	defer func() {
		if recover() != nil {
			errs = nil
		}
	}()
	c.applyDefaults()
	return append(c.validateRules(), c.validateInspections()...)
}

func glob(dir, pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	files, err := filepath.Glob(pattern)
	slices.Sort(files)
	return files, err
}

// decodeFile decodes the one YAML document of the file at path strictly into
// v, after ${VAR} expansion, recording positions in pos.
func decodeFile(path string, v any, pos yamlstrict.Positions, lookup func(string) (string, bool)) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	d := yamlstrict.NewDecoder(path, data)
	d.Positions = pos
	root := d.Parse()
	if len(d.Errs) > 0 {
		return d.Errs
	}
	if root == nil { // no document at all
		return []error{&Error{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: io.EOF.Error()}}
	}
	d.ExpandEnv(root, lookup)
	d.Decode(root, v, "")
	return d.Errs
}

// At returns where the struct at ptr (or its field, when field is set) was
// written, or the config file's start when unknown.
func (c *Config) At(ptr any, field string) Pos {
	if p, ok := c.pos.At(ptr, field); ok {
		return p
	}
	return Pos{File: c.Path, Line: 1, Col: 1}
}

func (c *Config) errAt(ptr any, field string, format string, args ...any) error {
	return &Error{Pos: c.At(ptr, field), Msg: fmt.Sprintf(format, args...)}
}
