// Package config is facilityd's one config file: its schema, defaults, strict
// decoding with file:line:col errors, ${VAR} expansion and validation of
// devices, profiles and rules together.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
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

	// Path is the file this config was loaded from.
	Path string `yaml:"-"`
	pos  map[posKey]Pos
}

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

// Load reads, expands, decodes and validates the config file at path and the
// profile and rule files it names. The error, if any, lists every problem
// found, each as file:line:col: message.
func Load(path string) (*Config, error) {
	return load(path, os.LookupEnv)
}

func load(path string, lookup func(string) (string, bool)) (*Config, error) {
	cfg := &Config{Path: path, pos: map[posKey]Pos{}}
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
	ruleErrs := cfg.loadRules(dir)
	if len(errs) > 0 { // types are wrong: semantic checks would only add noise
		return nil, sortErrors(append(errs, ruleErrs...))
	}
	cfg.applyDefaults()
	if errs := append(cfg.validate(), ruleErrs...); len(errs) > 0 {
		return nil, sortErrors(errs)
	}
	return cfg, nil
}

func glob(dir, pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	files, err := filepath.Glob(pattern)
	slices.Sort(files)
	return files, err
}

// decodeFile decodes one YAML document strictly into v.
func decodeFile(path string, v any, pos map[posKey]Pos, lookup func(string) (string, bool)) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		return []error{syntaxError(path, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return []error{&Error{Pos: Pos{File: path, Line: extra.Line, Col: extra.Column}, Msg: "a second YAML document: one document per file"}}
	}
	d := newDecoder(path, pos)
	d.expandEnv(&root, lookup)
	d.decode(&root, reflect.ValueOf(v).Elem(), "")
	return d.errs
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into file:N:1: msg.
func syntaxError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if _, e := fmt.Sscanf(n, "%d", &line); e == nil {
				msg = m
			}
		}
	}
	return &Error{Pos: Pos{File: path, Line: line, Col: 1}, Msg: msg}
}

// At returns where the struct at ptr (or its field, when field is set) was
// written, or the config file's start when unknown.
func (c *Config) At(ptr any, field string) Pos {
	v := reflect.ValueOf(ptr)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		if p, ok := c.pos[posKey{ptr: v.UnsafePointer(), typ: v.Type().Elem(), field: field}]; ok {
			return p
		}
		if p, ok := c.pos[posKey{ptr: v.UnsafePointer(), typ: v.Type().Elem()}]; ok {
			return p
		}
	}
	return Pos{File: c.Path, Line: 1, Col: 1}
}

func (c *Config) errAt(ptr any, field string, format string, args ...any) error {
	return &Error{Pos: c.At(ptr, field), Msg: fmt.Sprintf(format, args...)}
}

// sortErrors orders errors by file and position and joins them.
func sortErrors(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ea, eb *Error
		if !errors.As(a, &ea) || !errors.As(b, &eb) {
			return 0
		}
		return cmp.Or(cmp.Compare(ea.File, eb.File), cmp.Compare(ea.Line, eb.Line), cmp.Compare(ea.Col, eb.Col))
	})
	return errors.Join(errs...)
}
