package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/robfig/cron/v3"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/yamlstrict"
	energyreport "github.com/facilityd/facilityd/report/energy"
)

// Reports is the reports: section: the reports the daemon generates on a
// schedule, archives in state_dir/reports/ and sends to receivers of the
// tickets section through the notification outbox.
//
//	reports:
//	  base_url: https://facility.example.org   # links in webhook notifications (default http://<http.listen>)
//	  tariffs_file: tariffs/site.yaml          # prices when the config has no tariffs: section
//	  schedules:
//	    - name: monthly-energy
//	      schedule: "0 8 1 * *"                 # cron, in the site's timezone: the 1st at 08:00
//	      period: previous_month                # previous_day, _week, _month, _quarter, _year
//	      formats: [pdf, xlsx]                  # html, pdf, csv, xlsx
//	      lang: zh-CN                           # en (default) or zh-CN
//	      building: tower-a                     # optional
//	      category: electricity                 # optional
//	      receivers: [manager-mail, cmms]       # email: attached; webhook, mqtt: a link
type Reports struct {
	// BaseURL is the start of the links to archived reports that webhook
	// and MQTT receivers get; empty, http://<http.listen>.
	BaseURL string `yaml:"base_url"`
	// TariffsFile, relative to the config file, holds a tariffs: section
	// (as report energy --tariffs): the prices of the scheduled reports
	// when the config has no tariffs: section of its own. Tariffs is it
	// decoded.
	TariffsFile string                `yaml:"tariffs_file"`
	Tariffs     *energyreport.Tariffs `yaml:"-"`
	Schedules   []*ReportSchedule     `yaml:"schedules"`
}

// ReportTariffs are the prices of the scheduled and on-demand reports: the
// tariffs: section, else the reports' tariffs_file; nil without either.
func (c *Config) ReportTariffs() *energyreport.Tariffs {
	if c.Tariffs != nil && c.Tariffs.Tariffs != nil {
		return c.Tariffs.Tariffs
	}
	if c.Reports != nil {
		return c.Reports.Tariffs
	}
	return nil
}

// ReportSchedule is one scheduled report.
type ReportSchedule struct {
	Name string `yaml:"name"`
	// Kind is the report: energy (the only one, and the default).
	Kind string `yaml:"kind"`
	// Schedule is a cron spec (five fields, or @monthly and the like) in
	// the site's timezone; Cron is it parsed.
	Schedule string        `yaml:"schedule"`
	Cron     cron.Schedule `yaml:"-"`
	// Period is which period the report covers, relative to the time it
	// runs: one of ReportPeriods.
	Period    ReportPeriod `yaml:"period"`
	Formats   []string     `yaml:"formats"`
	Lang      string       `yaml:"lang"`
	Building  string       `yaml:"building"`
	Category  string       `yaml:"category"`
	Receivers []string     `yaml:"receivers"`
}

// ReportPeriod is a period relative to the time a report runs.
type ReportPeriod string

// ReportPeriods are the relative periods of a scheduled report: the last
// full day, ISO week, month, quarter or year before the run.
var ReportPeriods = []ReportPeriod{"previous_day", "previous_week", "previous_month", "previous_quarter", "previous_year"}

// ReportFormats are the formats a report is written in.
var ReportFormats = []string{"html", "pdf", "csv", "xlsx"}

var reportName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validateReports checks the reports section against the receivers, the
// meters and the timezone, parses the schedules and fills the defaults.
func (c *Config) validateReports() []error {
	r := c.Reports
	if r == nil {
		return nil
	}
	var errs []error
	add := func(ptr any, field, format string, args ...any) {
		errs = append(errs, c.errAt(ptr, field, format, args...))
	}
	if r.TariffsFile != "" {
		p := r.TariffsFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(c.Path), p)
		}
		if data, err := os.ReadFile(p); err != nil {
			add(r, "tariffs_file", "reports.tariffs_file: %v", err)
		} else if t, err := energyreport.Decode(p, data); err != nil {
			errs = append(errs, err)
		} else {
			r.Tariffs = t
		}
	}
	var receivers []string
	mqttReceivers := map[string]bool{}
	for _, rc := range c.Tickets.Receivers {
		receivers = append(receivers, rc.Name)
		mqttReceivers[rc.Name] = rc.MQTT != nil
	}
	seen := map[string]*ReportSchedule{}
	for i, s := range r.Schedules {
		if s == nil {
			continue
		}
		what := fmt.Sprintf("reports.schedules[%d]", i)
		switch {
		case s.Name == "":
			add(s, "", "%s: name is required (lower case letters, digits, - and _), e.g. monthly-energy", what)
		case !reportName.MatchString(s.Name):
			add(s, "name", "%s: name %q: use lower case letters, digits, - and _ (it names the archived files)", what, s.Name)
		case seen[s.Name] != nil:
			add(s, "name", "%s: report %q is defined twice (first at %s)", what, s.Name, c.At(seen[s.Name], "name"))
		default:
			seen[s.Name] = s
			what = fmt.Sprintf("report %q", s.Name)
		}
		if s.Kind == "" {
			s.Kind = "energy"
		} else if s.Kind != "energy" {
			add(s, "kind", "%s: kind %q: the only report is energy", what, s.Kind)
		}
		if s.Kind == "energy" && (c.Energy == nil || c.Energy.Usage == nil || len(c.Energy.Usage.Meters) == 0) {
			add(s, "kind", "%s: an energy report needs meters: write an energy: section with meters", what)
		}
		if s.Schedule == "" {
			add(s, "", "%s: schedule is required: a cron spec in the site's timezone, e.g. \"0 8 1 * *\" (the 1st at 08:00)", what)
		} else if sc, err := cron.ParseStandard(s.Schedule); err != nil {
			add(s, "schedule", "%s: schedule %q: %v: write a cron spec such as \"0 8 1 * *\" (the 1st at 08:00)", what, s.Schedule, err)
		} else {
			if spec, ok := sc.(*cron.SpecSchedule); ok && c.Zone != nil {
				spec.Location = c.Zone
			}
			s.Cron = sc
		}
		if s.Period == "" {
			add(s, "", "%s: period is required: %s", what, periodNames())
		} else if !slices.Contains(ReportPeriods, s.Period) {
			add(s, "period", "%s: period %q: write %s", what, s.Period, periodNames())
		}
		if len(s.Formats) == 0 {
			add(s, "", "%s: formats is required: a list of html, pdf, csv, xlsx", what)
		}
		for j, f := range s.Formats {
			if !slices.Contains(ReportFormats, f) {
				add(s, "formats", "%s: formats[%d] %q: write html, pdf, csv or xlsx", what, j, f)
			} else if slices.Index(s.Formats, f) != j {
				add(s, "formats", "%s: format %q is listed twice", what, f)
			}
		}
		if s.Lang == "" {
			s.Lang = "en"
		} else if _, err := energyreport.ParseLang(s.Lang); err != nil {
			add(s, "lang", "%s: lang: %v", what, err)
		}
		if s.Category != "" && !slices.Contains(usage.Categories, usage.Category(s.Category)) {
			add(s, "category", "%s: category %q: write electricity, water or gas", what, s.Category)
		}
		if s.Building != "" && c.Energy != nil && c.Energy.Usage != nil && !slices.ContainsFunc(c.Energy.Usage.Meters, func(m *usage.Meter) bool {
			return m != nil && m.Building == s.Building
		}) {
			add(s, "building", "%s: no meter is in building %q", what, s.Building)
		}
		for j, name := range s.Receivers {
			if !slices.Contains(receivers, name) {
				add(s, "receivers", "%s: receivers[%d]: no receiver %q in tickets.receivers%s", what, j, name, yamlstrict.DidYouMean(name, receivers))
			} else if mqttReceivers[name] {
				add(s, "receivers", "%s: receivers[%d]: %q is an MQTT receiver: reports go to email (attached) or webhook (a link) receivers", what, j, name)
			}
		}
	}
	return errs
}

func periodNames() string {
	names := make([]string, len(ReportPeriods))
	for i, p := range ReportPeriods {
		names[i] = string(p)
	}
	return yamlstrict.OrList(names)
}
