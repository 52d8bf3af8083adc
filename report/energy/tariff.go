package energy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Tariffs is the tariffs: section of the config, or a tariff file holding
// one:
//
//	tariffs:
//	  currency: CNY                 # the default
//	  electricity:
//	    - from: 2026-01-01          # in force from this date (site zone)
//	      bands:                    # time of use: every hour in one band
//	        - {band: peak, hours: ["08:00-11:00", "18:00-21:00"], price: 1.18}
//	        - {band: flat, hours: ["06:00-08:00", "11:00-18:00", "21:00-22:00"], price: 0.72}
//	        - {band: valley, hours: ["22:00-06:00"], price: 0.31}
//	        # a band may be limited to months and to weekdays or weekends:
//	        # {band: sharp, months: [7, 8, 9], days: weekday, hours: [...], price: 1.6}
//	      fixed_monthly: 800        # prorated by days
//	      fixed_daily: 5            # per day, the report's last day prorated
//	      demand_per_kw: 40         # per kW of the month's highest 15-minute demand
//	  water:
//	    - {from: 2026-01-01, price: 5.78}
//	  factors:
//	    electricity: {kgco2e: 0.5703, kgce: 0.1229}
//	  buildings:
//	    tower-a: {floor_area_m2: 42000, occupancy: {weekday: ["08:00-18:00"]}}
//
// A price change is a new schedule with its own from date: it applies from
// that date on, and consumption before it keeps the price it had.
type Tariffs struct {
	Currency    string      `yaml:"currency"`
	Electricity []*Schedule `yaml:"electricity"`
	Water       []*Schedule `yaml:"water"`
	Gas         []*Schedule `yaml:"gas"`
	// Factors are the carbon and standard-coal factors per unit.
	Factors Factors `yaml:"factors"`
	// Buildings are the facts the EnPIs divide by, by building tag.
	Buildings map[string]*Building `yaml:"buildings"`
}

// Schedule is the price of one category from a date until the next
// schedule's.
type Schedule struct {
	From Date `yaml:"from"`
	// Price is per unit (kWh, m³) at every hour, when there are no bands.
	Price float64 `yaml:"price"`
	// Bands are the time-of-use bands; together they hold each hour of the
	// day exactly once.
	Bands []*Band `yaml:"bands"`
	// FixedMonthly is a charge per calendar month, prorated by the days of
	// the month the report covers.
	FixedMonthly float64 `yaml:"fixed_monthly"`
	// FixedDaily is a charge per day (a daily standing charge), with and
	// like FixedMonthly: the last day of a partial period in part.
	FixedDaily float64 `yaml:"fixed_daily"`
	// DemandPerKW is the monthly charge per kW of the month's highest
	// 15-minute demand, prorated by days like the fixed charge.
	DemandPerKW float64 `yaml:"demand_per_kw"`
	// Tiers are block prices by the calendar month's quantity (water and
	// gas ladders, 阶梯价格): each tier's price holds up to its up_to, the
	// last tier (without up_to) for the rest. A report covering part of a
	// month prorates the limits by the share of the month's days it
	// covers. Instead of price and bands.
	Tiers []*Tier `yaml:"tiers"`
	// TierBasis is what the month's quantity is counted over: meter (each
	// billed meter on its own, the default) or account (the category's
	// billed meters together; the account's cost is exact, its split
	// between meters follows their order). A sub-meter is priced at the
	// tier its meter or account stands at, without counting.
	TierBasis string `yaml:"tier_basis"`
}

// The bases of tiered prices.
const (
	TierMeter   = "meter"
	TierAccount = "account"
)

// Tier is one block of a tiered price.
type Tier struct {
	UpTo  *float64 `yaml:"up_to"`
	Price float64  `yaml:"price"`
}

// tierCost is the cost of amount consumed after before in a month whose
// tier limits are scaled by share: each part at the price of its tier.
func (s *Schedule) tierCost(before, amount, share float64) float64 {
	cost, lo := 0.0, 0.0
	for _, tr := range s.Tiers {
		hi := math.Inf(1)
		if tr.UpTo != nil {
			hi = *tr.UpTo * share
		}
		// the part of [before, before+amount] within [lo, hi]
		a, b := max(before, lo), min(before+amount, hi)
		if b > a {
			cost += (b - a) * tr.Price
		}
		lo = hi
	}
	return cost
}

// Band is one time-of-use band: its hours and its price per unit.
type Band struct {
	Band  BandName `yaml:"band"`
	Hours []Hours  `yaml:"hours"`
	Price float64  `yaml:"price"`
	// Months (1–12) and Days (weekday or weekend) limit the band to a
	// season and a kind of day; empty means every month, every day.
	Months []int   `yaml:"months"`
	Days   DayKind `yaml:"days"`
}

// DayKind is the kind of day a band applies on.
type DayKind string

// Kinds of day; "" is every day.
const (
	Weekdays DayKind = "weekday"
	Weekends DayKind = "weekend"
)

// UnmarshalYAML accepts weekday or weekend.
func (d *DayKind) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "days", Weekdays, Weekends)
	*d = v
	return err
}

// applies reports whether the band holds this hour of a day of month m.
func (b *Band) applies(m time.Month, weekend bool, hour int) bool {
	if len(b.Months) > 0 && !slices.Contains(b.Months, int(m)) {
		return false
	}
	if b.Days == Weekdays && weekend || b.Days == Weekends && !weekend {
		return false
	}
	return slices.ContainsFunc(b.Hours, func(h Hours) bool { return h.Contains(hour) })
}

// bandProblems checks that, in every month on weekdays and weekends, each
// hour is in exactly one band; it describes the first kind of day that
// fails, and how many others do.
func bandProblems(bands []*Band) string {
	var first string
	failing := 0
	for m := time.January; m <= time.December; m++ {
		for _, weekend := range []bool{false, true} {
			var problems, missing []string
			for hr := range 24 {
				var in []string
				for _, b := range bands {
					if b.applies(m, weekend, hr) {
						in = append(in, string(b.Band))
					}
				}
				switch len(in) {
				case 0:
					missing = append(missing, fmt.Sprintf("%02d:00", hr))
				case 1:
				default:
					problems = append(problems, fmt.Sprintf("%02d:00 is in both %s", hr, strings.Join(in, " and ")))
				}
			}
			if len(missing) > 0 {
				problems = append(problems, "no band holds "+strings.Join(missing, ", "))
			}
			if len(problems) == 0 {
				continue
			}
			failing++
			if first == "" {
				day := "weekdays"
				if weekend {
					day = "weekends"
				}
				first = fmt.Sprintf("%s (%s, %s)", strings.Join(problems, "; "), m, day)
			}
		}
	}
	switch {
	case failing == 0:
		return ""
	case failing == 24:
		return strings.TrimSuffix(first, first[strings.LastIndex(first, " ("):]) // the same every day of the year
	case failing > 1:
		return fmt.Sprintf("%s, and %d other months or kinds of day", first, failing-1)
	}
	return first
}

// BandName is a time-of-use band: sharp (尖峰), peak (峰), flat (平) or
// valley (谷); all for a schedule without bands.
type BandName string

// The bands, in the order reports list them.
const (
	Sharp  BandName = "sharp"
	Peak   BandName = "peak"
	Flat   BandName = "flat"
	Valley BandName = "valley"
	// AllHours is the band of a schedule with one price.
	AllHours BandName = "all"
)

// BandNames are the bands a tariff may name.
var BandNames = []BandName{Sharp, Peak, Flat, Valley}

// UnmarshalYAML accepts sharp, peak, flat or valley.
func (b *BandName) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "band", BandNames...)
	*b = v
	return err
}

// Date is a calendar date, YYYY-MM-DD, in the site's zone.
type Date string

// UnmarshalYAML accepts YYYY-MM-DD.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a date, YYYY-MM-DD, got %s", yamlstrict.KindName(n))
	}
	if _, err := time.Parse(time.DateOnly, n.Value); err != nil {
		return fmt.Errorf("%q is not a date: write YYYY-MM-DD, such as 2026-07-01", n.Value)
	}
	*d = Date(n.Value)
	return nil
}

// Hours is a span of whole hours of the day, [From, To); To ≤ From wraps
// past midnight ("22:00-06:00").
type Hours struct{ From, To int }

// UnmarshalYAML accepts "HH:00-HH:00" (24:00 ends the day).
func (h *Hours) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want hours such as \"08:00-11:00\", got %s", yamlstrict.KindName(n))
	}
	v, err := ParseHours(n.Value)
	*h = v
	return err
}

// ParseHours reads "08:00-11:00".
func ParseHours(s string) (Hours, error) {
	a, b, ok := strings.Cut(strings.ReplaceAll(s, " ", ""), "-")
	from, err1 := parseHour(a)
	to, err2 := parseHour(b)
	if !ok || err1 != nil || err2 != nil || from == 24 || from == to {
		return Hours{}, fmt.Errorf("hours %q: write whole hours as \"08:00-11:00\" (\"22:00-06:00\" wraps past midnight)", s)
	}
	return Hours{from, to}, nil
}

func parseHour(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || m != "00" {
		return 0, fmt.Errorf("bad hour")
	}
	v, err := strconv.Atoi(h)
	if err != nil || v < 0 || v > 24 {
		return 0, fmt.Errorf("bad hour")
	}
	return v, nil
}

// Contains reports whether hour (0–23) is in the span.
func (h Hours) Contains(hour int) bool {
	if h.From < h.To {
		return hour >= h.From && hour < h.To
	}
	return hour >= h.From || hour < h.To
}

// Len is the number of hours in the span.
func (h Hours) Len() int {
	n := 0
	for i := range 24 {
		if h.Contains(i) {
			n++
		}
	}
	return n
}

// Factors are the carbon and standard-coal factors of each category.
type Factors struct {
	Electricity *Factor `yaml:"electricity"`
	Water       *Factor `yaml:"water"`
	Gas         *Factor `yaml:"gas"`
}

// Factor converts one unit (kWh, m³) to kgCO₂e and kgce. A factor left out
// takes its default: GB/T 2589 standard coal (0.1229 kgce/kWh, 1.2143
// kgce/m³ of natural gas), China's 2022 national grid average of
// 0.5703 kgCO₂e/kWh and 2.162 kgCO₂e/m³ of natural gas; water has none.
type Factor struct {
	KgCO2e *float64 `yaml:"kgco2e"`
	Kgce   *float64 `yaml:"kgce"`
}

// Default factors per unit.
var defaultFactors = map[usage.Category][2]float64{
	usage.Electricity: {0.5703, 0.1229},
	usage.Gas:         {2.162, 1.2143},
	usage.Water:       {0, 0},
}

// Building holds the facts of one building that the EnPIs need.
type Building struct {
	FloorAreaM2 float64 `yaml:"floor_area_m2"`
	Dwellings   int     `yaml:"dwellings"`
	// Occupancy are the occupied hours of a weekday and of a weekend day.
	Occupancy Occupancy `yaml:"occupancy"`
}

// Occupancy are the hours a building is occupied.
type Occupancy struct {
	Weekday []Hours `yaml:"weekday"`
	Weekend []Hours `yaml:"weekend"`
}

// Occupied reports whether hour of a weekday or weekend day is occupied.
func (o Occupancy) Occupied(weekend bool, hour int) bool {
	hs := o.Weekday
	if weekend {
		hs = o.Weekend
	}
	return slices.ContainsFunc(hs, func(h Hours) bool { return h.Contains(hour) })
}

// Decode decodes a tariff file, whose one document holds a tariffs:
// section, strictly: every problem is collected, each as file:line:col.
func Decode(file string, data []byte) (*Tariffs, error) {
	d := yamlstrict.NewDecoder(file, data)
	d.Positions = yamlstrict.Positions{}
	root := d.Parse()
	if len(d.Errs) > 0 {
		return nil, yamlstrict.SortErrors(d.Errs)
	}
	if root == nil {
		return nil, yamlstrict.Errorf(yamlstrict.Pos{File: file, Line: 1, Col: 1}, "no tariffs: write a tariffs: section")
	}
	var t *Tariffs
	d.Fields(root, "", []string{"tariffs"}, func(key string, k, v *yaml.Node) {
		t = DecodeNode(d, v, "tariffs")
	})
	if t == nil && len(d.Errs) == 0 {
		d.Errorf(root, "no tariffs: write a tariffs: section")
	}
	if len(d.Errs) > 0 {
		return nil, yamlstrict.SortErrors(d.Errs)
	}
	return t, nil
}

// DecodeNode decodes the tariffs: mapping n (at path) with d and checks it,
// recording its problems in d.Errs.
func DecodeNode(d *yamlstrict.Decoder, n *yaml.Node, path string) *Tariffs {
	if d.Positions == nil {
		d.Positions = yamlstrict.Positions{}
	}
	t := &Tariffs{}
	before := len(d.Errs)
	d.Decode(n, t, path)
	if len(d.Errs) == before {
		d.Errs = append(d.Errs, t.Check(d.Positions)...)
	}
	return t
}

// Check checks the decoded tariffs, placing problems with pos.
func (t *Tariffs) Check(pos yamlstrict.Positions) []error {
	var errs []error
	at := func(ptr any, field, format string, args ...any) {
		p, _ := pos.At(ptr, field)
		errs = append(errs, yamlstrict.Errorf(p, format, args...))
	}
	if t.Currency == "" {
		t.Currency = "CNY"
	}
	for _, c := range usage.Categories {
		ss := t.schedules(c)
		for i, s := range ss {
			name := fmt.Sprintf("tariffs: %s schedule %d", c, i+1)
			switch {
			case s.From == "":
				at(s, "from", "%s: from is required: the date its prices apply from (YYYY-MM-DD)", name)
			case i > 0 && s.From <= ss[i-1].From:
				at(s, "from", "%s: from %s is not after the schedule before it (%s): list schedules oldest first, each from its own date", name, s.From, ss[i-1].From)
			}
			if s.Price < 0 || s.FixedMonthly < 0 || s.FixedDaily < 0 || s.DemandPerKW < 0 {
				at(s, "from", "%s: prices and charges cannot be negative", name)
			}
			if len(s.Bands) > 0 && s.Price != 0 {
				at(s, "price", "%s: give either price (one price at every hour) or bands, not both", name)
			}
			if len(s.Tiers) > 0 {
				if len(s.Bands) > 0 || s.Price != 0 {
					at(s, "tiers", "%s: give tiers (block prices by the month's quantity) instead of price and bands, not with them", name)
				}
				prev := 0.0
				for j, tr := range s.Tiers {
					last := j == len(s.Tiers)-1
					switch {
					case tr.Price < 0:
						at(tr, "price", "%s: tier %d: price cannot be negative", name, j+1)
					case tr.UpTo == nil && !last:
						at(tr, "price", "%s: tier %d: up_to is required but on the last tier (which holds the rest)", name, j+1)
					case tr.UpTo != nil && last:
						at(tr, "up_to", "%s: the last tier holds the rest: leave out its up_to (%g)", name, *tr.UpTo)
					case tr.UpTo != nil && *tr.UpTo <= prev:
						at(tr, "up_to", "%s: tier %d: up_to %g must be above the tier before (%g)", name, j+1, *tr.UpTo, prev)
					}
					if tr.UpTo != nil {
						prev = *tr.UpTo
					}
				}
			}
			switch s.TierBasis {
			case "", TierMeter, TierAccount:
			default:
				at(s, "tier_basis", "%s: tier_basis %q: write meter or account", name, s.TierBasis)
			}
			if s.DemandPerKW != 0 && c != usage.Electricity {
				at(s, "demand_per_kw", "%s: a demand charge is for electricity only", name)
			}
			if len(s.Bands) > 0 {
				for _, b := range s.Bands {
					if b.Price < 0 {
						at(b, "price", "%s: band %s: price cannot be negative", name, b.Band)
					}
					for _, m := range b.Months {
						if m < 1 || m > 12 {
							at(b, "months", "%s: band %s: month %d: write months as 1 (January) to 12", name, b.Band, m)
						}
					}
				}
				if msg := bandProblems(s.Bands); msg != "" {
					at(s, "bands", "%s: every hour of the day must be in exactly one band: %s", name, msg)
				}
			}
		}
	}
	for name, b := range t.Buildings {
		if b.FloorAreaM2 < 0 || b.Dwellings < 0 {
			at(b, "floor_area_m2", "tariffs: building %q: floor area and dwellings cannot be negative", name)
		}
	}
	for _, f := range []*Factor{t.Factors.Electricity, t.Factors.Water, t.Factors.Gas} {
		if f != nil && (f.KgCO2e != nil && *f.KgCO2e < 0 || f.Kgce != nil && *f.Kgce < 0) {
			at(f, "kgco2e", "tariffs: factors cannot be negative")
		}
	}
	return errs
}

func (t *Tariffs) schedules(c usage.Category) []*Schedule {
	if t == nil {
		return nil
	}
	switch c {
	case usage.Electricity:
		return t.Electricity
	case usage.Water:
		return t.Water
	case usage.Gas:
		return t.Gas
	}
	return nil
}

// factor returns the kgCO₂e and kgce per unit of c.
func (t *Tariffs) factor(c usage.Category) (kgco2e, kgce float64) {
	d := defaultFactors[c]
	kgco2e, kgce = d[0], d[1]
	if t == nil {
		return
	}
	var f *Factor
	switch c {
	case usage.Electricity:
		f = t.Factors.Electricity
	case usage.Water:
		f = t.Factors.Water
	case usage.Gas:
		f = t.Factors.Gas
	}
	if f != nil && f.KgCO2e != nil {
		kgco2e = *f.KgCO2e
	}
	if f != nil && f.Kgce != nil {
		kgce = *f.Kgce
	}
	return
}

// Schedule returns the schedule of c in force at t (local date in loc), or
// nil before the first.
func (t *Tariffs) Schedule(c usage.Category, at time.Time, loc *time.Location) *Schedule {
	day := dateOf(at.In(loc))
	var in *Schedule
	for _, s := range t.schedules(c) {
		if s.From <= day {
			in = s
		}
	}
	return in
}

// dateOf is t's date as a Date, without time.Format's general machinery
// (a year report prices some 7 million quarter hours).
func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	b := []byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	for i, v := 3, y; i >= 0; i, v = i-1, v/10 {
		b[i] = byte('0' + v%10)
	}
	b[5], b[6] = byte('0'+int(m)/10), byte('0'+int(m)%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	if y < 0 || y > 9999 {
		return Date(t.Format(time.DateOnly))
	}
	return Date(b)
}

// Price returns the band and price per unit of c at t, and false when no
// schedule is in force.
func (t *Tariffs) Price(c usage.Category, at time.Time, loc *time.Location) (BandName, float64, bool) {
	s := t.Schedule(c, at, loc)
	if s == nil {
		return "", 0, false
	}
	if len(s.Tiers) > 0 {
		// Without the month's quantity: the top tier's, the price of an
		// excess (see Report.add for the tiers applied).
		return AllHours, s.Tiers[len(s.Tiers)-1].Price, true
	}
	if len(s.Bands) == 0 {
		return AllHours, s.Price, true
	}
	l := at.In(loc)
	weekend := l.Weekday() == time.Saturday || l.Weekday() == time.Sunday
	for _, b := range s.Bands {
		if b.applies(l.Month(), weekend, l.Hour()) {
			return b.Band, b.Price, true
		}
	}
	return "", 0, false // Check rules this out
}
