package portfolio

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/yamlstrict"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/web"
)

// Config is the portfolio's config file:
//
//	timezone: Asia/Shanghai       # the company's calendar: months start at its midnight
//	http: {listen: 127.0.0.1:8090}
//	influxdb:                     # the InfluxDB the sites' daemons write to (tag site)
//	  url: http://influxdb:8086
//	  bucket: facility/autogen
//	tickets:
//	  database: postgres://portfolio@db/facilityd   # the sites' shared ticket database
//	sites:
//	  - id: tower-a               # the site: of the sites' configs
//	    name: Tower A
//	    floor_area_m2: 42000
//	    meters:                   # its electricity supply points, as in energy.meters
//	      - {id: main, device: meter-1, counter: import_energy}
type Config struct {
	// Timezone is the IANA zone months are counted in; Zone is it loaded.
	Timezone string         `yaml:"timezone"`
	Zone     *time.Location `yaml:"-"`
	// HTTP is the web server: the daemon's http section (listen, read,
	// tokens).
	HTTP     web.Config   `yaml:"http"`
	InfluxDB store.Config `yaml:"influxdb"`
	Tickets  TicketDB     `yaml:"tickets"`
	Sites    []*Site      `yaml:"sites"`

	// Path is the file the config was loaded from.
	Path string `yaml:"-"`
	pos  yamlstrict.Positions
}

// TicketDB names the ticket database the sites' daemons share.
type TicketDB struct {
	// Database is a postgres:// URL (or, for one site, a SQLite file);
	// the password may come from PGPASSWORD or ~/.pgpass.
	Database string `yaml:"database"`
}

// Site is one building of the portfolio.
type Site struct {
	// ID is the site as its daemon's config names it: the tag site of its
	// readings and the site of its tickets.
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// FloorAreaM2 is the floor area, m², that kWh/m² divides by.
	FloorAreaM2 float64 `yaml:"floor_area_m2"`
	// Meters are the site's electricity meters as in the daemon's
	// energy.meters, with measurement energy_meter unless written; the
	// site's energy is the sum of those with no parent among them.
	Meters *usage.Config `yaml:"-"`

	MetersNode meterNode `yaml:"meters"`
}

// meterNode keeps the meters' node, decoded by energy/usage with its own
// positions after the rest.
type meterNode struct{ n *yaml.Node }

// UnmarshalYAML keeps n.
func (m *meterNode) UnmarshalYAML(n *yaml.Node) error {
	m.n = n
	return nil
}

// DefaultMeasurement is a meter's measurement when it names none: the
// equipment type of the shipped energy meter profiles.
const DefaultMeasurement = "energy_meter"

// Load reads, expands (${VAR}) and decodes the file at path strictly and
// checks it; the error lists every problem, each as file:line:col: message.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse is Load of data, read from the file named path, with lookup
// giving the environment.
func Parse(path string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	cfg := &Config{Path: path, pos: yamlstrict.Positions{}}
	d := yamlstrict.NewDecoder(path, data)
	d.Positions = cfg.pos
	root := d.Parse()
	if len(d.Errs) > 0 {
		return nil, yamlstrict.SortErrors(d.Errs)
	}
	if root == nil {
		return nil, yamlstrict.Errorf(yamlstrict.Pos{File: path, Line: 1, Col: 1}, "%v: write a sites: list", io.EOF)
	}
	d.ExpandEnv(root, lookup)
	d.Decode(root, cfg, "")
	for i, s := range cfg.Sites { // every decoding problem at once, the meters' too
		if s != nil && s.MetersNode.n != nil {
			s.Meters = decodeMeters(d, s.MetersNode.n, fmt.Sprintf("sites[%d]", i))
		}
	}
	if len(d.Errs) > 0 {
		return nil, yamlstrict.SortErrors(d.Errs)
	}
	errs := cfg.check(d)
	if len(errs) > 0 {
		return nil, yamlstrict.SortErrors(errs)
	}
	return cfg, nil
}

func (c *Config) at(ptr any, field string) yamlstrict.Pos {
	if p, ok := c.pos.At(ptr, field); ok {
		return p
	}
	return yamlstrict.Pos{File: c.Path, Line: 1, Col: 1}
}

func (c *Config) errAt(ptr any, field, format string, args ...any) error {
	return yamlstrict.Errorf(c.at(ptr, field), format, args...)
}

// check fills the defaults and reports every problem the decoding does not.
func (c *Config) check(d *yamlstrict.Decoder) []error {
	var errs []error
	c.Zone = time.Local
	if c.Timezone != "" {
		z, err := time.LoadLocation(c.Timezone)
		if err != nil {
			errs = append(errs, c.errAt(c, "timezone", "timezone %q: %v: write an IANA zone such as Asia/Shanghai", c.Timezone, err))
		} else {
			c.Zone = z
		}
	}
	if err := c.HTTP.Validate(); err != nil {
		errs = append(errs, c.errAt(&c.HTTP, "", "%v", err))
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8090"
	}
	if c.InfluxDB.URL == "" || c.InfluxDB.Bucket == "" {
		errs = append(errs, c.errAt(c, "influxdb", "influxdb: url and bucket are required: the InfluxDB the sites' daemons write to"))
	}
	if c.Tickets.Database == "" {
		errs = append(errs, c.errAt(c, "tickets", "tickets.database is required: the postgres:// URL the sites' daemons share"))
	}
	if len(c.Sites) == 0 {
		errs = append(errs, c.errAt(c, "sites", "no sites: list the sites, e.g. - {id: tower-a, floor_area_m2: 42000, meters: [...]}"))
	}
	seen := map[string]bool{}
	for i, s := range c.Sites {
		if s == nil {
			errs = append(errs, c.errAt(c, "sites", "sites[%d] is empty", i))
			continue
		}
		errs = append(errs, c.checkSite(d, i, s, seen)...)
	}
	return append(errs, d.Errs...)
}

func (c *Config) checkSite(d *yamlstrict.Decoder, i int, s *Site, seen map[string]bool) []error {
	var errs []error
	name := fmt.Sprintf("sites[%d]", i)
	switch {
	case s.ID == "":
		errs = append(errs, c.errAt(s, "", "%s: no id: write the site as its daemon's config names it (site:)", name))
	case seen[s.ID]:
		errs = append(errs, c.errAt(s, "id", "site %q: a second site with this id: ids must be unique", s.ID))
	case strings.ContainsAny(s.ID, "\n\r"):
		errs = append(errs, c.errAt(s, "id", "%s: the id holds a line break", name))
	default:
		name = fmt.Sprintf("site %q", s.ID)
	}
	seen[s.ID] = true
	if s.Name == "" {
		s.Name = s.ID
	}
	if s.FloorAreaM2 <= 0 {
		errs = append(errs, c.errAt(s, "floor_area_m2", "%s: floor_area_m2 must be above 0: the floor area in m² that kWh/m² divides by", name))
	}
	mn := s.MetersNode.n
	if mn == nil {
		return append(errs, c.errAt(s, "", "%s: no meters: list its electricity meters, e.g. - {id: main, device: meter-1, counter: import_energy}", name))
	}
	err := s.Meters.Resolve(func(id string) (usage.Device, bool) {
		return usage.Device{Measurement: DefaultMeasurement, Tags: map[string]string{"site": s.ID, "category": string(usage.Electricity)}}, true
	})
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = append(errs, j.Unwrap()...)
	} else if err != nil {
		errs = append(errs, err)
	}
	for _, m := range s.Meters.Meters {
		if m == nil {
			continue
		}
		if m.Category != usage.Electricity {
			errs = append(errs, c.errAt(m, "category", "%s: meter %q measures %s: the portfolio compares electricity; leave the meter out", name, m.ID, m.Category))
		}
		if m.Site != s.ID {
			errs = append(errs, c.errAt(m, "site", "%s: meter %q names site %q: a site's meters read its own series; leave site out", name, m.ID, m.Site))
		}
	}
	if len(s.Meters.Meters) == 0 {
		errs = append(errs, c.errAt(s, "meters", "%s: no meters: list its electricity meters", name))
	}
	return errs
}

// decodeMeters decodes the list n, at path, as energy/usage's meters.
func decodeMeters(d *yamlstrict.Decoder, n *yaml.Node, path string) *usage.Config {
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "meters", Line: n.Line, Column: n.Column}
	wrap := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: []*yaml.Node{key, n}}
	return usage.DecodeNode(d, wrap, path)
}

// SiteIDs returns the sites' ids in the config's order.
func (c *Config) SiteIDs() []string {
	ids := make([]string, len(c.Sites))
	for i, s := range c.Sites {
		ids[i] = s.ID
	}
	return ids
}
