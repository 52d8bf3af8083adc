// Package quality measures how well the energy anomaly detectors find
// faults: it simulates a baseline year and a reporting year per meter with
// the simulator's building (drivers/sim), injects energy faults of known
// start, end and size into the reporting year, runs the detectors as the
// daemon would (a CalTRACK hourly model fitted on the baseline year, σ
// estimated there at each aggregation monitored, the detectors stepping
// through the reporting year) and scores what they raise against the
// ground truth: precision, recall, detection delay and false alarms per
// meter-month.
package quality

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/energy/baseline"
)

// Options say what to simulate and how to score.
type Options struct {
	Seed   int64
	Start  time.Time // the baseline year's start; the reporting year follows
	Meters []Meter
	// MinSize and MaxSize bound the fault sizes, as shares of the meter's
	// mean load; MinSize is also the recall target's threshold.
	MinSize, MaxSize float64
	// Grace is how long after a fault's end an alarm still counts as its
	// (a CUSUM needs a while to come back to zero).
	Grace  time.Duration
	Detect DetectOptions
}

// DefaultOptions simulate the demo's meters from 2025 on.
func DefaultOptions() Options {
	return Options{
		Seed:  1,
		Start: time.Date(2025, 1, 1, 0, 0, 0, 0, sim.Zone),
		Meters: []Meter{
			{ID: "meter-1", Type: "energy_meter"}, {ID: "meter-2", Type: "energy_meter"}, {ID: "meter-3", Type: "energy_meter"},
			{ID: "water-meter-1", Type: "water_meter"}, {ID: "water-meter-2", Type: "water_meter"},
			{ID: "gas-meter-1", Type: "gas_meter"}, {ID: "gas-meter-2", Type: "gas_meter"},
		},
		MinSize: 0.10, MaxSize: 0.40,
		Grace:  24 * time.Hour,
		Detect: DefaultDetectOptions,
	}
}

// Found is one fault and whether, and how soon, it was detected.
type Found struct {
	Truth
	Eligible bool          // in the recall target: ≥ MinSize for ≥ 1 day
	Detected bool          // an alarm matched it
	Delay    time.Duration // from its onset to the first matching alarm
	// FromStart is the delay from the fault's start, which for a drift is
	// before it reaches MinSize of the load.
	FromStart time.Duration
	By        string // the kind of that alarm
}

// Alarm is one incident: anomalies of a meter that overlap in time, as one
// ticket would gather them.
type Alarm struct {
	Device   string
	Kinds    []string
	Start    time.Time
	End      time.Time
	Detected time.Time
	Fault    int // index into Report.Faults, −1 for a false alarm
}

// Report is the outcome of a quality run.
type Report struct {
	Faults      []Found
	Alarms      []Alarm
	MeterMonths float64
	Models      map[string]*baseline.Model
	minSize     float64
}

// SimCalendar is the simulated office's holidays over [from, to)
// (sim.Holiday) as a baseline calendar, as a site would write them in
// energy.calendar.
func SimCalendar(from, to time.Time) (*baseline.Calendar, error) {
	var days []time.Time
	for d := from.In(sim.Zone); d.Before(to); d = d.AddDate(0, 0, 1) {
		if sim.Holiday(d) {
			days = append(days, d)
		}
	}
	return baseline.NewCalendar(days, nil)
}

// Run simulates, detects and scores.
func Run(o Options) (*Report, error) {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x9a11))
	mid, end := o.Start.AddDate(1, 0, 0), o.Start.AddDate(2, 0, 0)
	rep := &Report{Models: map[string]*baseline.Model{}, minSize: o.MinSize}
	cal, err := SimCalendar(o.Start, end)
	if err != nil {
		return nil, err
	}
	for _, m := range o.Meters {
		d, err := simulate(m, o.Seed, o.Start, rng, o)
		if err != nil {
			return nil, err
		}
		mon, err := NewMonitor(d.usage, d.temps, m.Fuel(), sim.Zone, o.Start, mid, cal, o.Detect)
		if err != nil {
			return nil, fmt.Errorf("meter %s: %w", m.ID, err)
		}
		rep.Models[m.ID] = mon.Model
		anomalies := mon.Detect(baseline.HourlyTable(d.usage, d.temps, m.Fuel(), sim.Zone, mid, end), reporting(d.usage, mid))
		first := len(rep.Faults)
		for _, t := range d.faults {
			rep.Faults = append(rep.Faults, Found{Truth: t, Eligible: t.eligible(o.MinSize)})
		}
		for i := first; i < len(rep.Faults); i++ {
			rep.Faults[i].match(anomalies, o.MinSize, o.Grace)
		}
		// Alarms are incidents; one that no fault explains is false.
		for _, a := range incidents(m.ID, anomalies) {
			a.Fault = -1
			for i := first; i < len(rep.Faults); i++ {
				f := rep.Faults[i]
				if a.Start.Before(f.End.Add(o.Grace)) && a.End.After(f.Start) {
					a.Fault = i
					break
				}
			}
			rep.Alarms = append(rep.Alarms, a)
		}
		rep.MeterMonths += 12
	}
	return rep, nil
}

// match finds the fault by the first anomaly raised during it (or its grace
// after), whatever else the anomaly overlaps: the one detected earliest,
// in whatever order the detectors listed them. Its delays count from the
// onset at minSize (none before it) and from the start.
func (f *Found) match(anomalies []baseline.Anomaly, minSize float64, grace time.Duration) {
	for _, a := range anomalies {
		if !a.Start.Before(f.End.Add(grace)) || !a.End.After(f.Start) ||
			a.Detected.Before(f.Start) || !a.Detected.Before(f.End.Add(grace)) {
			continue
		}
		if !f.Detected || a.Detected.Before(f.Start.Add(f.FromStart)) {
			f.Detected, f.By, f.FromStart = true, a.Kind, a.Detected.Sub(f.Start)
			f.Delay = max(a.Detected.Sub(cmp.Or(f.onset(minSize), f.Start)), 0)
		}
	}
}

// incidents merges a meter's anomalies that overlap into one alarm each,
// detected when the first of them was.
func incidents(device string, as []baseline.Anomaly) []Alarm {
	slices.SortFunc(as, func(a, b baseline.Anomaly) int { return a.Start.Compare(b.Start) })
	var out []Alarm
	for _, a := range as {
		if n := len(out); n > 0 && !a.Start.After(out[n-1].End) {
			last := &out[n-1]
			last.End = maxTime(last.End, a.End)
			if a.Detected.Before(last.Detected) {
				last.Detected = a.Detected
				last.Kinds = append([]string{a.Kind}, last.Kinds...)
			} else if !slices.Contains(last.Kinds, a.Kind) {
				last.Kinds = append(last.Kinds, a.Kind)
			}
			continue
		}
		out = append(out, Alarm{Device: device, Kinds: []string{a.Kind}, Start: a.Start, End: a.End, Detected: a.Detected})
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Row is the score of one fault kind.
type Row struct {
	Kind                  string
	Faults, Eligible      int
	Detected, EligibleDet int
	Recall                float64       // of the eligible faults
	MedianDelay           time.Duration // from the onset at MinSize
	MedianDelayFromStart  time.Duration
}

// Rows scores each fault kind.
func (r *Report) Rows() []Row {
	byKind := map[string]*Row{}
	delays, fromStart := map[string][]float64{}, map[string][]float64{}
	var kinds []string
	for _, f := range r.Faults {
		row := byKind[f.Kind]
		if row == nil {
			row = &Row{Kind: f.Kind}
			byKind[f.Kind] = row
			kinds = append(kinds, f.Kind)
		}
		row.Faults++
		if f.Detected {
			row.Detected++
		}
		if f.Eligible {
			row.Eligible++
			if f.Detected {
				row.EligibleDet++
				delays[f.Kind] = append(delays[f.Kind], f.Delay.Hours())
				fromStart[f.Kind] = append(fromStart[f.Kind], f.FromStart.Hours())
			}
		}
	}
	slices.Sort(kinds)
	out := make([]Row, 0, len(kinds))
	for _, k := range kinds {
		row := byKind[k]
		row.Recall = float64(row.EligibleDet) / math.Max(float64(row.Eligible), 1)
		row.MedianDelay = time.Duration(median(delays[k]) * float64(time.Hour))
		row.MedianDelayFromStart = time.Duration(median(fromStart[k]) * float64(time.Hour))
		out = append(out, *row)
	}
	return out
}

// Precision is the share of alarms that matched a fault.
func (r *Report) Precision() float64 {
	var tp int
	for _, a := range r.Alarms {
		if a.Fault >= 0 {
			tp++
		}
	}
	return float64(tp) / math.Max(float64(len(r.Alarms)), 1)
}

// FalseAlarms counts the alarms that matched no fault.
func (r *Report) FalseAlarms() int {
	var n int
	for _, a := range r.Alarms {
		if a.Fault < 0 {
			n++
		}
	}
	return n
}

// FalseHighAlarms counts the false alarms with a high-side kind among
// theirs: use above the baseline, what the daemon's energy rules raise
// (residual_high, cusum_high, base load, leaks, gas off season). The
// others (residual_low, cusum_low) are reported by the detectors and
// counted in FalseAlarms, but raise no alert.
func (r *Report) FalseHighAlarms() int {
	var n int
	for _, a := range r.Alarms {
		if a.Fault < 0 && slices.ContainsFunc(a.Kinds, func(k string) bool { return k != baseline.KindResidualLow && k != baseline.KindCUSUMLow }) {
			n++
		}
	}
	return n
}

// FalseAlarmsPerMeterMonth is FalseAlarms over the meter-months watched.
func (r *Report) FalseAlarmsPerMeterMonth() float64 {
	return float64(r.FalseAlarms()) / r.MeterMonths
}

// Print writes the table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%-16s %6s %8s %8s %7s %13s %13s %9s\n", "fault", "faults", "eligible", "detected", "recall", "median delay", "(from start)", "all found")
	for _, row := range r.Rows() {
		fmt.Fprintf(w, "%-16s %6d %8d %8d %6.0f%% %13s %13s %5d/%d\n", row.Kind, row.Faults, row.Eligible, row.EligibleDet, 100*row.Recall,
			fmtHours(row.MedianDelay), fmtHours(row.MedianDelayFromStart), row.Detected, row.Faults)
	}
	fmt.Fprintf(w, "delay: from when the fault is ≥ %.0f %% of the load (a drift's start is earlier)\n", 100*r.minSize)
	fmt.Fprintf(w, "alarms %d, precision %.0f%%, false alarms %d over %.0f meter-months = %.2f per meter-month (above the baseline, as the rules raise them: %d = %.2f)\n",
		len(r.Alarms), 100*r.Precision(), r.FalseAlarms(), r.MeterMonths, r.FalseAlarmsPerMeterMonth(), r.FalseHighAlarms(), float64(r.FalseHighAlarms())/r.MeterMonths)
}

func fmtHours(d time.Duration) string { return fmt.Sprintf("%.1f h", d.Hours()) }

// reporting is the part of the readings from mid on.
func reporting(rs []baseline.Reading, mid time.Time) []baseline.Reading {
	i, _ := slices.BinarySearchFunc(rs, mid, func(r baseline.Reading, t time.Time) int { return r.Start.Compare(t) })
	return rs[i:]
}
