// Package energy builds the energy report a property manager reads, files
// and forwards: how much each meter, category and sub-item used over a
// period, what it cost at the tariff (time-of-use bands, prorated fixed
// charges, the demand charge), how it compares with the period before and
// the same period last year (raw and weather-normalized through the
// baseline), baseline against actual with the CUSUM, peak demand, base
// load, the load profile, EnPIs, carbon and standard coal, anomalies and
// energy tickets, and how far to trust each figure.
//
// Compute first, render second: Build gathers through a small Source and
// fills one Report value with every figure; the HTML, PDF, XLSX and CSV
// writers only lay it out, and labels come from one message table per
// language (messages.go).
package energy

import (
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/usage"
)

// Report is every figure of one energy report.
type Report struct {
	Lang     string
	Site     string
	Building string
	Category usage.Category
	Zone     *time.Location
	Currency string
	calendar *baseline.Calendar // the baselines' holidays (Options.Calendar)
	// Period is the span asked for; End is where its data end: Period.To,
	// or the time of the report for a period not yet over (Partial). No
	// figure is extrapolated past End.
	Period    Period
	End       time.Time
	Partial   bool
	Previous  Period
	LastYear  Period
	Generated time.Time

	Meters     []MeterFigures
	Categories []CategoryFigures
	// Sites are the billed totals per site and category of a report of
	// every site (Site is AllSites); nil otherwise.
	Sites       []SiteFigures
	SubItems    []SubItemFigures
	Bands       []BandFigures
	Days        []DayFigures
	Comparisons []Comparison
	Baselines   []BaselineFigures
	Demand      []DemandFigures
	Profile     *Profile
	EnPIs       []EnPI
	Anomalies   []AnomalyFigures
	Tickets     []TicketRow
	Quality     []QualityRow
	// Warnings say what a figure cannot be trusted for.
	Warnings []string
}

// MeterFigures are one meter's consumption and cost.
type MeterFigures struct {
	Meter    string
	Device   string
	Category usage.Category
	SubItem  usage.SubItem
	Building string
	Site     string
	Parent   string
	Unit     string
	// Billed is true for a meter no selected meter is upstream of: the
	// supply point the utility bills. Category totals, fixed and demand
	// charges count billed meters only, so sub-meters are not counted
	// twice; a sub-meter's cost is its energy at the tariff.
	Billed   bool
	Quantity float64
	// EnergyCost is Σ quantity × the price in force at each quarter hour.
	EnergyCost float64
	FixedCost  float64
	DemandCost float64
	Cost       float64
	// Unpriced is the quantity used when no tariff was in force.
	Unpriced float64
	Bands    []BandAmount
	Days     []DayAmount
}

// BandAmount is the quantity and cost in one time-of-use band.
type BandAmount struct {
	Band     BandName
	Quantity float64
	Cost     float64
}

// DayAmount is one calendar day of a meter.
type DayAmount struct {
	Start, End time.Time
	Quantity   float64
	Cost       float64
	// CoveragePct is the share of the day's expected readings present.
	CoveragePct float64
}

// CategoryFigures are the totals of one category over its billed meters.
type CategoryFigures struct {
	Category   usage.Category
	Unit       string
	Meters     int
	Quantity   float64
	EnergyCost float64
	FixedCost  float64
	DemandCost float64
	Cost       float64
	KgCO2e     float64
	Kgce       float64
}

// SiteFigures are one site's totals of one category over its billed
// meters, in a report of every site.
type SiteFigures struct {
	Site     string
	Category usage.Category
	Unit     string
	Meters   int
	Quantity float64
	Cost     float64
}

// SubItemFigures are electricity by end use (分项): each meter counts with
// its own part, less its sub-meters; a main meter's remainder without a
// sub-item is unassigned.
type SubItemFigures struct {
	SubItem  usage.SubItem
	Quantity float64 // kWh
	SharePct float64
}

// BandFigures are one category's quantity and cost in one band.
type BandFigures struct {
	Category usage.Category
	Band     BandName
	Quantity float64
	Cost     float64
	SharePct float64
}

// DayFigures are the billed totals of one day, per category in the order
// of usage.Categories.
type DayFigures struct {
	Start    time.Time
	Quantity [3]float64
	Cost     [3]float64
}

// Comparison sets a category's consumption against the period before and
// the same period last year, over the same elapsed span when the period is
// partial. Percentages are NaN when the other period has too little data;
// the normalized ones are NaN without a baseline fit for alarms.
type Comparison struct {
	Category usage.Category
	Unit     string
	Current  float64
	Previous float64
	LastYear float64
	// PreviousPct and LastYearPct are the raw changes, in %.
	PreviousPct float64
	LastYearPct float64
	// NormPreviousPct and NormLastYearPct are the changes of actual over
	// what the baseline predicts for each period's own weather: the change
	// that the weather does not explain, in %.
	NormPreviousPct float64
	NormLastYearPct float64
	// PreviousCoveragePct and LastYearCoveragePct are the shares of those
	// periods' meter-hours with a reading: below 90 %, no change is
	// computed.
	PreviousCoveragePct float64
	LastYearCoveragePct float64
}

// BaselineFigures are a meter's baseline against its actual use.
type BaselineFigures struct {
	Meter    string
	Category usage.Category
	Unit     string
	// Model is the model's type (hdd_cdd, tow, ...), Kind its family.
	Model        string
	Kind         string
	CVRMSE       float64
	NMBE         float64
	FitForAlarms bool
	Reasons      []string
	Actual       float64
	Predicted    float64
	// Savings is predicted − actual: positive saved, negative lost.
	Savings     float64
	SavingsCost float64
	Days        []BaselineDay
}

// BaselineDay is one day of the baseline comparison; CUSUM is the running
// Σ(actual − predicted) to the end of the day.
type BaselineDay struct {
	Start     time.Time
	Actual    float64
	Predicted float64
	CUSUM     float64
}

// DemandFigures are an electricity meter's peak demand and base load.
type DemandFigures struct {
	Meter string
	// PeakKW is the highest 15-minute demand of the period, at PeakAt.
	PeakKW float64
	PeakAt time.Time
	// BaseLoadKW is the mean over the nights of the lowest hourly demand
	// between 01:00 and 05:00.
	BaseLoadKW float64
	Months     []MonthPeak
}

// MonthPeak is the highest 15-minute demand of one calendar month within
// the period and its prorated demand charge.
type MonthPeak struct {
	Month  time.Time
	PeakKW float64
	At     time.Time
	Charge float64
}

// Profile is the billed electricity's typical day: mean demand per hour of
// a weekday and of a weekend day, kW (NaN for an hour never seen).
type Profile struct {
	Weekday     [24]float64
	Weekend     [24]float64
	WeekdayDays int
	WeekendDays int
}

// EnPI is one energy performance indicator of a building.
type EnPI struct {
	Building string
	// Key names it in the message table (enpi_kwh_m2, ...).
	Key   string
	Value float64
	Unit  string
}

// AnomalyFigures is one departure from the baseline, with its cost.
type AnomalyFigures struct {
	Meter  string
	Kind   string
	Start  time.Time
	End    time.Time
	Excess float64
	Unit   string
	Cost   float64
	Open   bool
}

// TicketRow is one energy ticket.
type TicketRow struct {
	ID       int64
	Title    string
	Site     string
	Device   string
	Status   string
	Priority string
	Created  time.Time
	Resolved time.Time
}

// QualityRow says how far a meter's figures can be trusted.
type QualityRow struct {
	Meter string
	// CoveragePct is the share of the readings the poll interval expects
	// (the consumption engine's); HoursReadPct the share of hours with at
	// least one reading, which history kept at a coarser step than the
	// poll interval still fills.
	CoveragePct  float64
	HoursReadPct float64
	Gaps         int
	LongestGap   time.Duration
	Resets       int
	Rollovers    int
	Swaps        int
	// FirstData and LastData bound the slots with readings.
	FirstData, LastData time.Time
}
